package bot

// What recovery scans. Repos named without a wildcard are not enough: the
// shipped configuration allows "*", which names no repo. So the scan also
// covers every repo the bot has had a delivery for (from the store) and the
// repos of the users and orgs of "org/*" patterns (the Hub's list API with
// author=), within a budget of Hub calls per scan.

import (
	"context"
	"path"
	"strings"

	"github.com/hubbot/hubbot/hubclient"
)

// defaultScanBudget is how many Hub calls one recovery scan may make; the
// repos and discussions it does not reach are read first by the next one.
const defaultScanBudget = 300

// scanBudget is the Hub call budget of one recovery scan; tests lower it.
func (b *Bot) scanBudget() int {
	if b.budget > 0 {
		return b.budget
	}
	return defaultScanBudget
}

// recoveryScope returns the repos recovery covers, the ones named first,
// and the number of Hub calls listing them took.
func (b *Bot) recoveryScope(ctx context.Context) ([]hubclient.Repo, int, error) {
	out := b.concreteRepos()
	seen := map[string]bool{}
	for _, r := range out {
		seen[r.String()] = true
	}
	add := func(r hubclient.Repo) {
		if !seen[r.String()] && b.cfg.RepoAllowed(r.String()) {
			seen[r.String()] = true
			out = append(out, r)
		}
	}
	names, err := b.queue.DeliveryRepos(ctx)
	if err != nil {
		return nil, 0, err
	}
	for _, name := range names {
		t, id := splitRepoPattern(name)
		add(hubclient.Repo{Type: t, ID: id})
	}
	calls := 0
	for _, ns := range b.watchedNamespaces() {
		if calls >= b.scanBudget() {
			break
		}
		list, err := b.hub.ListRepos(ctx, ns.t, ns.name)
		calls++
		if err != nil {
			b.log.Warn("recovery: list the repos of a watched namespace", "namespace", ns.name, "type", ns.t, "error", err)
			continue
		}
		for _, r := range list {
			if ok, _ := path.Match(ns.pattern, r.ID); ok {
				add(hubclient.Repo{Type: ns.t, ID: r.ID})
			}
		}
	}
	return out, calls, nil
}

type watchedNamespace struct {
	t       hubclient.RepoType
	name    string
	pattern string // the pattern's part after its type prefix
}

// watchedNamespaces are the users and orgs of "ns/glob" patterns in
// repos.allow and schedules; a bare "*" names no namespace.
func (b *Bot) watchedNamespaces() []watchedNamespace {
	var patterns []string
	patterns = append(patterns, b.cfg.Repos.Allow...)
	for _, s := range b.cfg.Schedules {
		patterns = append(patterns, s.Repos...)
	}
	var out []watchedNamespace
	seen := map[string]bool{}
	for _, p := range patterns {
		t, rest := splitRepoPattern(p)
		ns, name, ok := strings.Cut(rest, "/")
		if !ok || strings.ContainsAny(ns, "*?[") || !strings.ContainsAny(name, "*?[") {
			continue
		}
		key := string(t) + ":" + rest
		if !seen[key] {
			seen[key] = true
			out = append(out, watchedNamespace{t: t, name: ns, pattern: rest})
		}
	}
	return out
}
