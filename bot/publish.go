package bot

// Publishing results on the Hub: the sticky comment of a pull request, the
// report discussion of a branch, pull requests carrying proposed files, and
// the answers to commands. Every write goes through the publisher's helpers
// at the end, which pass the text through the loop guard and, when the bot
// runs dry, record the write in the job log instead.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/bot/report"
	"github.com/hubbot/hubbot/hubclient"
)

// publishHub is what publishing needs from the Hub; *hubclient.Client
// satisfies it.
type publishHub interface {
	Comment(ctx context.Context, r hubclient.Repo, num int, text string) (*hubclient.Event, error)
	EditComment(ctx context.Context, r hubclient.Repo, num int, commentID, text string) (*hubclient.Event, error)
	CreateDiscussion(ctx context.Context, r hubclient.Repo, title, description string) (int, error)
	GetDiscussion(ctx context.Context, r hubclient.Repo, num int) (*hubclient.DiscussionDetails, error)
	ListDiscussions(ctx context.Context, r hubclient.Repo, opts hubclient.ListDiscussionsOptions) ([]hubclient.Discussion, error)
	ChangeDiscussionStatus(ctx context.Context, r hubclient.Repo, num int, status, comment string) (*hubclient.Event, error)
	CreateCommit(ctx context.Context, r hubclient.Repo, req hubclient.CommitRequest) (*hubclient.CommitResult, error)
	proposalFinder
}

// reportStore is what publishing needs from the store: a lease per report,
// so two workers never write one report at once, taken together with what
// the report shows and where it is.
type reportStore interface {
	LockReport(ctx context.Context, s jobs.Spec, owner int64, ttl time.Duration) (*jobs.Report, error)
	UnlockReport(ctx context.Context, s jobs.Spec, owner int64)
	SaveReportLocation(ctx context.Context, s jobs.Spec, l jobs.ReportLocation) error
	RecordBotCommit(ctx context.Context, repo, sha string) error
}

// publisher puts what jobs found on the Hub.
type publisher struct {
	hub   publishHub
	store reportStore
	// me returns the bot's account; a zero User when the bot has no token.
	me func(ctx context.Context) (*hubclient.User, error)
	// safe is the loop guard every posted text goes through.
	safe func(markdown string) string
	// alwaysReport tells the actions whose branch reports are opened for
	// every result, not only for failures.
	alwaysReport func(action string) bool
	publicURL    string // the bot's public base URL, for log links; may be empty
	dryRun       bool
	log          *slog.Logger
	now          func() time.Time
}

// queued shows a job's current state on the Hub right after it is queued
// (and after a failure the run itself could not report).
func (p *publisher) queued(ctx context.Context, job *jobs.Job) error {
	if refs.IsPR(job.Spec.Ref) {
		return p.sticky(ctx, job, "", nil)
	}
	if jobs.Terminal(job.State) {
		return p.branch(ctx, job, jobs.Outcome{State: job.State, Conclusion: job.Conclusion, Summary: job.Summary,
			Details: job.Details}, nil)
	}
	return nil // branch reports show results only
}

// final reports a job's end: in the pull request's sticky comment, or in
// the branch's report discussion. base is the ref a pull request merges
// into, when known.
func (p *publisher) final(ctx context.Context, job *jobs.Job, out jobs.Outcome, base string, log *jobs.Log) error {
	job.State, job.Conclusion, job.Summary, job.Details = out.State, out.Conclusion, out.Summary, out.Details
	if refs.IsPR(job.Spec.Ref) {
		return p.sticky(ctx, job, base, log)
	}
	return p.branch(ctx, job, out, log)
}

// withLock runs fn with the report of s while holding the report's lease.
func (p *publisher) withLock(ctx context.Context, s jobs.Spec, fn func(r *jobs.Report) error) error {
	owner := -rand.Int64N(1 << 62) // negative: never a job id
	deadline := time.Now().Add(time.Minute)
	for {
		r, err := p.store.LockReport(ctx, s, owner, 2*time.Minute)
		if err != nil {
			return err
		}
		if r != nil {
			defer p.store.UnlockReport(context.WithoutCancel(ctx), s, owner)
			return fn(r)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the %s report of %s %s is busy", s.Action, s.Repo, s.Ref)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sticky shows, in the pull request's sticky comment for the action, the
// state of the newest job for that pull request and action.
func (p *publisher) sticky(ctx context.Context, job *jobs.Job, base string, log *jobs.Log) error {
	s := job.Spec
	if !refs.IsPR(s.Ref) || s.Discussion == 0 {
		return nil
	}
	return p.withLock(ctx, s, func(r *jobs.Report) error {
		latest := r.Latest
		if latest == nil || latest.ID == job.ID && job.State != "" {
			latest = job // the caller's copy may be newer than the stored row
		}
		shown := p.reportOf(latest)
		shown.Base = base
		body := report.Render(report.Marker(s.Action), shown)
		loc := r.Location
		if loc == nil {
			var err error
			if loc, err = p.findSticky(ctx, s); err != nil {
				return err
			}
		}
		if loc != nil {
			err := p.editComment(ctx, s.Repo, loc.Discussion, loc.CommentID, body, log)
			if err == nil {
				if r.Location == nil {
					return p.store.SaveReportLocation(ctx, s, *loc) // found on the Hub: remember it
				}
				return nil
			}
			if !hubclient.IsNotFound(err) {
				return err
			}
			// The comment is gone (hidden or deleted): post a new one.
		}
		id, err := p.postComment(ctx, s.Repo, s.Discussion, body, log)
		if err != nil || id == "" {
			return err
		}
		return p.store.SaveReportLocation(ctx, s, jobs.ReportLocation{Discussion: s.Discussion, CommentID: id})
	})
}

// findSticky looks for the bot's sticky comment in the pull request, for
// when the store lost track of it.
func (p *publisher) findSticky(ctx context.Context, s jobs.Spec) (*jobs.ReportLocation, error) {
	if p.dryRun {
		return nil, nil
	}
	me, err := p.me(ctx)
	if err != nil {
		return nil, err
	}
	d, err := p.hub.GetDiscussion(ctx, s.Repo, s.Discussion)
	if err != nil {
		return nil, fmt.Errorf("look for the report in %s#%d: %w", s.Repo, s.Discussion, err)
	}
	marker := report.Marker(s.Action)
	for _, e := range d.Events {
		if e.Type == hubclient.EventComment && !e.Hidden() && strings.EqualFold(e.AuthorName(), me.Name) &&
			strings.HasPrefix(e.Content(), marker) {
			return &jobs.ReportLocation{Discussion: s.Discussion, CommentID: e.ID}, nil
		}
	}
	return nil, nil
}

// reportOf turns a job into what its report shows.
func (p *publisher) reportOf(job *jobs.Job) report.Report {
	r := report.Report{Action: job.Spec.Action, Ref: job.Spec.Ref, SHA: job.Spec.SHA, State: stateOf(job),
		Summary: job.Summary, Details: job.Details, Updated: p.now()}
	if p.publicURL != "" {
		r.LogURL = fmt.Sprintf("%s/jobs/%d", strings.TrimRight(p.publicURL, "/"), job.ID)
	}
	if job.State == jobs.StateQueued && job.Summary == "" {
		r.Summary = "queued"
	}
	return r
}

// branch keeps one discussion per repo, action and branch: opened when
// there is something to say, edited only when the findings change, closed
// when the result is clean and reopened when it breaks again.
func (p *publisher) branch(ctx context.Context, job *jobs.Job, out jobs.Outcome, log *jobs.Log) error {
	s := job.Spec
	if out.State == jobs.StateSkipped || out.State == jobs.StateCancelled {
		return nil
	}
	if out.Fingerprint == "" {
		out.Fingerprint = outcomeOf(actions.Result{Conclusion: actions.Conclusion(out.Conclusion), Summary: out.Summary, Details: out.Details}).Fingerprint
	}
	failing := out.State == jobs.StateFailed
	return p.withLock(ctx, s, func(r *jobs.Report) error {
		loc, changed := r.Location, false // changed: whether loc differs from what the store holds
		if loc == nil {
			var err error
			if loc, err = p.findBranchDiscussion(ctx, s); err != nil {
				return err
			}
			changed = loc != nil
		}
		shown := *job
		shown.State, shown.Conclusion, shown.Summary, shown.Details = out.State, out.Conclusion, out.Summary, out.Details
		rep := p.reportOf(&shown)
		rep.Fingerprint = out.Fingerprint
		body := report.Render(report.BranchMarker(s.Action, s.Ref), rep)
		if loc == nil {
			if !failing && !p.alwaysReport(s.Action) {
				return nil // a clean result needs no discussion
			}
			num, commentID, err := p.openDiscussion(ctx, s.Repo, report.Title(s.Action, s.Ref), body, log)
			if err != nil || num == 0 {
				return err
			}
			loc = &jobs.ReportLocation{Discussion: num, CommentID: commentID, Status: hubclient.StatusOpen, Fingerprint: out.Fingerprint}
			if !failing {
				if err := p.setStatus(ctx, s.Repo, num, hubclient.StatusClosed, "", log); err != nil {
					return err
				}
				loc.Status = hubclient.StatusClosed
			}
			return p.store.SaveReportLocation(ctx, s, *loc)
		}
		if loc.Fingerprint != out.Fingerprint {
			if err := p.editComment(ctx, s.Repo, loc.Discussion, loc.CommentID, body, log); err != nil {
				return err
			}
			loc.Fingerprint, changed = out.Fingerprint, true
		}
		switch {
		case !failing && loc.Status != hubclient.StatusClosed:
			msg := fmt.Sprintf("Resolved in `%s`: %s", shortSHA(s.SHA), oneLine(out.Summary))
			if err := p.setStatus(ctx, s.Repo, loc.Discussion, hubclient.StatusClosed, msg, log); err != nil {
				return err
			}
			loc.Status, changed = hubclient.StatusClosed, true
		case failing && loc.Status == hubclient.StatusClosed:
			msg := fmt.Sprintf("Failing again in `%s`: %s", shortSHA(s.SHA), oneLine(out.Summary))
			if err := p.setStatus(ctx, s.Repo, loc.Discussion, hubclient.StatusOpen, msg, log); err != nil {
				return err
			}
			loc.Status, changed = hubclient.StatusOpen, true
		}
		if !changed {
			return nil // same findings, same status: nothing to remember
		}
		return p.store.SaveReportLocation(ctx, s, *loc)
	})
}

// findBranchDiscussion finds the bot's report discussion for an action and
// ref on the Hub, when the store does not know it.
func (p *publisher) findBranchDiscussion(ctx context.Context, s jobs.Spec) (*jobs.ReportLocation, error) {
	if p.dryRun {
		return nil, nil
	}
	me, err := p.me(ctx)
	if err != nil {
		return nil, err
	}
	list, err := p.hub.ListDiscussions(ctx, s.Repo, hubclient.ListDiscussionsOptions{Type: "discussion", Author: me.Name})
	if err != nil {
		return nil, fmt.Errorf("look for the report discussion of %s: %w", s.Repo, err)
	}
	title, marker := report.Title(s.Action, s.Ref), report.BranchMarker(s.Action, s.Ref)
	for _, d := range list {
		if d.IsPullRequest || d.Title != title || !strings.EqualFold(d.AuthorName(), me.Name) {
			continue
		}
		details, err := p.hub.GetDiscussion(ctx, s.Repo, d.Num)
		if err != nil {
			return nil, fmt.Errorf("read %s#%d: %w", s.Repo, d.Num, err)
		}
		desc := details.Description()
		if desc == nil || !strings.HasPrefix(desc.Content(), marker) {
			continue
		}
		status := hubclient.StatusOpen
		if d.Status == hubclient.StatusClosed {
			status = hubclient.StatusClosed
		}
		// The findings it shows, so that the same findings are not edited in
		// again after the store was lost.
		rev, _ := report.ParseRevision(desc.Content())
		return &jobs.ReportLocation{Discussion: d.Num, CommentID: desc.ID, Status: status, Fingerprint: rev.Fingerprint}, nil
	}
	return nil, nil
}

// proposal opens one pull request with every file of the proposal, unless
// the bot already proposed for this revision. It never retries a commit
// blindly: when the outcome is unknown it looks for the pull request first.
// It returns a note for the report.
func (p *publisher) proposal(ctx context.Context, job *jobs.Job, prop *actions.Proposal, log *jobs.Log) (string, error) {
	s := job.Spec
	branch, ok := refs.BranchName(s.Ref)
	if !ok {
		return "(Files are only proposed for branches, not for " + s.Ref + ".)", nil
	}
	prior := newPriorProposals(p.hub, p.me, s.Action)
	if url, found, err := prior.find(ctx, s.Repo, s.SHA); err != nil {
		return "", jobs.Temporary(err)
	} else if found {
		log.Printf("already proposed: %s", url)
		return fmt.Sprintf("(Already proposed in %s.)", url), nil
	}
	files := make([]hubclient.CommitFile, 0, len(prop.Files))
	names := make([]string, 0, len(prop.Files))
	for _, f := range prop.Files {
		files = append(files, commitFile(f))
		names = append(names, f.PathInRepo)
	}
	if p.dryRun {
		log.Printf("dry-run: would open a pull request %q on %s with %s", prop.Title, branch, strings.Join(names, ", "))
		return "(Dry-run: the pull request was not opened.)", nil
	}
	desc := strings.TrimSpace(prop.Description) + "\n\n" + proposalMarker(s.Action, s.SHA)
	log.Printf("opening a pull request with %d files", len(files))
	res, err := p.hub.CreateCommit(ctx, s.Repo, hubclient.CommitRequest{Revision: branch, CreatePR: true, ParentCommit: s.SHA,
		Summary: p.safe(prop.Title), Description: p.safe(desc), Files: files})
	if hubclient.IsAmbiguous(err) {
		log.Printf("the commit's answer was lost (%v); looking for the pull request before anything else", err)
		if url, found, ferr := prior.find(ctx, s.Repo, s.SHA); ferr == nil && found {
			return fmt.Sprintf("Opened %s.", url), nil
		}
		return "", jobs.Temporary(err)
	}
	if hubclient.IsConflict(err) {
		return "", fmt.Errorf("%s moved on while converting; the next push is converted instead: %w", branch, err)
	}
	if err != nil {
		return "", fmt.Errorf("open the pull request: %w", err)
	}
	if err := p.store.RecordBotCommit(ctx, s.Repo.String(), res.CommitOID); err != nil {
		log.Printf("could not remember commit %s: %v", res.CommitOID, err)
	}
	url := p.hub.DiscussionURL(s.Repo, res.PullRequestNum)
	log.Printf("opened pull request #%d (%s)", res.PullRequestNum, url)
	return fmt.Sprintf("Opened pull request [#%d](%s).", res.PullRequestNum, url), nil
}

// proposalMarker ends the description of every pull request the bot opens
// for an action on a revision; priorProposals looks for it.
func proposalMarker(action, sha string) string {
	return fmt.Sprintf("<!-- hubbot:proposal:%s:%s -->", action, sha)
}

// priorProposals finds a pull request the bot already opened for an action
// on a revision, open or closed: a closed one counts, so that declining a
// proposal is not answered by the same proposal again.
type priorProposals struct {
	hub    proposalFinder
	me     func(ctx context.Context) (*hubclient.User, error)
	action string
}

// proposalFinder is what priorProposals needs from the Hub.
type proposalFinder interface {
	FindPullRequest(ctx context.Context, r hubclient.Repo, q hubclient.PullRequestQuery) (*hubclient.DiscussionDetails, error)
	DiscussionURL(r hubclient.Repo, num int) string
}

// newPriorProposals finds the pull requests the bot opened for action.
func newPriorProposals(hub proposalFinder, me func(context.Context) (*hubclient.User, error), action string) *priorProposals {
	return &priorProposals{hub: hub, me: me, action: action}
}

// FindProposal implements safetensors.PriorProposals.
func (pp *priorProposals) FindProposal(ctx context.Context, repo actions.Repo, baseSHA string) (string, bool, error) {
	t, err := hubclient.ParseRepoType(repo.Type)
	if err != nil {
		return "", false, err
	}
	return pp.find(ctx, hubclient.Repo{Type: t, ID: repo.ID}, baseSHA)
}

func (pp *priorProposals) find(ctx context.Context, repo hubclient.Repo, baseSHA string) (string, bool, error) {
	me, err := pp.me(ctx)
	if err != nil {
		return "", false, err
	}
	if me.Name == "" {
		return "", false, nil // no token: the bot never proposed anything
	}
	pr, err := pp.hub.FindPullRequest(ctx, repo, hubclient.PullRequestQuery{Author: me.Name,
		Marker: proposalMarker(pp.action, baseSHA), Closed: true})
	if err != nil {
		return "", false, fmt.Errorf("look for a proposal in %s: %w", repo, err)
	}
	if pr != nil {
		return pp.hub.DiscussionURL(repo, pr.Num), true, nil
	}
	return "", false, nil
}

// Hub writes. Each passes its text through the loop guard; in dry-run they
// only go to the job log.

func (p *publisher) postComment(ctx context.Context, repo hubclient.Repo, num int, body string, log *jobs.Log) (string, error) {
	body = p.safe(body)
	if p.dryRun {
		p.dryLog(log, "would comment on %s#%d:\n%s", repo, num, body)
		return "", nil
	}
	ev, err := p.hub.Comment(ctx, repo, num, body)
	if hubclient.IsAmbiguous(err) {
		// Do not post twice: the next attempt finds the comment by its marker.
		return "", jobs.Temporary(err)
	}
	if err != nil {
		return "", fmt.Errorf("comment on %s#%d: %w", repo, num, err)
	}
	return ev.ID, nil
}

func (p *publisher) editComment(ctx context.Context, repo hubclient.Repo, num int, id, body string, log *jobs.Log) error {
	body = p.safe(body)
	if p.dryRun {
		p.dryLog(log, "would edit comment %s on %s#%d:\n%s", id, repo, num, body)
		return nil
	}
	if _, err := p.hub.EditComment(ctx, repo, num, id, body); err != nil {
		return fmt.Errorf("edit comment %s on %s#%d: %w", id, repo, num, err)
	}
	return nil
}

func (p *publisher) openDiscussion(ctx context.Context, repo hubclient.Repo, title, body string, log *jobs.Log) (int, string, error) {
	title, body = p.safe(title), p.safe(body)
	if p.dryRun {
		p.dryLog(log, "would open a discussion %q on %s:\n%s", title, repo, body)
		return 0, "", nil
	}
	num, err := p.hub.CreateDiscussion(ctx, repo, title, body)
	if hubclient.IsAmbiguous(err) {
		return 0, "", jobs.Temporary(err)
	}
	if err != nil {
		return 0, "", fmt.Errorf("open a discussion on %s: %w", repo, err)
	}
	d, err := p.hub.GetDiscussion(ctx, repo, num)
	if err != nil {
		return 0, "", fmt.Errorf("read the new discussion %s#%d: %w", repo, num, err)
	}
	desc := d.Description()
	if desc == nil {
		return 0, "", errors.New("the new discussion has no description comment")
	}
	return num, desc.ID, nil
}

func (p *publisher) setStatus(ctx context.Context, repo hubclient.Repo, num int, status, comment string, log *jobs.Log) error {
	comment = p.safe(comment)
	if p.dryRun {
		p.dryLog(log, "would set %s#%d %s", repo, num, status)
		return nil
	}
	if _, err := p.hub.ChangeDiscussionStatus(ctx, repo, num, status, comment); err != nil {
		return fmt.Errorf("set %s#%d %s: %w", repo, num, status, err)
	}
	return nil
}

func (p *publisher) dryLog(log *jobs.Log, format string, args ...any) {
	if log != nil {
		log.Printf("dry-run: "+format, args...)
		return
	}
	p.log.Info(fmt.Sprintf("dry-run: "+format, args...))
}
