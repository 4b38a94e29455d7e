package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/hooksync"
	"github.com/hubbot/hubbot/hubclient"
)

const webhookUsage = `usage: hubbot webhook sync|status [--config PATH] [--dry-run]

  sync     create or update the bot's one Hub webhook: public_url + webhook_path,
           the first WEBHOOK_SECRET, what [hub] watch (else [repos] allow) names,
           both domains; prints what changed (--dry-run: what would change)
  status   show the bot's webhook as the Hub sees it, and whether sync would change it

needs HF_TOKEN (webhooks belong to the token's user) and WEBHOOK_SECRET
`

// webhookCmd runs `hubbot webhook sync|status`.
func webhookCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, webhookUsage)
		return 2
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, webhookUsage)
		return 0
	case "sync", "status":
	default:
		fmt.Fprintf(stderr, "hubbot webhook: unknown command %q\n%s", sub, webhookUsage)
		return 2
	}
	fs := newFlags("webhook "+sub, stderr)
	path := fs.String("config", "", "config file (default $HUBBOT_CONFIG, else ./config.toml when present)")
	dryRun := false
	if sub == "sync" {
		fs.BoolVar(&dryRun, "dry-run", false, "print what would change, change nothing")
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hubbot webhook %s: unexpected argument %q\n", sub, fs.Arg(0))
		return 2
	}
	cfg, err := config.Load(*path, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot: %s\n", oneLine(err.Error()))
		return 1
	}
	if cfg.Secrets.HFToken == "" {
		fmt.Fprintln(stderr, "hubbot webhook: HF_TOKEN is not set: webhooks belong to the token's user")
		return 1
	}
	hub, err := hubclient.New(hubclient.Options{Endpoint: cfg.Hub.Endpoint, Token: cfg.Secrets.HFToken, Version: versionString()})
	if err != nil {
		fmt.Fprintf(stderr, "hubbot webhook: %v\n", err)
		return 1
	}
	if sub == "status" {
		return webhookStatus(ctx, cfg, hub, stdout, stderr)
	}
	want, err := hooksync.Wanted(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot webhook sync: %s\n", oneLine(err.Error()))
		return 1
	}
	plan, err := hooksync.MakePlan(ctx, hub, want)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot webhook sync: %s\n", oneLine(err.Error()))
		return 1
	}
	printPlan(stdout, plan, dryRun)
	if dryRun || plan.Unchanged() {
		return 0
	}
	hook, err := hooksync.Apply(ctx, hub, plan)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot webhook sync: %s\n", oneLine(err.Error()))
		return 1
	}
	fmt.Fprint(stdout, hooksync.Describe(hook, cfg.Secrets.WebhookSecrets))
	return 0
}

func printPlan(w io.Writer, p *hooksync.Plan, dryRun bool) {
	switch {
	case p.Unchanged():
		fmt.Fprintf(w, "webhook %s for %s: unchanged\n", p.Current.ID, p.Current.URL)
	case p.Current == nil && dryRun:
		fmt.Fprintf(w, "would %s\n", p.Changes[0])
	case p.Current == nil:
		fmt.Fprintf(w, "%s: created\n", p.Spec.URL)
	default:
		verb := "updated"
		if dryRun {
			verb = "would change"
		}
		fmt.Fprintf(w, "webhook %s for %s: %s\n", p.Current.ID, p.Current.URL, verb)
		for _, c := range p.Changes {
			fmt.Fprintf(w, "  %s\n", c)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// webhookStatus prints the bot's webhook as the Hub has it, found by URL,
// and what sync would change. It exits 1 when there is no such webhook.
func webhookStatus(ctx context.Context, cfg *config.Config, hub *hubclient.Client, stdout, stderr io.Writer) int {
	url, err := hooksync.URL(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot webhook status: %s\n", oneLine(err.Error()))
		return 1
	}
	hooks, err := hub.ListWebhooks(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot webhook status: %s\n", oneLine(err.Error()))
		return 1
	}
	found := 0
	for i := range hooks {
		if hooks[i].URL == url {
			if found == 0 {
				fmt.Fprint(stdout, hooksync.Describe(&hooks[i], cfg.Secrets.WebhookSecrets))
			}
			found++
		}
	}
	if found == 0 {
		fmt.Fprintf(stderr, "hubbot webhook status: no webhook of this token's user posts to %s (%d other webhooks); run `hubbot webhook sync`\n",
			url, len(hooks))
		return 1
	}
	if found > 1 {
		fmt.Fprintf(stdout, "  note: %d webhooks post to this URL; only the first is managed\n", found)
	}
	want, err := hooksync.Wanted(cfg)
	if err != nil {
		fmt.Fprintf(stdout, "  configuration: %s\n", oneLine(err.Error()))
		return 0
	}
	plan, err := hooksync.MakePlan(ctx, hub, want)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot webhook status: %s\n", oneLine(err.Error()))
		return 1
	}
	if plan.Unchanged() {
		fmt.Fprintln(stdout, "  in sync with the configuration")
		return 0
	}
	fmt.Fprintln(stdout, "  out of sync with the configuration; `hubbot webhook sync` would change:")
	for _, c := range plan.Changes {
		fmt.Fprintf(stdout, "    %s\n", c)
	}
	return 0
}
