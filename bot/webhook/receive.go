package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hubbot/hubbot/bot/jobs"
)

// Store is what the receiver needs from the job queue.
type Store interface {
	Record(ctx context.Context, d jobs.Delivery) (jobs.Recorded, error)
	IsBotCommit(ctx context.Context, repo, sha string) (bool, error)
}

// Receiver turns a delivery into an answer for the Hub: it checks the
// secret, decodes the payload, applies the guards, routes the event, and
// records the delivery with its jobs before answering.
type Receiver struct {
	Verifier *Verifier
	Router   *Router
	Store    Store
	// RepoAllowed applies [repos] allow and deny to "ns/name" (with the
	// datasets/ or spaces/ prefix for those types).
	RepoAllowed func(repo string) bool
	// BotID returns the bot's own user id, "" when not known (dry-run).
	BotID func() string
	// Observe counts deliveries by scope, action and outcome.
	Observe func(scope, action, outcome string)
	Log     *slog.Logger
}

// Answer is the HTTP answer to a delivery.
type Answer struct {
	Status int
	Body   map[string]any
}

// Receive handles one delivery. header and query are the secret as sent in
// the X-Webhook-Secret header and the secret query parameter.
func (r *Receiver) Receive(ctx context.Context, header, query string, body []byte) Answer {
	if err := r.Verifier.Verify(header, query); err != nil {
		outcome, status := "unauthorized", http.StatusUnauthorized
		if errors.Is(err, ErrWrongSecret) {
			outcome, status = "forbidden", http.StatusForbidden
		}
		r.observe("", "", outcome)
		return Answer{Status: status, Body: map[string]any{"error": err.Error()}}
	}
	p, err := Decode(body)
	var bad *BadRequestError
	if errors.As(err, &bad) {
		r.observe("", "", "bad_request")
		return Answer{Status: http.StatusBadRequest, Body: map[string]any{"error": bad.Msg}}
	}
	var version *UnsupportedVersionError
	if errors.As(err, &version) {
		return r.record(ctx, jobs.Delivery{Key: "unsupported:" + BodyHash(body), Scope: "unknown", Action: "unknown",
			Body: body, Ignored: version.Error()})
	}
	if err != nil {
		r.observe("", "", "bad_request")
		return Answer{Status: http.StatusBadRequest, Body: map[string]any{"error": err.Error()}}
	}

	d := jobs.Delivery{Key: p.Key(), Scope: p.Event.Scope, Action: p.Event.Action, Repo: p.RepoPath(), Body: body}
	switch {
	case !r.RepoAllowed(p.RepoPath()):
		d.Ignored = "repo " + p.RepoPath() + " is not in repos.allow (or is in repos.deny)"
	case r.ownEvent(p):
		d.Ignored = "event authored by hubbot itself"
	default:
		decision, err := r.Router.Decide(ctx, p)
		if err != nil {
			r.Log.Error("route delivery", "delivery", d.Key, "error", err)
			r.observe(p.Event.Scope, p.Event.Action, "error")
			return Answer{Status: http.StatusInternalServerError, Body: map[string]any{"error": "could not route the event"}}
		}
		specs, own := r.dropBotCommits(ctx, decision.Jobs)
		d.Specs, d.Ignored = specs, decision.Ignore
		if len(specs) == 0 && d.Ignored == "" {
			d.Ignored = "no job to run"
			if own {
				d.Ignored = "ref updated by hubbot's own commit"
			}
		}
	}
	return r.record(ctx, d)
}

// ownEvent reports a community event written by the bot: its comments, and
// discussions it opened.
func (r *Receiver) ownEvent(p *Payload) bool {
	id := r.BotID()
	if id == "" {
		return false
	}
	if p.Comment != nil {
		return p.Comment.Author.ID == id
	}
	return p.Discussion != nil && strings.HasPrefix(p.Event.Scope, "discussion") && p.Discussion.Author.ID == id
}

// dropBotCommits removes run jobs for revisions the bot itself committed.
func (r *Receiver) dropBotCommits(ctx context.Context, specs []jobs.Spec) ([]jobs.Spec, bool) {
	var kept []jobs.Spec
	dropped := false
	for _, s := range specs {
		if s.Kind == jobs.KindRun && s.SHA != "" {
			own, err := r.Store.IsBotCommit(ctx, s.Repo.String(), s.SHA)
			if err == nil && own {
				dropped = true
				continue
			}
		}
		kept = append(kept, s)
	}
	return kept, dropped
}

func (r *Receiver) record(ctx context.Context, d jobs.Delivery) Answer {
	rec, err := r.Store.Record(ctx, d)
	if errors.Is(err, jobs.ErrDraining) {
		r.observe(d.Scope, d.Action, "draining")
		return Answer{Status: http.StatusServiceUnavailable, Body: map[string]any{"error": "hubbot is shutting down; replay this delivery later"}}
	}
	if err != nil {
		r.Log.Error("record delivery", "delivery", d.Key, "error", err)
		r.observe(d.Scope, d.Action, "error")
		return Answer{Status: http.StatusServiceUnavailable, Body: map[string]any{"error": "could not record the delivery; replay it later"}}
	}
	r.observe(d.Scope, d.Action, rec.Outcome)
	r.Log.Info("delivery", "delivery", d.Key, "scope", d.Scope, "action", d.Action, "repo", d.Repo,
		"outcome", rec.Outcome, "reason", rec.Reason, "jobs", rec.Jobs)
	switch rec.Outcome {
	case jobs.OutcomeQueued:
		ids := rec.Jobs
		if ids == nil {
			ids = []int64{}
		}
		return Answer{Status: http.StatusAccepted, Body: map[string]any{"status": "queued", "delivery": d.Key, "jobs": ids}}
	case jobs.OutcomeDuplicate:
		return Answer{Status: http.StatusOK, Body: map[string]any{"status": "duplicate", "delivery": d.Key}}
	}
	return Answer{Status: http.StatusOK, Body: map[string]any{"status": "ignored", "reason": rec.Reason}}
}

func (r *Receiver) observe(scope, action, outcome string) {
	if r.Observe != nil {
		r.Observe(scope, action, outcome)
	}
}
