package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hubbot/hubbot/bot/hooksync"
	"github.com/hubbot/hubbot/hubclient"
)

// syncWebhook makes the bot's Hub webhook what the configuration says, when
// [hub] manage_webhook is on and there is a token. It runs once the server
// listens, so the Hub's first delivery finds it. A Hub that refuses (a bad
// or read-only token, an invalid watch list) stops the start; a Hub that
// cannot be reached only warns, since the webhook may well be in place.
func (b *Bot) syncWebhook(ctx context.Context) error {
	if !b.cfg.Hub.ManageWebhook {
		return nil
	}
	if !b.hub.HasToken() {
		b.log.Warn("hub.manage_webhook is on but HF_TOKEN is not set: the webhook is left as it is")
		return nil
	}
	want, err := hooksync.Wanted(b.cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	plan, err := hooksync.MakePlan(ctx, b.hub, want)
	if err == nil && !plan.Unchanged() && !b.cfg.Hub.DryRun {
		_, err = hooksync.Apply(ctx, b.hub, plan)
	}
	var he *hubclient.Error
	if errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 && he.StatusCode != http.StatusTooManyRequests {
		return fmt.Errorf("sync the Hub webhook (hub.manage_webhook): %w", err)
	}
	if err != nil {
		b.log.Warn("could not sync the Hub webhook; it is left as it is", "url", want.URL, "error", err)
		return nil
	}
	switch {
	case plan.Unchanged():
		b.log.Info("hub webhook up to date", "id", plan.Current.ID, "url", want.URL)
	case b.cfg.Hub.DryRun:
		b.log.Info("hub webhook would change (hub.dry_run)", "url", want.URL, "changes", strings.Join(plan.Changes, "; "))
	default:
		b.log.Info("hub webhook synced", "url", want.URL, "changes", strings.Join(plan.Changes, "; "))
	}
	for _, n := range plan.Notes {
		b.log.Info("hub webhook", "note", n)
	}
	return nil
}
