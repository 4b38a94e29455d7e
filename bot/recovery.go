package bot

// Schedules and recovery. The Hub never re-delivers a webhook that failed
// while the bot was down or asleep, so the bot looks for what it missed: at
// start-up and every workers.recovery_interval it compares the heads of the
// concrete repos it is configured for (and their open pull requests) with
// what it processed, and queues what is missing.

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/hubclient"
)

// schedules turns [[schedules]] into periodic jobs.
func (b *Bot) schedules() ([]*jobs.Schedule, error) {
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	var out []*jobs.Schedule
	for i, s := range b.cfg.Schedules {
		when, err := parser.Parse(s.Cron)
		if err != nil {
			return nil, b.cfg.At(fmt.Sprintf("schedules.%d.cron", i), "%v", err)
		}
		out = append(out, &jobs.Schedule{Index: i, When: when, Action: s.Action, Repos: s.Repos})
	}
	return out, nil
}

// scheduleSpecs returns the runs a schedule asks for now: the action on the
// main head of each repo it names, org/* globs expanded through the Hub.
func (b *Bot) scheduleSpecs(ctx context.Context, action string, patterns []string) ([]jobs.Spec, error) {
	repos, err := b.expandRepos(ctx, patterns)
	if err != nil {
		return nil, err
	}
	var specs []jobs.Spec
	for _, r := range repos {
		if !b.cfg.RepoAllowed(r.String()) {
			continue
		}
		head, err := b.hub.RefSHA(ctx, r, refs.Main)
		if hubclient.IsNotFound(err) {
			b.log.Warn("schedule: repo or main branch not found", "repo", r.String())
			continue
		}
		if err != nil {
			return nil, err
		}
		specs = append(specs, jobs.Spec{Kind: jobs.KindRun, Action: action, Trigger: config.OnSchedule, Repo: r,
			Ref: refs.Main, SHA: head})
	}
	return specs, nil
}

// expandRepos resolves repo ids and "org/*" globs (with an optional
// datasets/ or spaces/ prefix).
func (b *Bot) expandRepos(ctx context.Context, patterns []string) ([]hubclient.Repo, error) {
	var out []hubclient.Repo
	seen := map[string]bool{}
	add := func(r hubclient.Repo) {
		if !seen[r.String()] {
			seen[r.String()] = true
			out = append(out, r)
		}
	}
	for _, p := range patterns {
		t, rest := splitRepoPattern(p)
		if !strings.ContainsAny(rest, "*?[") {
			add(hubclient.Repo{Type: t, ID: rest})
			continue
		}
		ns, _, _ := strings.Cut(rest, "/")
		if strings.ContainsAny(ns, "*?[") {
			return nil, fmt.Errorf("schedule repos %q: only the name part may be a glob", p)
		}
		list, err := b.hub.ListRepos(ctx, t, ns)
		if err != nil {
			return nil, fmt.Errorf("expand %s: %w", p, err)
		}
		for _, r := range list {
			if ok, _ := path.Match(rest, r.ID); ok {
				add(hubclient.Repo{Type: t, ID: r.ID})
			}
		}
	}
	return out, nil
}

func splitRepoPattern(p string) (hubclient.RepoType, string) {
	switch {
	case strings.HasPrefix(p, "datasets/"):
		return hubclient.Dataset, strings.TrimPrefix(p, "datasets/")
	case strings.HasPrefix(p, "spaces/"):
		return hubclient.Space, strings.TrimPrefix(p, "spaces/")
	}
	return hubclient.Model, p
}

// concreteRepos are the repos recovery watches: those named without a
// wildcard in schedules and repos.allow.
func (b *Bot) concreteRepos() []hubclient.Repo {
	var out []hubclient.Repo
	seen := map[string]bool{}
	var patterns []string
	for _, s := range b.cfg.Schedules {
		patterns = append(patterns, s.Repos...)
	}
	patterns = append(patterns, b.cfg.Repos.Allow...)
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?[") {
			continue
		}
		t, id := splitRepoPattern(p)
		r := hubclient.Repo{Type: t, ID: id}
		if !seen[r.String()] && b.cfg.RepoAllowed(r.String()) {
			seen[r.String()] = true
			out = append(out, r)
		}
	}
	return out
}

// recoverTick is one recovery scan. The queue runs it at start and every
// workers.recovery_interval, on one replica only (River's leader).
func (b *Bot) recoverTick(ctx context.Context) error {
	if !b.hub.HasToken() && len(b.concreteRepos()) == 0 && len(b.watchedNamespaces()) == 0 {
		return nil
	}
	n, err := b.Recover(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		b.log.Info("recovery queued missed work", "jobs", n)
	}
	return nil
}

// Recover queues what the bot missed on the repos it covers (see
// recoveryScope): for each action, the head of every branch it triggers on
// and of every open pull request, when no job has seen that revision, and
// the commands of comments posted since the last scan. It returns how many
// jobs it queued. Dedupe keys make it safe to run at any time.
func (b *Bot) Recover(ctx context.Context) (int, error) {
	repos, calls, err := b.recoveryScope(ctx)
	if err != nil {
		return 0, err
	}
	// Start where the last scan ran out of budget, so every repo gets its turn.
	b.scanMu.Lock()
	start := b.scanNext % max(len(repos), 1)
	b.scanMu.Unlock()
	total, scanned, budget := 0, 0, b.scanBudget()
	for i := range repos {
		if calls >= budget {
			break
		}
		r := repos[(start+i)%len(repos)]
		n, used, err := b.recoverRepo(ctx, r, budget-calls)
		calls += used
		scanned++
		if err != nil {
			return total, fmt.Errorf("recover %s: %w", r, err)
		}
		total += n
	}
	b.scanMu.Lock()
	b.scanNext = start + scanned
	b.scanMu.Unlock()
	if scanned < len(repos) {
		b.log.Info("recovery: Hub call budget used up; the next scan goes on", "scanned", scanned, "repos", len(repos), "budget", budget)
	}
	return total, nil
}

// recoverRepo queues what was missed on r: heads no job has seen (unless
// the Hub shows them done, see doneOnHub) and comment commands (see
// recoverComments). It makes at most about budget Hub calls, and returns
// how many jobs it queued and how many calls it made.
func (b *Bot) recoverRepo(ctx context.Context, r hubclient.Repo, budget int) (int, int, error) {
	sc := b.newRepoScan(r, budget)
	list, err := b.hub.ListRefs(ctx, r, true)
	sc.calls++
	if hubclient.IsNotFound(err) {
		return 0, sc.calls, nil
	}
	if err != nil {
		return 0, sc.calls, err
	}
	if b.commands != nil || len(list.PullRequests) > 0 {
		// Every open discussion when comments are read for commands; else
		// the open pull requests only.
		opts := hubclient.ListDiscussionsOptions{Status: "open"}
		if b.commands == nil {
			opts.Type = "pull_request"
		}
		sc.open, err = b.hub.ListDiscussions(ctx, r, opts)
		sc.calls++
		if err != nil {
			return 0, sc.calls, err
		}
		if sc.open == nil {
			sc.open = []hubclient.Discussion{}
		}
	}
	open := map[string]bool{}
	for _, d := range sc.open {
		if d.IsPullRequest {
			open[d.GitRef()] = true
		}
	}
	type head struct{ ref, sha, trigger string }
	var heads []head
	for _, br := range list.Branches {
		heads = append(heads, head{refs.Full(br.Name), br.TargetCommit, config.OnPush})
	}
	for _, pr := range list.PullRequests {
		ref := pr.Ref
		if !refs.IsPR(ref) {
			// Older answers carry only the name, which is the number.
			n, _ := strconv.Atoi(pr.Name)
			ref = refs.PR(n)
		}
		if open[ref] {
			heads = append(heads, head{ref, pr.TargetCommit, config.OnPullRequest})
		}
	}
	var specs []jobs.Spec
	for _, h := range heads {
		for _, a := range b.cfg.Actions {
			branch, _ := refs.BranchName(h.ref)
			if !a.Has(h.trigger) || (h.trigger == config.OnPush && !a.MatchesBranch(branch)) {
				continue
			}
			s := jobs.Spec{Kind: jobs.KindRun, Action: a.Name, Trigger: h.trigger, Event: jobs.TriggerRecovery,
				Repo: r, Ref: h.ref, SHA: h.sha, Discussion: refs.PRNum(h.ref)}
			if done, err := b.queue.Processed(ctx, s); err != nil || done {
				if err != nil {
					return 0, sc.calls, err
				}
				continue
			}
			if own, _ := b.queue.IsBotCommit(ctx, r.String(), h.sha); own {
				continue
			}
			// Compare with the last revision seen, so path filters apply.
			last, err := b.queue.LastSHA(ctx, r.String(), h.ref, a.Name)
			if err != nil {
				return 0, sc.calls, err
			}
			if last != "" {
				s.OldSHA = last
			} else if b.hubRemembers() {
				// The store knows nothing of this ref: maybe it was lost,
				// and the Hub shows what was done.
				if sc.calls >= sc.budget {
					continue // the next scan asks
				}
				done, err := sc.doneOnHub(ctx, s)
				if err != nil {
					return 0, sc.calls, err
				}
				if done {
					continue
				}
			}
			specs = append(specs, s)
		}
	}
	queued := 0
	if len(specs) > 0 {
		slices.SortFunc(specs, func(x, y jobs.Spec) int { return strings.Compare(x.Ref+x.Action, y.Ref+y.Action) })
		ids, err := b.queue.Enqueue(ctx, "recovery", specs)
		if err != nil {
			return 0, sc.calls, err
		}
		queued = len(ids)
	}
	n, err := b.recoverComments(ctx, sc)
	return queued + n, sc.calls, err
}
