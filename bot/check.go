package bot

import (
	"errors"
	"os"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/hooksync"
	"github.com/hubbot/hubbot/bot/webhook"
)

// Check finds, without starting anything or calling the Hub, every mistake
// in cfg that would stop `serve`, and returns them all, so that
// `hubbot check-config` fails whenever serve would.
func Check(cfg *config.Config) error {
	var errs []error
	b := &Bot{cfg: cfg}
	if _, err := (&Bot{cfg: cfg, log: discardLogger()}).buildActions(); err != nil {
		errs = append(errs, err)
	}
	if _, err := b.schedules(); err != nil {
		errs = append(errs, err)
	}
	if token := cfg.Secrets.HFToken != ""; token {
		if len(cfg.Secrets.WebhookSecrets) == 0 {
			errs = append(errs, errNoSecret)
		} else if err := webhook.CheckSecrets(cfg.Secrets.WebhookSecrets); err != nil {
			errs = append(errs, err)
		}
		if cfg.Hub.ManageWebhook {
			if _, err := hooksync.Wanted(cfg); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if cfg.Store.URL == "" {
		// The data dir may not exist yet; then serve creates it, on its parent's file system.
		dir := cfg.Store.DataDir
		for dir != "" {
			if _, err := os.Stat(dir); err == nil {
				break
			}
			parent := parentDir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
		if err := checkStoreFS(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
