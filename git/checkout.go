package git

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/hubbot/hubbot/hubclient"
)

// gitUser is the user name sent with the token. The Hub takes the token as
// the password and ignores the name.
const gitUser = "hubbot"

// wantRef is where a commit fetched by its id is kept, so that it is
// reachable from a ref in the local repository.
const wantRef = "refs/hubbot/want"

// ErrSHANotFound means the commit asked for could not be fetched: the ref no
// longer exists, or it moved on and the server would not send the commit:
// not by its id (servers differ: some send any commit, some those a ref
// leads to, git by default none) and not within 32 commits of the ref's new
// head. For a job this means it was superseded. The error is a
// *SHANotFoundError.
var ErrSHANotFound = errors.New("commit not found")

// SHANotFoundError says which commit was not found and where the ref points
// now.
type SHANotFoundError struct {
	Repo string // the repo as people write it, or its URL
	Ref  string
	SHA  string
	Head string // the commit the ref points to now; empty when the ref does not exist
}

func (e *SHANotFoundError) Error() string {
	if e.Head == "" {
		return fmt.Sprintf("%s: commit %s of %s not found: the ref does not exist", e.Repo, short(e.SHA), e.Ref)
	}
	return fmt.Sprintf("%s: commit %s not found on %s, which now points to %s", e.Repo, short(e.SHA), e.Ref, short(e.Head))
}

// Is makes errors.Is(err, ErrSHANotFound) true.
func (e *SHANotFoundError) Is(target error) bool { return target == ErrSHANotFound }

// CheckoutRequest names the tree to check out.
type CheckoutRequest struct {
	// Repo names the repository for the compare API and for downloads.
	Repo hubclient.Repo
	// URL is the clone URL (hubclient.Client.GitURL). It must not carry
	// credentials: the token travels in Token.
	URL string
	// Token is the Hub token, sent as the password of HTTP basic auth;
	// empty for anonymous access. It is kept in memory only.
	Token string
	// Ref is the full name of the ref: "refs/heads/main", "refs/pr/3",
	// "refs/tags/v1".
	Ref string
	// SHA is the commit to check out, 40 hex digits. For an annotated tag it
	// may also be the tag object's id.
	SHA string
	// JobID starts the name of the directory, to find a job's workspace on
	// disk. Any characters beyond [A-Za-z0-9._-] are replaced.
	JobID string
}

// Checkout is a work tree at one commit, in its own job directory. Close
// removes it.
type Checkout struct {
	// Dir is the root of the work tree (with its .git directory). Files
	// stored in LFS hold their pointer.
	Dir string
	// TempDir is scratch space next to the work tree, outside it, removed
	// with it and by Sweep: for an action's temporary files.
	TempDir string
	Repo    hubclient.Repo
	Ref     string
	// SHA is the commit checked out (the commit of an annotated tag, when
	// the request named the tag object).
	SHA string

	jobDir string
	lock   *os.File
	url    string
	token  *secret // a pointer, so printing a Checkout shows an address
	repo   *gogit.Repository
	remote *gogit.Remote

	mu        sync.Mutex // serialises fetches into the repository
	closeOnce sync.Once
	closeErr  error
}

// secret hides the token when a Checkout is printed.
type secret string

func (secret) String() string   { return "[redacted]" }
func (secret) GoString() string { return "[redacted]" }

// Checkout fetches req.Ref at req.SHA into a new job directory and checks
// out its tree, without LFS smudging. The fetch is shallow: depth 1 when the
// commit is the tip of the ref, deeper only when the ref has moved on since
// (then the commit is fetched by its id when the server allows it, else the
// ref's history is deepened step by step). A deleted ref, or a commit that
// cannot be fetched that way, is an error matching ErrSHANotFound. On any
// error nothing is left on disk. The context bounds the network transfer.
//
// Neither the token nor a URL with credentials is written to disk: the
// repository's config names the remote by req.URL only. Repo content is not
// trusted: a symbolic link that does not lead to a path inside the tree
// (outside .git) is checked out as a plain file holding its target, as git
// does where links are not supported, so that no action reads a host file
// through it.
func (w *Workspaces) Checkout(ctx context.Context, req CheckoutRequest) (*Checkout, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	tok := secret(req.Token)
	jobDir, lock, err := w.create(req.JobID)
	if err != nil {
		return nil, err
	}
	c := &Checkout{
		Dir:     filepath.Join(jobDir, repoName),
		TempDir: filepath.Join(jobDir, tmpName),
		Repo:    req.Repo,
		Ref:     req.Ref,
		jobDir:  jobDir,
		lock:    lock,
		url:     req.URL,
		token:   &tok,
	}
	if err := c.checkout(ctx, strings.ToLower(req.SHA)); err != nil {
		c.Close()
		return nil, c.redact(err)
	}
	return c, nil
}

func (r *CheckoutRequest) validate() error {
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("checkout: clone URL %q is not an http(s) URL", redactURL(r.URL))
	}
	if u.User != nil {
		return fmt.Errorf("checkout: clone URL %s carries credentials: pass the token in Token", redactURL(r.URL))
	}
	if !validRef(r.Ref) {
		return fmt.Errorf("checkout: invalid ref %q: want a full name such as refs/heads/main or refs/pr/3", r.Ref)
	}
	if !plumbing.IsHash(r.SHA) || strings.Trim(r.SHA, "0") == "" {
		return fmt.Errorf("checkout: invalid commit %q: want 40 hex digits", r.SHA)
	}
	return nil
}

// validRef accepts full ref names that are safe in a refspec.
func validRef(ref string) bool {
	return strings.HasPrefix(ref, "refs/") && !strings.ContainsAny(ref, ":*+^~ \t\n\\?[") &&
		plumbing.ReferenceName(ref).Validate() == nil
}

// checkout fetches the commit and writes its tree.
func (c *Checkout) checkout(ctx context.Context, sha string) error {
	repo, err := gogit.PlainInit(c.Dir, false)
	if err != nil {
		return fmt.Errorf("init repository: %w", err)
	}
	remote, err := repo.CreateRemote(&config.RemoteConfig{
		Name:  gogit.DefaultRemoteName,
		URLs:  []string{c.url},
		Fetch: []config.RefSpec{config.RefSpec("+" + c.Ref + ":" + c.Ref)},
	})
	if err != nil {
		return fmt.Errorf("add remote: %w", err)
	}
	c.repo, c.remote = repo, remote

	commit, err := c.fetchWanted(ctx, sha)
	if err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("check out %s: %w", short(commit.String()), err)
	}
	if err := wt.Checkout(&gogit.CheckoutOptions{Hash: commit, Force: true}); err != nil {
		return fmt.Errorf("check out %s: %w", short(commit.String()), err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tree, err := c.tree(commit)
	if err != nil {
		return err
	}
	if err := neutraliseSymlinks(c.Dir, tree); err != nil {
		return fmt.Errorf("check out %s: %w", short(commit.String()), err)
	}
	c.SHA = commit.String()
	return nil
}

// tree returns the tree of a commit.
func (c *Checkout) tree(h plumbing.Hash) (*object.Tree, error) {
	commit, err := c.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", short(h.String()), err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", short(h.String()), err)
	}
	return tree, nil
}

// fetchWanted brings the commit sha (or the tag object of that id) into the
// repository and returns the commit to check out.
func (c *Checkout) fetchWanted(ctx context.Context, sha string) (plumbing.Hash, error) {
	want := plumbing.NewHash(sha)
	refSpec := config.RefSpec("+" + c.Ref + ":" + c.Ref)
	err := c.fetch(ctx, refSpec, 1)
	// An empty repository has no ref at all.
	refMissing := errors.Is(err, gogit.NoMatchingRefSpecError{}) || errors.Is(err, transport.ErrEmptyRemoteRepository)
	if err != nil && !refMissing {
		return plumbing.ZeroHash, c.fetchError(err)
	}
	if refMissing {
		// A deleted branch or pull request: whatever the commit, there is
		// nothing left to check.
		return plumbing.ZeroHash, &SHANotFoundError{Repo: c.name(), Ref: c.Ref, SHA: sha}
	}
	ref, err := c.repo.Reference(plumbing.ReferenceName(c.Ref), false)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read fetched %s: %w", c.Ref, err)
	}
	if ref.Hash() == want {
		return c.peel(want)
	}
	if commit, err := c.peel(ref.Hash()); err == nil && commit == want {
		return commit, nil
	}

	// The ref moved on. Ask for the commit itself, which servers that
	// allow it send at depth 1 whatever the ref says now, else deepen the
	// ref's history.
	found, err := c.fetchByIDInto(ctx, want, wantRef)
	if err == nil && !found {
		found, err = c.deepenUntil(ctx, want)
	}
	if err != nil {
		return plumbing.ZeroHash, c.fetchError(err)
	}
	if !found {
		return plumbing.ZeroHash, &SHANotFoundError{Repo: c.name(), Ref: c.Ref, SHA: sha, Head: ref.Hash().String()}
	}
	return c.peel(want)
}

// fetchByIDInto fetches the object h by its id at depth 1 into the local
// ref dst. It reports false without an error when the server does not allow
// that or does not have h where a client may ask for it.
func (c *Checkout) fetchByIDInto(ctx context.Context, h plumbing.Hash, dst string) (bool, error) {
	err := c.fetch(ctx, config.RefSpec("+"+h.String()+":"+dst), 1)
	switch {
	case err == nil:
		return c.has(h), nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	case errors.Is(err, gogit.ErrExactSHA1NotSupported), isNotOurRef(err),
		errors.Is(err, transport.ErrEmptyRemoteRepository):
		return false, nil
	}
	return false, err
}

// isNotOurRef recognises git's refusal to send an object that no ref
// advertises or leads to.
func isNotOurRef(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "not our ref") || strings.Contains(msg, "want ") && strings.Contains(msg, "not valid")
}

// deepenUntil deepens the fetched ref step by step until the object h is
// present, and reports whether it is.
func (c *Checkout) deepenUntil(ctx context.Context, h plumbing.Hash) (bool, error) {
	// The commit just before a push is one step away, an older one rarely
	// more than a few dozen. Each step only transfers what the previous one
	// lacked.
	for _, depth := range [...]int{2, 8, 32} {
		if err := c.fetch(ctx, config.RefSpec("+"+c.Ref+":"+c.Ref), depth); err != nil {
			if errors.Is(err, gogit.NoMatchingRefSpecError{}) || errors.Is(err, transport.ErrEmptyRemoteRepository) {
				return false, nil // deleted meanwhile
			}
			return false, err
		}
		if c.has(h) {
			return true, nil
		}
	}
	return false, nil
}

// fetch runs one fetch of spec, at depth (0 for the whole history).
func (c *Checkout) fetch(ctx context.Context, spec config.RefSpec, depth int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.remote.FetchContext(ctx, &gogit.FetchOptions{
		RefSpecs: []config.RefSpec{spec},
		Depth:    depth,
		Auth:     c.auth(),
		Tags:     gogit.NoTags,
		Force:    true,
	})
	if errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (c *Checkout) auth() transport.AuthMethod {
	if *c.token == "" {
		return nil
	}
	return &githttp.BasicAuth{Username: gitUser, Password: string(*c.token)}
}

// has reports whether the object h is in the repository.
func (c *Checkout) has(h plumbing.Hash) bool {
	_, err := c.repo.Storer.EncodedObject(plumbing.AnyObject, h)
	return err == nil
}

// peel returns the commit h names: h itself, or the commit of a tag object.
func (c *Checkout) peel(h plumbing.Hash) (plumbing.Hash, error) {
	obj, err := c.repo.Object(plumbing.AnyObject, h)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read fetched object %s: %w", short(h.String()), err)
	}
	for range 10 { // a tag may point at a tag
		switch o := obj.(type) {
		case *object.Commit:
			return o.Hash, nil
		case *object.Tag:
			if obj, err = o.Object(); err != nil {
				return plumbing.ZeroHash, fmt.Errorf("read object of tag %s: %w", short(o.Hash.String()), err)
			}
		default:
			return plumbing.ZeroHash, fmt.Errorf("%s is a %s, not a commit", short(h.String()), obj.Type())
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("tag %s: too many levels of tags", short(h.String()))
}

// fetchError says what was being fetched. Authentication errors keep their
// go-git identity (transport.ErrAuthenticationRequired, ...) for errors.Is.
func (c *Checkout) fetchError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("fetch %s of %s: %w", c.Ref, c.name(), err)
}

// name is the repo as people write it, else its URL.
func (c *Checkout) name() string {
	if c.Repo.ID != "" {
		return c.Repo.String()
	}
	return c.url
}

// redact removes the token from an error message, as a last line of
// defence: no code path is known to put it there.
func (c *Checkout) redact(err error) error {
	tok := string(*c.token)
	if err == nil || tok == "" || !strings.Contains(err.Error(), tok) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), tok, "[redacted]"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Close removes the job directory. It is safe to call more than once.
func (c *Checkout) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = removeAll(c.jobDir)
		if c.lock != nil {
			c.lock.Close()
		}
		if c.closeErr != nil {
			c.closeErr = fmt.Errorf("remove workspace %s: %w", c.jobDir, c.closeErr)
		}
	})
	return c.closeErr
}

// redactURL drops any user information from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User("[redacted]")
	}
	return u.String()
}

// short abbreviates a commit id for messages.
func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
