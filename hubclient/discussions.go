package hubclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Discussion statuses. The status endpoint accepts only open and closed.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
	StatusMerged = "merged"
	StatusDraft  = "draft"
)

// Author is who wrote a discussion or an event.
type Author struct {
	ID       string `json:"_id"`
	Name     string `json:"name"` // empty for deleted accounts
	Fullname string `json:"fullname"`
	Type     string `json:"type"` // "user" or "org"
	IsOwner  bool   `json:"isOwner"`
}

// Discussion is a discussion or pull request as the list endpoint gives it.
type Discussion struct {
	ID            string    `json:"_id"` // the Hub's object id, as webhook payloads give it
	Num           int       `json:"num"`
	Title         string    `json:"title"`
	Status        string    `json:"status"` // open, closed, merged, draft
	IsPullRequest bool      `json:"isPullRequest"`
	Author        *Author   `json:"author"`
	CreatedAt     time.Time `json:"createdAt"`
}

// AuthorName is the author's username, "deleted" when the account is gone,
// as huggingface_hub reports it.
func (d *Discussion) AuthorName() string {
	if d.Author == nil || d.Author.Name == "" {
		return "deleted"
	}
	return d.Author.Name
}

// GitRef is the ref of a pull request's head ("refs/pr/N"); empty for a
// plain discussion.
func (d *Discussion) GitRef() string {
	if !d.IsPullRequest {
		return ""
	}
	return "refs/pr/" + strconv.Itoa(d.Num)
}

// DiscussionDetails is a discussion with its events.
type DiscussionDetails struct {
	Discussion
	Events  []Event `json:"events"`
	Changes struct {
		Base          string `json:"base"`
		MergeCommitID string `json:"mergeCommitId"`
	} `json:"changes"`
	Diff string `json:"diff"`
}

// Description returns the first comment, which holds the discussion's
// description, or nil.
func (d *DiscussionDetails) Description() *Event {
	for i := range d.Events {
		if d.Events[i].Type == EventComment {
			return &d.Events[i]
		}
	}
	return nil
}

// Event types of a discussion.
const (
	EventComment      = "comment"
	EventStatusChange = "status-change"
	EventCommit       = "commit"
	EventTitleChange  = "title-change"
)

// Event is one entry of a discussion's timeline. Unknown types are kept with
// their raw data.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"createdAt"`
	Author    *Author         `json:"author"`
	Data      json.RawMessage `json:"data"`
}

type eventData struct {
	Edited bool `json:"edited"`
	Hidden bool `json:"hidden"`
	Latest struct {
		Raw string `json:"raw"`
	} `json:"latest"`
	Status  string `json:"status"`
	OID     string `json:"oid"`
	Subject string `json:"subject"`
	From    string `json:"from"`
	To      string `json:"to"`
}

func (e *Event) data() eventData {
	var d eventData
	_ = json.Unmarshal(e.Data, &d) // a malformed or unknown shape reads as empty
	return d
}

// Content is a comment's markdown; empty when hidden.
func (e *Event) Content() string { return e.data().Latest.Raw }

// Hidden reports a hidden comment.
func (e *Event) Hidden() bool { return e.data().Hidden }

// Edited reports an edited comment.
func (e *Event) Edited() bool { return e.data().Edited }

// NewStatus is the status a status-change event set.
func (e *Event) NewStatus() string { return e.data().Status }

// CommitOID is the commit of a commit event.
func (e *Event) CommitOID() string { return e.data().OID }

// AuthorName is the event author's username, "deleted" when unknown.
func (e *Event) AuthorName() string {
	if e.Author == nil || e.Author.Name == "" {
		return "deleted"
	}
	return e.Author.Name
}

// ListDiscussionsOptions filter a discussion listing.
type ListDiscussionsOptions struct {
	Type   string // "all" (default), "discussion" or "pull_request"
	Status string // "all" (default), "open" or "closed"
	Author string // username
}

// ListDiscussions lists a repo's discussions and pull requests, every page.
func (c *Client) ListDiscussions(ctx context.Context, r Repo, opts ListDiscussionsOptions) ([]Discussion, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	var all []Discussion
	for page := 0; ; page++ {
		q := url.Values{"p": {strconv.Itoa(page)}}
		if opts.Type != "" {
			q.Set("type", opts.Type)
		}
		if opts.Status != "" {
			q.Set("status", opts.Status)
		}
		if opts.Author != "" {
			q.Set("author", opts.Author)
		}
		var resp struct {
			Discussions []Discussion `json:"discussions"`
			Count       int          `json:"count"`
			Start       int          `json:"start"`
		}
		if _, err := c.getJSON(ctx, "discussions_list", c.apiURL(r, "discussions")+query(q), &resp); err != nil {
			return nil, fmt.Errorf("list discussions of %s: %w", r, err)
		}
		all = append(all, resp.Discussions...)
		if len(resp.Discussions) == 0 || resp.Start+len(resp.Discussions) >= resp.Count || page >= 10000 {
			return all, nil
		}
	}
}

// GetDiscussion returns a discussion with its events.
func (c *Client) GetDiscussion(ctx context.Context, r Repo, num int) (*DiscussionDetails, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	var d DiscussionDetails
	if _, err := c.getJSON(ctx, "discussion", c.apiURL(r, "discussions", strconv.Itoa(num)), &d); err != nil {
		return nil, fmt.Errorf("get discussion %s#%d: %w", r, num, err)
	}
	return &d, nil
}

// CreateDiscussion opens a discussion and returns its number.
func (c *Client) CreateDiscussion(ctx context.Context, r Repo, title, description string) (int, error) {
	return c.createDiscussion(ctx, r, title, description, false)
}

// CreatePullRequest opens an empty pull request against the default branch
// (it starts as a draft) and returns its number; push to refs/pr/N next.
func (c *Client) CreatePullRequest(ctx context.Context, r Repo, title, description string) (int, error) {
	return c.createDiscussion(ctx, r, title, description, true)
}

func (c *Client) createDiscussion(ctx context.Context, r Repo, title, description string, pr bool) (int, error) {
	if err := r.validate(); err != nil {
		return 0, err
	}
	if n := len([]rune(strings.TrimSpace(title))); n < 3 || n > 200 {
		return 0, fmt.Errorf("create discussion in %s: title must have 3 to 200 characters, has %d", r, n)
	}
	if len(description) > MaxCommentSize {
		return 0, fmt.Errorf("create discussion in %s: description has %d bytes, the Hub takes %d", r, len(description), MaxCommentSize)
	}
	body := map[string]any{"title": title, "description": description, "pullRequest": pr}
	var out struct {
		Num int `json:"num"`
	}
	if err := c.sendJSON(ctx, "discussion_create", http.MethodPost, c.apiURL(r, "discussions"), body, &out, false); err != nil {
		return 0, fmt.Errorf("create discussion in %s: %w", r, err)
	}
	return out.Num, nil
}

// MaxCommentSize is the largest comment the Hub accepts, in characters.
const MaxCommentSize = 65536

// Comment posts a comment and returns it.
func (c *Client) Comment(ctx context.Context, r Repo, num int, text string) (*Event, error) {
	if err := checkComment(text); err != nil {
		return nil, fmt.Errorf("comment on %s#%d: %w", r, num, err)
	}
	var out struct {
		NewMessage Event `json:"newMessage"`
	}
	u := c.apiURL(r, "discussions", strconv.Itoa(num), "comment")
	if err := c.sendJSON(ctx, "discussion_comment", http.MethodPost, u, map[string]string{"comment": text}, &out, false); err != nil {
		return nil, fmt.Errorf("comment on %s#%d: %w", r, num, err)
	}
	return &out.NewMessage, nil
}

// EditComment replaces a comment's content. Editing is idempotent, so it is
// retried like a read.
func (c *Client) EditComment(ctx context.Context, r Repo, num int, commentID, text string) (*Event, error) {
	if err := checkComment(text); err != nil {
		return nil, fmt.Errorf("edit comment %s on %s#%d: %w", commentID, r, num, err)
	}
	var out struct {
		UpdatedComment Event `json:"updatedComment"`
	}
	u := c.apiURL(r, "discussions", strconv.Itoa(num), "comment", url.PathEscape(strings.ToLower(commentID)), "edit")
	if err := c.sendJSON(ctx, "discussion_comment_edit", http.MethodPost, u, map[string]string{"content": text}, &out, true); err != nil {
		return nil, fmt.Errorf("edit comment %s on %s#%d: %w", commentID, r, num, err)
	}
	return &out.UpdatedComment, nil
}

// HideComment hides a comment for good.
func (c *Client) HideComment(ctx context.Context, r Repo, num int, commentID string) (*Event, error) {
	var out struct {
		UpdatedComment Event `json:"updatedComment"`
	}
	u := c.apiURL(r, "discussions", strconv.Itoa(num), "comment", url.PathEscape(strings.ToLower(commentID)), "hide")
	if err := c.sendJSON(ctx, "discussion_comment_hide", http.MethodPost, u, nil, &out, true); err != nil {
		return nil, fmt.Errorf("hide comment %s on %s#%d: %w", commentID, r, num, err)
	}
	return &out.UpdatedComment, nil
}

// ChangeDiscussionStatus opens or closes a discussion, with an optional comment.
func (c *Client) ChangeDiscussionStatus(ctx context.Context, r Repo, num int, status, comment string) (*Event, error) {
	if status != StatusOpen && status != StatusClosed {
		return nil, fmt.Errorf("change status of %s#%d: status must be open or closed, not %q", r, num, status)
	}
	body := map[string]string{"status": status}
	if comment != "" {
		body["comment"] = comment
	}
	var out struct {
		NewStatus Event `json:"newStatus"`
	}
	u := c.apiURL(r, "discussions", strconv.Itoa(num), "status")
	if err := c.sendJSON(ctx, "discussion_status", http.MethodPost, u, body, &out, false); err != nil {
		return nil, fmt.Errorf("change status of %s#%d to %s: %w", r, num, status, err)
	}
	return &out.NewStatus, nil
}

func checkComment(text string) error {
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("empty comment")
	}
	if n := len([]rune(text)); n > MaxCommentSize {
		return fmt.Errorf("comment has %d characters, the Hub takes %d", n, MaxCommentSize)
	}
	return nil
}

// PullRequestQuery finds a pull request a caller opened earlier.
type PullRequestQuery struct {
	Title   string // exact title, compared case-insensitively; empty matches any
	Author  string // username, compared case-insensitively; empty matches any
	Marker  string // text that must appear in the description (first comment); empty skips the check
	Since   time.Time
	Closed  bool // also consider closed pull requests (merged ones always count)
	Details bool // fetch details even without a Marker (to read the head commit)
}

// FindPullRequest looks for a pull request matching q, newest first. It is
// how a caller whose commit or PR creation had an ambiguous outcome finds out
// whether it landed before trying again. It returns nil when there is none.
func (c *Client) FindPullRequest(ctx context.Context, r Repo, q PullRequestQuery) (*DiscussionDetails, error) {
	status := "open"
	if q.Closed {
		status = "all"
	}
	// The author is compared here, without regard to case, rather than by
	// the Hub's author filter: bots' names are spelled both ways in the wild.
	list, err := c.ListDiscussions(ctx, r, ListDiscussionsOptions{Type: "pull_request", Status: status})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b Discussion) int { return b.Num - a.Num })
	for i := range list {
		d := &list[i]
		if !d.IsPullRequest ||
			(q.Title != "" && !strings.EqualFold(strings.TrimSpace(d.Title), strings.TrimSpace(q.Title))) ||
			(q.Author != "" && !strings.EqualFold(d.AuthorName(), q.Author)) ||
			(!q.Since.IsZero() && d.CreatedAt.Before(q.Since)) ||
			(d.Status == StatusClosed && !q.Closed) {
			continue
		}
		if q.Marker == "" && !q.Details {
			return &DiscussionDetails{Discussion: *d}, nil
		}
		details, err := c.GetDiscussion(ctx, r, d.Num)
		if err != nil {
			return nil, err
		}
		if desc := details.Description(); q.Marker != "" && (desc == nil || !strings.Contains(desc.Content(), q.Marker)) {
			continue
		}
		return details, nil
	}
	return nil, nil
}
