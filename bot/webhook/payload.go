// Package webhook reads Hub webhook deliveries: the secret check, the v3
// payload types, the delivery keys that stand in for the delivery id the Hub
// does not send, and the routing table that turns an event into work.
package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hubbot/hubbot/hubclient"
)

// Payload is a v3 webhook payload, every documented field included. Unknown
// fields are ignored.
type Payload struct {
	Event         Event           `json:"event"`
	Repo          Repo            `json:"repo"`
	Discussion    *Discussion     `json:"discussion,omitempty"`
	Comment       *Comment        `json:"comment,omitempty"`
	Webhook       WebhookInfo     `json:"webhook"`
	MovedTo       *MovedTo        `json:"movedTo,omitempty"`
	UpdatedRefs   []UpdatedRef    `json:"updatedRefs,omitempty"`
	UpdatedConfig map[string]any  `json:"updatedConfig,omitempty"`
	Raw           json.RawMessage `json:"-"` // the body as received
}

// Event says what happened.
type Event struct {
	Action string `json:"action"` // create, delete, update, move
	Scope  string `json:"scope"`  // repo, repo.content, repo.config, discussion, discussion.comment, ...
}

// ObjectID is a reference by id, as the Hub gives authors and owners.
type ObjectID struct {
	ID string `json:"id"`
}

// URLs are the web and API addresses of a repo, discussion or comment.
type URLs struct {
	Web string `json:"web"`
	API string `json:"api,omitempty"`
}

// Repo is the repository an event is about.
type Repo struct {
	Type      string   `json:"type"` // model, dataset, space
	Name      string   `json:"name"` // "namespace/name"
	ID        string   `json:"id"`   // ObjectId
	Private   bool     `json:"private"`
	URL       URLs     `json:"url"`
	Owner     ObjectID `json:"owner"`
	HeadSHA   string   `json:"headSha,omitempty"` // repo* scopes only: the main branch head
	Subdomain string   `json:"subdomain,omitempty"`
	Tags      []string `json:"tags,omitempty"`
}

// Discussion is the discussion or pull request of a community event.
type Discussion struct {
	ID            string   `json:"id"`
	Num           int      `json:"num"`
	Title         string   `json:"title"`
	Status        string   `json:"status"` // open, closed, merged, draft
	IsPullRequest bool     `json:"isPullRequest"`
	Author        ObjectID `json:"author"`
	URL           URLs     `json:"url"`
	Changes       *struct {
		Base          string `json:"base"`
		MergeCommitID string `json:"mergeCommitId,omitempty"`
	} `json:"changes,omitempty"`
	Pinned *bool `json:"pinned,omitempty"`
}

// Comment is the comment of a discussion.comment event, or the first message
// of a new discussion. A hidden comment has no content.
type Comment struct {
	ID      string   `json:"id"`
	Author  ObjectID `json:"author"`
	Content *string  `json:"content,omitempty"`
	Hidden  bool     `json:"hidden"`
	URL     URLs     `json:"url"`
}

// Text returns the comment's content, "" when hidden.
func (c *Comment) Text() string {
	if c == nil || c.Content == nil {
		return ""
	}
	return *c.Content
}

// WebhookInfo identifies the webhook configuration (not the delivery).
type WebhookInfo struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// MovedTo is where a repo was moved.
type MovedTo struct {
	Name  string   `json:"name"`
	Owner ObjectID `json:"owner"`
}

// UnmarshalJSON also accepts the bare repo name older payloads sent.
func (m *MovedTo) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*m = MovedTo{Name: name}
		return nil
	}
	type plain MovedTo
	return json.Unmarshal(b, (*plain)(m))
}

// UpdatedRef is one ref changed by a repo.content event. A nil OldSHA is a
// new ref; a nil NewSHA a deleted one.
type UpdatedRef struct {
	Ref    string  `json:"ref"`
	OldSHA *string `json:"oldSha"`
	NewSHA *string `json:"newSha"`
}

// Old returns the previous sha, "" for a new ref.
func (u UpdatedRef) Old() string { return deref(u.OldSHA) }

// New returns the new sha, "" for a deleted ref.
func (u UpdatedRef) New() string { return deref(u.NewSHA) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// SupportedVersion is the payload version hubbot reads.
const SupportedVersion = 3

// BadRequestError is a body that cannot be routed: not JSON, or missing
// what routing needs. The receiver answers 400 with its message.
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

// UnsupportedVersionError is a payload of another version: ignored, not an error.
type UnsupportedVersionError struct{ Version int }

func (e *UnsupportedVersionError) Error() string {
	return fmt.Sprintf("payload version %d is not supported (hubbot reads version %d)", e.Version, SupportedVersion)
}

// Decode reads a webhook body. It returns a *BadRequestError for a body that
// is not JSON or lacks event.scope, event.action or repo.name, and an
// *UnsupportedVersionError for other payload versions.
func Decode(body []byte) (*Payload, error) {
	var probe struct {
		Webhook struct {
			Version *int `json:"version"`
		} `json:"webhook"`
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, &BadRequestError{Msg: "body is not a JSON object: " + jsonError(err)}
	}
	if v := probe.Webhook.Version; v != nil && *v != SupportedVersion {
		return nil, &UnsupportedVersionError{Version: *v}
	}
	if len(bytes.TrimSpace(probe.Event)) > 0 && bytes.TrimSpace(probe.Event)[0] == '"' {
		// Version 2 sent the event as a bare string.
		return nil, &UnsupportedVersionError{Version: 2}
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, &BadRequestError{Msg: "payload does not match the v3 shape: " + jsonError(err)}
	}
	var missing []string
	if p.Event.Scope == "" {
		missing = append(missing, "event.scope")
	}
	if p.Event.Action == "" {
		missing = append(missing, "event.action")
	}
	if p.Repo.Name == "" {
		missing = append(missing, "repo.name")
	}
	if len(missing) > 0 {
		return nil, &BadRequestError{Msg: "payload lacks " + strings.Join(missing, ", ")}
	}
	if _, err := hubclient.ParseRepoType(p.Repo.Type); err != nil {
		return nil, &BadRequestError{Msg: "repo.type: " + err.Error()}
	}
	if ns, name, ok := strings.Cut(p.Repo.Name, "/"); !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		// Old canonical models ("gpt2") have no namespace; the Hub redirects them.
		if ok || strings.ContainsAny(p.Repo.Name, " /?#") {
			return nil, &BadRequestError{Msg: fmt.Sprintf("repo.name %q is not a repo id", p.Repo.Name)}
		}
	}
	p.Raw = json.RawMessage(body)
	return &p, nil
}

func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return err.Error()
}

// HubRepo returns the repo as the Hub client names it.
func (p *Payload) HubRepo() hubclient.Repo {
	t, _ := hubclient.ParseRepoType(p.Repo.Type)
	return hubclient.Repo{Type: t, ID: p.Repo.Name}
}

// RepoPath is the repo as config globs match it: "ns/name" for models,
// "datasets/ns/name" and "spaces/ns/name" otherwise.
func (p *Payload) RepoPath() string { return p.HubRepo().String() }

// Route returns the scope and action used for routing: an unknown narrower
// scope counts as an update of the broader one it extends ("repo.config.dois"
// -> "repo.config"), as the Hub's documentation asks.
func (p *Payload) Route(known func(scope string) bool) (scope, action string) {
	scope, action = p.Event.Scope, p.Event.Action
	for !known(scope) {
		i := strings.LastIndexByte(scope, '.')
		if i < 0 {
			return p.Event.Scope, p.Event.Action
		}
		scope, action = scope[:i], "update"
	}
	return scope, action
}

// Key derives the delivery key that identifies this event, since the Hub
// sends no delivery id and its Replay button resends the same body:
// content events by repo and (ref, new sha) pairs, comments by id and action,
// discussions by id, action and status, anything else by a hash of the body.
func (p *Payload) Key() string {
	repo := p.RepoPath()
	switch {
	case strings.HasPrefix(p.Event.Scope, "repo.content") && len(p.UpdatedRefs) > 0:
		parts := make([]string, 0, len(p.UpdatedRefs))
		for _, u := range p.UpdatedRefs {
			parts = append(parts, u.Ref+"@"+orDeleted(u.New()))
		}
		sort.Strings(parts)
		return "content:" + repo + ":" + strings.Join(parts, ",")
	case strings.HasPrefix(p.Event.Scope, "discussion.comment") && p.Comment != nil:
		return "comment:" + repo + ":" + p.Comment.ID + ":" + p.Event.Action
	case strings.HasPrefix(p.Event.Scope, "discussion") && p.Discussion != nil:
		return fmt.Sprintf("discussion:%s:%s:%s:%s", repo, p.Discussion.ID, p.Event.Action, p.Discussion.Status)
	}
	return fmt.Sprintf("%s:%s:%s:%s", p.Event.Scope, repo, p.Event.Action, BodyHash(p.Raw))
}

// BodyHash is a short hash of a delivery's body: the key of a delivery
// that has nothing better to be known by.
func BodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:8])
}

func orDeleted(sha string) string {
	if sha == "" {
		return "deleted"
	}
	return sha
}
