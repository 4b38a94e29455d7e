package bot

// The start-up summary: what an operator needs to see once to know the bot
// is set up as meant, in one place rather than spread over log lines.

import (
	"fmt"
	"io"
	"strings"

	"github.com/hubbot/hubbot/bot/hooksync"
)

// summary writes what this bot is about to do.
func (b *Bot) summary(w io.Writer) {
	cfg := b.cfg
	line := func(key, format string, args ...any) {
		fmt.Fprintf(w, "  %-9s %s\n", key+":", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "hubbot %s\n", b.version)
	file := cfg.Path
	if file == "" {
		file = "none (built-in defaults)"
	}
	line("config", "%s", file)
	line("data dir", "%s (scratch: %s)", cfg.Store.DataDir, scratchDir(cfg.Store))
	switch {
	case cfg.Secrets.HFToken == "":
		line("mode", "dry-run: HF_TOKEN is not set, so Hub writes are only logged")
	case cfg.Hub.DryRun:
		line("mode", "dry-run: [hub] dry_run is on, so Hub writes are only logged")
	default:
		line("mode", "live: the bot writes to the Hub")
	}
	switch name := b.botName(); {
	case !b.hub.HasToken():
		line("account", "none (no HF_TOKEN)")
	case name == "":
		line("account", "unknown yet (the Hub did not answer; asked again when needed)")
	default:
		line("account", "%s", name)
	}
	if url, err := hooksync.URL(cfg); err != nil {
		line("webhook", "unknown: %v", err)
	} else {
		managed := "not managed: create it with `hubbot webhook sync`, or set [hub] manage_webhook"
		if cfg.Hub.ManageWebhook {
			managed = "managed: synced at start"
		}
		line("webhook", "%s (%s)", url, managed)
	}
	line("recovery", "%s", b.recoveryCoverage())
	if len(cfg.Actions) == 0 {
		line("actions", "none: hubbot receives events and answers commands but runs nothing; add [[actions]] to the config")
		return
	}
	var acts []string
	for _, a := range cfg.Actions {
		acts = append(acts, fmt.Sprintf("%s (%s on %s)", a.Name, a.Uses, strings.Join(a.On, ", ")))
	}
	line("actions", "%s", strings.Join(acts, "; "))
}

// recoveryCoverage says what the recovery scan covers, or why it is off.
func (b *Bot) recoveryCoverage() string {
	named, ns := len(b.concreteRepos()), b.watchedNamespaces()
	if !b.hub.HasToken() && named == 0 && len(ns) == 0 {
		return "off: no HF_TOKEN and no repo named in [repos] allow or schedules"
	}
	parts := []string{fmt.Sprintf("%d named repos", named), "the repos of past deliveries"}
	if len(ns) > 0 {
		var names []string
		for _, n := range ns {
			names = append(names, n.pattern)
		}
		parts = append(parts, "every repo of "+strings.Join(names, ", "))
	}
	looks := "missed pushes"
	if b.commands != nil {
		looks += " and comment commands"
	}
	if b.hubRemembers() {
		looks += "; what the store lost is read from the markers of the bot's reports on the Hub"
	}
	return fmt.Sprintf("every %s: %s (%s); at most %d Hub calls a scan", b.cfg.Workers.RecoveryInterval.D(),
		strings.Join(parts, ", "), looks, b.scanBudget())
}
