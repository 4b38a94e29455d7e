package bot

// What the Hub remembers. The store may be lost (a Space's disk does not
// survive a restart), but the reports the bot posted stay on the Hub, each
// with a hidden marker naming the action and revision it covers (see
// report.Revision), and so do the pull requests it proposed (see
// proposalMarker). When the store has no record of a head, recovery reads
// them before queueing anything, and records what was already done, so that
// a bot starting with an empty data dir neither misses a push nor reports
// one twice.

import (
	"context"
	"fmt"
	"strings"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/bot/report"
	"github.com/hubbot/hubbot/hubclient"
)

// rebuiltOrigin is the origin of jobs recovery rebuilt from the Hub: they
// never ran in this store.
const rebuiltOrigin = "rebuilt-from-hub"

// repoScan is what one recovery scan learns of one repo on the Hub: each
// discussion is read at most once per scan, and every call counts against
// the scan's budget.
type repoScan struct {
	b       *Bot
	r       hubclient.Repo
	calls   int // Hub calls made for this repo
	budget  int // calls this repo may make in all
	open    []hubclient.Discussion
	details map[int]*hubclient.DiscussionDetails
	// reports are the bot's own discussions, listed once when needed.
	reports       []hubclient.Discussion
	reportsListed bool
}

func (b *Bot) newRepoScan(r hubclient.Repo, budget int) *repoScan {
	return &repoScan{b: b, r: r, budget: budget, details: map[int]*hubclient.DiscussionDetails{}}
}

// discussion reads discussion num with its events, once per scan.
func (sc *repoScan) discussion(ctx context.Context, num int) (*hubclient.DiscussionDetails, error) {
	if d, ok := sc.details[num]; ok {
		return d, nil
	}
	d, err := sc.b.hub.GetDiscussion(ctx, sc.r, num)
	sc.calls++
	if err != nil {
		return nil, err
	}
	sc.details[num] = d
	return d, nil
}

// doneOnHub reports whether the bot already reported s (an action on a
// head) on the Hub, and when it did, records it in the store as done, with
// where the report is. It is asked only when the store has no record of
// the ref, and never in dry-run, where the bot posts nothing.
func (sc *repoScan) doneOnHub(ctx context.Context, s jobs.Spec) (bool, error) {
	b := sc.b
	if !b.hubRemembers() {
		return false, nil
	}
	me, err := b.me(ctx)
	if err != nil || me.Name == "" {
		return false, err
	}
	var (
		rev report.Revision
		loc *jobs.ReportLocation
	)
	if refs.IsPR(s.Ref) {
		rev, loc, err = sc.stickyRevision(ctx, s, me.Name)
	} else {
		rev, loc, err = sc.branchRevision(ctx, s, me.Name)
	}
	if err != nil {
		return false, err
	}
	if rev.SHA == s.SHA && rev.State.Final() {
		return true, sc.rebuild(ctx, s, rev, loc, "its report on the Hub")
	}
	if _, isBranch := refs.BranchName(s.Ref); isBranch && writes(b, s.Action) {
		// A clean run of an action that proposes files leaves no report,
		// only its pull request.
		url, found, err := newPriorProposals(b.hub, b.me, s.Action).find(ctx, s.Repo, s.SHA)
		sc.calls += 2 // the list, and the pull request it reads
		if err != nil {
			return false, err
		}
		if found {
			rev := report.Revision{Action: s.Action, SHA: s.SHA, State: report.Success}
			return true, sc.rebuild(ctx, s, rev, nil, "its proposal "+url)
		}
	}
	return false, nil
}

// stickyRevision reads the revision marker of the bot's sticky report for
// s's action in its pull request.
func (sc *repoScan) stickyRevision(ctx context.Context, s jobs.Spec, me string) (report.Revision, *jobs.ReportLocation, error) {
	d, err := sc.discussion(ctx, s.Discussion)
	if hubclient.IsNotFound(err) {
		return report.Revision{}, nil, nil
	}
	if err != nil {
		return report.Revision{}, nil, err
	}
	marker := report.Marker(s.Action)
	for _, e := range d.Events {
		if e.Type != hubclient.EventComment || e.Hidden() || !strings.EqualFold(e.AuthorName(), me) ||
			!strings.HasPrefix(e.Content(), marker) {
			continue
		}
		rev, ok := report.ParseRevision(e.Content())
		if !ok || rev.Action != s.Action {
			return report.Revision{}, nil, nil // a report of an older hubbot, without the marker
		}
		return rev, &jobs.ReportLocation{Discussion: s.Discussion, CommentID: e.ID}, nil
	}
	return report.Revision{}, nil, nil
}

// branchRevision reads the revision marker of the bot's report discussion
// for s's action and branch.
func (sc *repoScan) branchRevision(ctx context.Context, s jobs.Spec, me string) (report.Revision, *jobs.ReportLocation, error) {
	if !sc.reportsListed {
		list, err := sc.b.hub.ListDiscussions(ctx, sc.r, hubclient.ListDiscussionsOptions{Type: "discussion", Author: me})
		sc.calls++
		if err != nil {
			return report.Revision{}, nil, err
		}
		sc.reports, sc.reportsListed = list, true
	}
	title, marker := report.Title(s.Action, s.Ref), report.BranchMarker(s.Action, s.Ref)
	for _, d := range sc.reports {
		if d.IsPullRequest || d.Title != title || !strings.EqualFold(d.AuthorName(), me) {
			continue
		}
		details, err := sc.discussion(ctx, d.Num)
		if err != nil {
			return report.Revision{}, nil, err
		}
		desc := details.Description()
		if desc == nil || !strings.HasPrefix(desc.Content(), marker) {
			continue
		}
		rev, ok := report.ParseRevision(desc.Content())
		if !ok || rev.Action != s.Action {
			return report.Revision{}, nil, nil
		}
		status := hubclient.StatusOpen
		if d.Status == hubclient.StatusClosed {
			status = hubclient.StatusClosed
		}
		return rev, &jobs.ReportLocation{Discussion: d.Num, CommentID: desc.ID, Status: status, Fingerprint: rev.Fingerprint}, nil
	}
	return report.Revision{}, nil, nil
}

// rebuild records s as done, as the Hub shows it, and where its report is.
func (sc *repoScan) rebuild(ctx context.Context, s jobs.Spec, rev report.Revision, loc *jobs.ReportLocation, from string) error {
	out := jobs.Outcome{Fingerprint: rev.Fingerprint,
		Summary: fmt.Sprintf("already done before the store was lost: rebuilt from %s (%s)", from, rev.State)}
	switch rev.State {
	case report.Success, report.Neutral:
		out.State, out.Conclusion = jobs.StateSucceeded, string(rev.State)
	case report.Skipped:
		out.State, out.Conclusion = jobs.StateSkipped, "skipped"
	case report.Errored:
		out.State, out.Conclusion = jobs.StateFailed, "error"
	default:
		out.State, out.Conclusion = jobs.StateFailed, "failure"
	}
	if _, err := sc.b.queue.RecordDone(ctx, rebuiltOrigin, s, out); err != nil {
		return err
	}
	if loc != nil {
		if err := sc.b.queue.SaveReportLocation(ctx, s, *loc); err != nil {
			return err
		}
	}
	sc.b.log.Info("recovery: the Hub shows this revision done; not run again", "repo", s.Repo.String(), "ref", s.Ref,
		"sha", s.SHA, "action", s.Action, "from", from)
	return nil
}

// hubRemembers reports whether the Hub holds the bot's reports: not in
// dry-run, where it posts nothing.
func (b *Bot) hubRemembers() bool { return !b.dryRun && b.hub.HasToken() }

// writes reports whether the configured action proposes files.
func writes(b *Bot, action string) bool {
	a := b.cfg.Action(action)
	k := kindOf(b.cfg, action)
	return a != nil && k.Writes != nil && k.Writes(a.With)
}
