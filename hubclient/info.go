package hubclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// User is the account behind a token, as whoami-v2 describes it.
type User struct {
	ID       string `json:"id"` // stable ObjectId, the one webhook payloads carry
	Name     string `json:"name"`
	Fullname string `json:"fullname"`
	Type     string `json:"type"` // "user", "org" or "app"
	Orgs     []Org  `json:"orgs"`
	Auth     struct {
		Type        string `json:"type"`
		AccessToken struct {
			DisplayName string `json:"displayName"`
			Role        string `json:"role"`
		} `json:"accessToken"`
	} `json:"auth"`
}

// Org is an organization a user belongs to.
type Org struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Fullname string `json:"fullname"`
}

// WhoAmI returns the token's account. The answer is cached (Options.WhoAmITTL):
// the Hub rate-limits this endpoint hard and the bot needs its own id on every
// community event. Concurrent callers share one request.
func (c *Client) WhoAmI(ctx context.Context) (*User, error) {
	c.whoamiMu.Lock()
	defer c.whoamiMu.Unlock()
	if c.whoami != nil && time.Since(c.whoamiAt) < c.opts.WhoAmITTL {
		return c.whoami, nil
	}
	if !c.HasToken() {
		return nil, errors.New("whoami: no token configured")
	}
	var u User
	if _, err := c.getJSON(ctx, "whoami", c.Endpoint()+"/api/whoami-v2", &u); err != nil {
		return nil, fmt.Errorf("whoami: %w", err)
	}
	c.whoami, c.whoamiAt = &u, time.Now()
	return &u, nil
}

// RepoInfo is what the Hub says about a repo at a revision.
type RepoInfo struct {
	ID           string         `json:"id"`  // "namespace/name"
	ObjectID     string         `json:"_id"` // the id webhook payloads carry as repo.id
	Author       string         `json:"author"`
	SHA          string         `json:"sha"` // the commit the revision resolved to
	Private      bool           `json:"private"`
	Gated        any            `json:"gated"` // false, "auto" or "manual"
	Disabled     bool           `json:"disabled"`
	LibraryName  string         `json:"library_name"`
	PipelineTag  string         `json:"pipeline_tag"`
	Tags         []string       `json:"tags"`
	CardData     map[string]any `json:"cardData"`
	Siblings     []Sibling      `json:"siblings"`
	LastModified time.Time      `json:"lastModified"`
	CreatedAt    time.Time      `json:"createdAt"`
	SDK          string         `json:"sdk"` // Spaces only
}

// Sibling is a file of a repo as listed by repo info.
type Sibling struct {
	RFilename string   `json:"rfilename"`
	Size      *int64   `json:"size,omitempty"` // with Blobs only
	BlobID    string   `json:"blobId,omitempty"`
	LFS       *LFSInfo `json:"lfs,omitempty"`
}

// LFSInfo describes the LFS content behind a file.
type LFSInfo struct {
	SHA256      string `json:"sha256"`
	OID         string `json:"oid"` // trees name it oid, repo info sha256
	Size        int64  `json:"size"`
	PointerSize int64  `json:"pointerSize"`
}

// RepoInfoOptions select what repo info returns.
type RepoInfoOptions struct {
	Blobs  bool     // sizes and LFS details of every sibling
	Expand []string // only these properties (cannot be combined with Blobs)
}

// RepoInfo returns repo information at a revision ("" for the default branch).
func (c *Client) RepoInfo(ctx context.Context, r Repo, rev string, opts *RepoInfoOptions) (*RepoInfo, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	u := c.apiURL(r)
	if rev != "" {
		u = c.apiURL(r, "revision", EscapeRevision(rev))
	}
	q := url.Values{}
	if opts != nil {
		if opts.Blobs {
			q.Set("blobs", "true")
		}
		for _, e := range opts.Expand {
			q.Add("expand", e)
		}
	}
	var info RepoInfo
	if _, err := c.getJSON(ctx, "repo_info", u+query(q), &info); err != nil {
		return nil, fmt.Errorf("repo info of %s at %q: %w", r, rev, err)
	}
	return &info, nil
}

// RefSHA returns the commit a ref or revision points to now. Use it to find
// out whether a commit whose answer was lost did land.
func (c *Client) RefSHA(ctx context.Context, r Repo, ref string) (string, error) {
	info, err := c.RepoInfo(ctx, r, ref, &RepoInfoOptions{Expand: []string{"sha"}})
	if err != nil {
		return "", err
	}
	if info.SHA == "" {
		return "", fmt.Errorf("repo info of %s at %q has no sha", r, ref)
	}
	return info.SHA, nil
}

// TreeEntry is a file or directory of a repo tree.
type TreeEntry struct {
	Type    string   `json:"type"` // "file", "directory" or "unknown"
	OID     string   `json:"oid"`  // git blob or tree sha1
	Size    int64    `json:"size"` // the real size, also for LFS files
	Path    string   `json:"path"`
	LFS     *LFSInfo `json:"lfs,omitempty"`
	XetHash string   `json:"xetHash,omitempty"`
}

// ListTree lists the tree at a revision, below dir ("" for the root), every
// page of it.
func (c *Client) ListTree(ctx context.Context, r Repo, rev, dir string, recursive bool) ([]TreeEntry, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	u := c.apiURL(r, "tree", EscapeRevision(revOrMain(rev)))
	if dir = strings.Trim(dir, "/"); dir != "" {
		u += "/" + escapeFilePath(dir)
	}
	u += query(url.Values{"recursive": {strconv.FormatBool(recursive)}})
	var all []TreeEntry
	err := c.paginate(ctx, "tree", u, func(resp *http.Response) error {
		var page []TreeEntry
		if err := decodeJSON(resp, &page); err != nil {
			return err
		}
		all = append(all, page...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tree of %s at %q: %w", r, rev, err)
	}
	return all, nil
}

// paginate GETs u and follows rel="next" links, handing each page to fn.
func (c *Client) paginate(ctx context.Context, endpoint, u string, fn func(*http.Response) error) error {
	for pages := 0; u != ""; pages++ {
		if pages >= 10000 {
			return errors.New("more than 10000 pages: giving up")
		}
		resp, err := c.do(ctx, call{endpoint: endpoint, method: http.MethodGet, url: u, idempotent: true,
			header: map[string]string{"Accept": "application/json"}})
		if err != nil {
			return err
		}
		next := nextLink(resp.Header)
		if err := fn(resp); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		if u, err = c.resolveLink(next); err != nil {
			return err
		}
	}
	return nil
}

// ChangedFile is one entry of a comparison between two revisions.
type ChangedFile struct {
	Status  string // git's letter: A, M, D, R, C, T
	Path    string
	OldPath string // for renames and copies
}

// Compare lists the files that differ between two revisions, from the Hub's
// raw compare endpoint (the tab-separated output of a raw git diff).
func (c *Client) Compare(ctx context.Context, r Repo, base, head string) ([]ChangedFile, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	u := c.apiURL(r, "compare", EscapeRevision(base)+".."+EscapeRevision(head)) + "?raw=true"
	resp, err := c.do(ctx, call{endpoint: "compare", method: http.MethodGet, url: u, idempotent: true})
	if err != nil {
		return nil, fmt.Errorf("compare %s..%s in %s: %w", base, head, r, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("compare %s..%s in %s: %w", base, head, r, err)
	}
	return parseRawDiff(string(body)), nil
}

// parseRawDiff reads the raw compare output, lines such as
//
//	T 1807	:100644 100644 0123abc... 4567def... M	README.md
//	:100644 100644 0123abc 4567def R100	old.txt	new.txt
//
// keeping only the status letter and the paths: the fields after the first
// tab-separated field whose last word is a git status.
func parseRawDiff(s string) []ChangedFile {
	var out []ChangedFile
	for _, line := range strings.Split(s, "\n") {
		fields := strings.Split(strings.TrimRight(line, "\r"), "\t")
		for i := 0; i < len(fields)-1; i++ {
			words := strings.Fields(fields[i])
			if len(words) == 0 || !isStatus(words[len(words)-1]) {
				continue
			}
			paths := fields[i+1:]
			cf := ChangedFile{Status: words[len(words)-1][:1], Path: paths[len(paths)-1]}
			if len(paths) > 1 {
				cf.OldPath = paths[0]
			}
			out = append(out, cf)
			break
		}
	}
	return out
}

func isStatus(s string) bool {
	if s == "" || !strings.ContainsRune("ACDMRTUX", rune(s[0])) {
		return false
	}
	_, err := strconv.Atoi("0" + s[1:])
	return err == nil
}

// Commit is one commit of a ref's history.
type Commit struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Message string `json:"message"`
	Authors []struct {
		User string `json:"user"`
	} `json:"authors"`
	Date time.Time `json:"date"`
}

// ListCommits returns the history of a revision, newest first, up to limit
// commits (0 for all of them).
func (c *Client) ListCommits(ctx context.Context, r Repo, rev string, limit int) ([]Commit, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	u := c.apiURL(r, "commits", EscapeRevision(revOrMain(rev)))
	if limit > 0 {
		u += query(url.Values{"limit": {strconv.Itoa(min(limit, 1000))}})
	}
	var all []Commit
	errEnough := errors.New("enough")
	err := c.paginate(ctx, "commits", u, func(resp *http.Response) error {
		var page []Commit
		if err := decodeJSON(resp, &page); err != nil {
			return err
		}
		all = append(all, page...)
		if limit > 0 && len(all) >= limit {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, fmt.Errorf("list commits of %s at %q: %w", r, rev, err)
	}
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// GitRef is a branch, tag or pull request ref.
type GitRef struct {
	Name         string `json:"name"`
	Ref          string `json:"ref"`
	TargetCommit string `json:"targetCommit"`
}

// Refs lists a repo's refs.
type Refs struct {
	Branches     []GitRef `json:"branches"`
	Tags         []GitRef `json:"tags"`
	Converts     []GitRef `json:"converts"`
	PullRequests []GitRef `json:"pullRequests"`
}

// ListRefs returns the repo's branches and tags, and its pull request refs
// when includePRs is set.
func (c *Client) ListRefs(ctx context.Context, r Repo, includePRs bool) (*Refs, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	u := c.apiURL(r, "refs")
	if includePRs {
		u += "?include_prs=1"
	}
	var refs Refs
	if _, err := c.getJSON(ctx, "refs", u, &refs); err != nil {
		return nil, fmt.Errorf("list refs of %s: %w", r, err)
	}
	return &refs, nil
}

// RepoSummary is one repo of a listing.
type RepoSummary struct {
	ID      string `json:"id"`
	SHA     string `json:"sha"`
	Private bool   `json:"private"`
}

// ListRepos lists the repos of one type owned by author (a user or an org).
func (c *Client) ListRepos(ctx context.Context, t RepoType, author string) ([]RepoSummary, error) {
	if t == "" {
		t = Model
	}
	if author == "" || strings.ContainsAny(author, "/?#&") {
		return nil, fmt.Errorf("list %ss: invalid author %q", t, author)
	}
	u := c.Endpoint() + "/api/" + string(t) + "s" + query(url.Values{"author": {author}})
	var all []RepoSummary
	err := c.paginate(ctx, "list_repos", u, func(resp *http.Response) error {
		var page []RepoSummary
		if err := decodeJSON(resp, &page); err != nil {
			return err
		}
		all = append(all, page...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %ss of %s: %w", t, author, err)
	}
	return all, nil
}

// OrgMember is one member of an organization.
type OrgMember struct {
	User     string `json:"user"` // the username
	Fullname string `json:"fullname"`
	Type     string `json:"type"`
}

// ListOrgMembers lists the members of an organization.
func (c *Client) ListOrgMembers(ctx context.Context, org string) ([]OrgMember, error) {
	if org == "" || strings.ContainsAny(org, "/?#&") {
		return nil, fmt.Errorf("list members: invalid organization %q", org)
	}
	u := c.Endpoint() + "/api/organizations/" + url.PathEscape(org) + "/members"
	var all []OrgMember
	err := c.paginate(ctx, "org_members", u, func(resp *http.Response) error {
		var page []OrgMember
		if err := decodeJSON(resp, &page); err != nil {
			return err
		}
		all = append(all, page...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", org, err)
	}
	return all, nil
}

// IsOrgMember reports whether user belongs to org.
func (c *Client) IsOrgMember(ctx context.Context, org, user string) (bool, error) {
	members, err := c.ListOrgMembers(ctx, org)
	if err != nil {
		return false, err
	}
	for _, m := range members {
		if strings.EqualFold(m.User, user) {
			return true, nil
		}
	}
	return false, nil
}

func revOrMain(rev string) string {
	if rev == "" {
		return "main"
	}
	return rev
}

// UserOverview is what the Hub shows about an account.
type UserOverview struct {
	User     string `json:"user"` // the username
	Fullname string `json:"fullname"`
	Type     string `json:"type"` // "user" or "org"
	Orgs     []Org  `json:"orgs"`
}

// GetUserOverview returns an account's overview, including the orgs a user
// belongs to.
func (c *Client) GetUserOverview(ctx context.Context, name string) (*UserOverview, error) {
	if name == "" || strings.ContainsAny(name, "/?#&") {
		return nil, fmt.Errorf("user overview: invalid name %q", name)
	}
	var out UserOverview
	if _, err := c.getJSON(ctx, "user_overview", c.Endpoint()+"/api/users/"+url.PathEscape(name)+"/overview", &out); err != nil {
		return nil, fmt.Errorf("user overview of %s: %w", name, err)
	}
	return &out, nil
}
