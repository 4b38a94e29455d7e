package web

import (
	"context"
	"strings"
	"time"

	"github.com/hubbot/hubbot/bot/hooksync"
)

// Webhook states shown on /.
const (
	hookInSync    = "in sync"
	hookDiffers   = "differs"
	hookMissing   = "missing"
	hookUnchecked = "not checked"
)

// hookFailEvery is how soon a check that could not be made is tried again.
const hookFailEvery = 15 * time.Second

// hookStatus is whether the Hub's webhook is what the configuration wants,
// as `hubbot webhook status` tells it.
type hookStatus struct {
	State string
	// Why says why it was not checked, in words fit for anyone.
	Why string
	// Changes are what `hubbot webhook sync` would change, Error the Hub's
	// or the configuration's own words: for operators only, since they may
	// name repos the configuration does not.
	Changes []string
	Notes   []string
	Error   string
	ID      string
	Checked time.Time
	Manage  bool // hub.manage_webhook: the bot syncs it at start
}

// webhookStatus returns the webhook's status, asking the Hub at most once
// per WebhookCheckEvery (hookFailEvery after a failure): page views in
// between, and those waiting while it asks, share the answer.
func (s *Server) webhookStatus(ctx context.Context) hookStatus {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	now := s.opts.Now()
	if !s.hookChecked.IsZero() && now.Before(s.hookExpires) {
		return s.hook
	}
	st := s.checkWebhook(ctx)
	st.Checked, st.Manage = now, s.cfg.Hub.ManageWebhook
	s.hook, s.hookChecked = st, now
	s.hookExpires = now.Add(s.opts.WebhookCheckEvery)
	if st.State == hookUnchecked && st.Error != "" {
		s.hookExpires = now.Add(min(hookFailEvery, s.opts.WebhookCheckEvery))
	}
	return st
}

func (s *Server) checkWebhook(ctx context.Context) hookStatus {
	if s.cfg.Secrets.HFToken == "" {
		return hookStatus{State: hookUnchecked, Why: "HF_TOKEN is not set: webhooks belong to the token's user."}
	}
	want, err := hooksync.Wanted(s.cfg)
	if err != nil {
		why := "the configuration does not say which webhook it wants."
		if s.cfg.Server.PublicURL == "" {
			why = "server.public_url is not set, so the URL the Hub should post to is not known."
		}
		return hookStatus{State: hookUnchecked, Why: why, Error: s.oneLine(err)}
	}
	bot, err := s.access.botClient()
	if err == nil {
		// The viewer who asked may leave; the answer is for everyone.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		var plan *hooksync.Plan
		if plan, err = hooksync.MakePlan(ctx, bot, want); err == nil {
			st := hookStatus{Changes: plan.Changes, Notes: plan.Notes}
			switch {
			case plan.Current == nil:
				st.State = hookMissing
			case plan.Unchanged():
				st.State, st.ID = hookInSync, plan.Current.ID
			default:
				st.State, st.ID = hookDiffers, plan.Current.ID
			}
			return st
		}
	}
	s.log.Warn("check the Hub webhook", "error", err)
	return hookStatus{State: hookUnchecked, Why: "the Hub did not answer; it is asked again in a moment.", Error: s.oneLine(err)}
}

// oneLine is an error's text on one line, without the bot's secrets.
func (s *Server) oneLine(err error) string {
	return s.redact(strings.Join(strings.Fields(err.Error()), " "))
}
