package bot

// Routing a payload without a server, for `hubbot replay --local`: the real
// receiver and router, against the configuration, with nothing written.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

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
		Verifier: webhook.NewVerifier([]string{secret}), Router: b.newRouter(), Store: store,
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

// newRouter is the bot's routing table: every event the Hub sends has a
// route, so that an ignored delivery says why.
func (b *Bot) newRouter() *webhook.Router {
	router := webhook.NewRouter()
	router.Handle("repo.content", "update", webhook.ContentRoute(b.cfg))
	b.routeCommunity(router)
	router.Handle("repo", "create", ignore("repo creation needs no work"))
	router.Handle("repo", "delete", ignore("repo deleted"))
	router.Handle("repo", "move", ignore("repo moved"))
	router.Handle("repo", "update", ignore("repo settings changed"))
	router.Handle("repo.config", "update", ignore("repo configuration changed"))
	return router
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
