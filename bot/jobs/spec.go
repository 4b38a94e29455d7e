// Package jobs is hubbot's durable work queue: it records deliveries and the
// jobs they ask for in one transaction, runs jobs with River, supersedes work
// for refs that moved on, serialises jobs of the same repo and ref, and keeps
// what publishing and chat-ops need to remember (report locations, the reply
// ledger, the bot's own commits). The store is SQLite embedded in one
// process, or Postgres shared by several replicas; the bot decides what the
// jobs do (see Handlers).
package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/hubclient"
)

// Kind is what a job does.
type Kind string

// Job kinds.
const (
	KindRun     Kind = "run"     // run an action on a revision
	KindCommand Kind = "command" // handle a comment command
	KindReply   Kind = "reply"   // answer a discussion with the LLM
)

// State is where a job is in its life.
type State string

// States a job can be in, as the API reports them.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
	StateSkipped   State = "skipped"
)

// Terminal reports whether a job in state s is done.
func Terminal(s State) bool {
	switch s {
	case StateSucceeded, StateFailed, StateCancelled, StateSkipped:
		return true
	}
	return false
}

// Triggers of a job besides the action triggers of config.
const (
	TriggerRecovery = "recovery"
	TriggerRetry    = "retry"
)

// Spec is the work a delivery, a schedule, a command or an operator asks for.
type Spec struct {
	Kind       Kind           `json:"kind"`
	Action     string         `json:"action,omitempty"`
	Trigger    string         `json:"trigger,omitempty"`
	Repo       hubclient.Repo `json:"repo"`
	Ref        string         `json:"ref,omitempty"`
	SHA        string         `json:"sha,omitempty"`
	OldSHA     string         `json:"old_sha,omitempty"`
	Discussion int            `json:"discussion,omitempty"` // the pull request or discussion number
	CommentID  string         `json:"comment_id,omitempty"`
	AuthorID   string         `json:"author_id,omitempty"`
	OwnerID    string         `json:"owner_id,omitempty"` // the repo owner's id, from the payload
	Args       []string       `json:"args,omitempty"`
	Text       string         `json:"text,omitempty"`  // a prepared reply, for commands that only answer
	Event      string         `json:"event,omitempty"` // what caused it, when Trigger does not say (recovery)
	// Approval is the comment that approved running the action on this
	// revision of a pull request whose author the action does not trust
	// (see Queue.Approve); AuthorID is then the approver.
	Approval string `json:"approval,omitempty"`
	// Data is kind-specific, such as the parsed command invocations.
	Data json.RawMessage `json:"data,omitempty"`
}

// DedupeKey identifies the work, so the same work is not queued twice
// (a replayed delivery, recovery finding what a webhook already brought).
func (s Spec) DedupeKey() string {
	switch s.Kind {
	case KindRun:
		return fmt.Sprintf("run:%s:%s:%s:%s", s.Repo, s.Ref, s.SHA, s.Action)
	case KindCommand:
		return fmt.Sprintf("command:%s:%d:%s", s.Repo, s.Discussion, s.CommentID)
	case KindReply:
		return fmt.Sprintf("reply:%s:%d:%s", s.Repo, s.Discussion, s.CommentID)
	}
	return fmt.Sprintf("%s:%s:%s", s.Kind, s.Repo, s.SHA)
}

// Job is a job as stored.
type Job struct {
	ID           int64     `json:"id"`
	DeliveryKey  string    `json:"delivery,omitempty"`
	Spec         Spec      `json:"spec"`
	State        State     `json:"state"`
	Conclusion   string    `json:"conclusion,omitempty"`
	Summary      string    `json:"summary,omitempty"`
	Details      string    `json:"-"`
	Attempt      int       `json:"attempt"`
	SupersededBy int64     `json:"superseded_by,omitempty"`
	RetryOf      int64     `json:"retry_of,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	Log          string    `json:"log,omitempty"`

	lock      string // the lease this attempt holds, while it runs (see lockKey)
	stopLease func() // stops renewing it
}

// Delivery is a webhook delivery to record, with the jobs it asks for.
type Delivery struct {
	Key     string
	Scope   string
	Action  string
	Repo    string
	Body    []byte
	Ignored string // why nothing is done; recorded as an ignored delivery
	Specs   []Spec
}

// Recorded is the outcome of recording a delivery.
type Recorded struct {
	Outcome string  // "queued", "ignored" or "duplicate"
	Reason  string  // for ignored
	Jobs    []int64 // created jobs
}

// Delivery outcomes.
const (
	OutcomeQueued    = "queued"
	OutcomeIgnored   = "ignored"
	OutcomeDuplicate = "duplicate"
)

// DeliveryRecord is a recorded delivery, as the API lists it.
type DeliveryRecord struct {
	ID         int64     `json:"id"`
	Key        string    `json:"key"`
	Scope      string    `json:"scope"`
	Action     string    `json:"action"`
	Repo       string    `json:"repo"`
	Outcome    string    `json:"outcome"`
	Reason     string    `json:"reason,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// targetKey names what a report is about: a pull request, or a branch or tag.
func targetKey(s Spec) string {
	if n := prNum(s); n > 0 {
		return fmt.Sprintf("pr:%d", n)
	}
	return "ref:" + s.Ref
}

// prNum is the pull request a spec is about, 0 for a branch or tag.
func prNum(s Spec) int {
	if refs.IsPR(s.Ref) {
		return s.Discussion
	}
	return 0
}
