package bot

// Routing a payload without a server, for `hubbot replay --local`: the real
// receiver and router, against the configuration, with nothing written.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/webhook"
)

// LocalDecision is what the bot would do with one delivery.
type LocalDecision struct {
	// Status is the HTTP status the receiver would answer.
	Status int
	// Outcome is "queued", "ignored" or "rejected" (a payload the receiver
	// refuses, such as unreadable JSON).
	Outcome string
	// Reason says why nothing would be done, for ignored and rejected.
	Reason string
	// Jobs are the jobs that would be queued.
	Jobs []jobs.Spec
}

// RouteLocal runs body through the real webhook receiver (its secret check
// aside) and router against cfg, in dry-run, and reports what would happen.
// Nothing is recorded and the Hub is never asked: the bot's own identity is
// unknown, so the loop guards that need it do not fire.
func RouteLocal(ctx context.Context, cfg *config.Config, body []byte) (LocalDecision, error) {
	b := &Bot{cfg: cfg, log: slog.New(slog.DiscardHandler), dryRun: true}
	var err error
	if b.commands, err = b.newCommands(); err != nil {
		return LocalDecision{}, err
	}
	if cfg.Reply.Enabled {
		// Deciding whether to reply reads the configuration only; the LLM
		// client the job would use is not needed to say so.
		b.replies = &replies{}
	}
	store := &localStore{}
	secret := webhook.GenerateSecret()
	rec := &webhook.Receiver{
		Verifier: webhook.NewVerifier([]string{secret}), Router: b.router(), Store: store,
		RepoAllowed: cfg.RepoAllowed, BotID: b.botID, Log: b.log,
	}
	ans := rec.Receive(ctx, secret, "", body)
	switch {
	case ans.Status == http.StatusInternalServerError:
		return LocalDecision{}, fmt.Errorf("route the delivery: %v", ans.Body["error"])
	case ans.Status >= 400:
		return LocalDecision{Status: ans.Status, Outcome: "rejected", Reason: fmt.Sprint(ans.Body["error"])}, nil
	case store.d.Ignored != "":
		return LocalDecision{Status: ans.Status, Outcome: jobs.OutcomeIgnored, Reason: store.d.Ignored}, nil
	}
	return LocalDecision{Status: ans.Status, Outcome: jobs.OutcomeQueued, Jobs: store.d.Specs}, nil
}

// localStore keeps the one delivery RouteLocal routes, in memory.
type localStore struct {
	d jobs.Delivery
}

func (s *localStore) Record(_ context.Context, d jobs.Delivery) (jobs.Recorded, error) {
	s.d = d
	if d.Ignored != "" {
		return jobs.Recorded{Outcome: jobs.OutcomeIgnored, Reason: d.Ignored}, nil
	}
	if len(d.Specs) == 0 {
		return jobs.Recorded{}, errors.New("a delivery with neither jobs nor a reason")
	}
	return jobs.Recorded{Outcome: jobs.OutcomeQueued}, nil
}

func (s *localStore) IsBotCommit(context.Context, string, string) (bool, error) { return false, nil }

// RunLocal runs deliveries through a bot in dry-run, in this process: the
// real receiver (its secret check aside), queue and workers on a fresh
// store in dataDir, reading from cfg's Hub but writing nothing to it (every
// write is recorded in the job log). It returns the jobs once all are
// finished, with their logs, oldest first.
func RunLocal(ctx context.Context, cfg *config.Config, dataDir string, bodies [][]byte) ([]*jobs.Job, error) {
	local := *cfg
	local.Store.DataDir, local.Store.URL = dataDir, ""
	local.Hub.DryRun = true
	secret := webhook.GenerateSecret()
	local.Secrets.WebhookSecrets = []string{secret}
	b, err := New(ctx, Options{Config: &local, Version: "local", Out: io.Discard})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The workers only: no recovery scan, which would add work for repos
	// the payloads do not name.
	if err := b.queue.Start(runCtx); err != nil {
		b.Close()
		return nil, err
	}
	defer b.shutdown(context.WithoutCancel(ctx))
	for _, body := range bodies {
		if ans := b.receiver.Receive(ctx, secret, "", body); ans.Status >= 400 {
			return nil, fmt.Errorf("deliver a payload: %d %v", ans.Status, ans.Body["error"])
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		list, err := b.queue.Jobs(ctx, jobs.JobFilter{})
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		if !slices.ContainsFunc(list, func(j *jobs.Job) bool {
			return j.State == jobs.StateQueued || j.State == jobs.StateRunning
		}) {
			out := make([]*jobs.Job, 0, len(list))
			for i := len(list) - 1; i >= 0; i-- { // Jobs lists newest first
				j, err := b.queue.Job(ctx, list[i].ID)
				if err != nil {
					return nil, fmt.Errorf("read job %d: %w", list[i].ID, err)
				}
				out = append(out, j)
			}
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}
