package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/webhook"
)

// replaySecret picks the secret replay sends: --secret, else the first of
// WEBHOOK_SECRET, else the secret a dry-run bot keeps in its data dir
// (HUBBOT_DATA, else the configuration's store.data_dir). source says which,
// for the hint when the bot refuses it.
func replaySecret(flagValue string, getenv func(string) string) (secret, source string) {
	if s := strings.TrimSpace(flagValue); s != "" {
		return s, "--secret"
	}
	if s, _, _ := strings.Cut(getenv("WEBHOOK_SECRET"), ","); strings.TrimSpace(s) != "" {
		return strings.TrimSpace(s), "WEBHOOK_SECRET"
	}
	dir := getenv("HUBBOT_DATA")
	if dir == "" {
		dir = config.Default().Store.DataDir
		if cfg, err := config.Load("", getenv); err == nil {
			dir = cfg.Store.DataDir
		}
	}
	s, err := webhook.ReadSecretFile(dir)
	if err != nil || s == "" {
		return "", ""
	}
	return s, filepath.Join(dir, webhook.SecretFile)
}

// replayRefused explains a 401 or 403 answer: how to pass the bot's secret.
func replayRefused(status int, source string) string {
	how := "pass the bot's secret with --secret S or WEBHOOK_SECRET; a bot in dry-run without WEBHOOK_SECRET keeps its generated one in DATA_DIR/" +
		webhook.SecretFile + ", which replay reads when HUBBOT_DATA (or the config's store.data_dir) points there"
	if status == 401 {
		return "hubbot replay: the bot wants a webhook secret and none was found: " + how
	}
	if source == "" {
		source = "the secret sent"
	}
	return fmt.Sprintf("hubbot replay: the bot refused the secret from %s: %s", source, how)
}
