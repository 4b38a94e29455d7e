package bot

// Publishing results on the Hub: the sticky comment of a pull request, the
// report discussion of a branch, and pull requests carrying proposed files.
// Every write goes through the helpers at the end, which record the write in
// the job log instead when the bot runs dry.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/report"
	"github.com/hubbot/hubbot/hubclient"
)

// reportQueued shows a job's current state on the Hub right after it is
// queued (and after a failure the run itself could not report).
func (b *Bot) reportQueued(ctx context.Context, job *jobs.Job) error {
	log := b.log.With("job_id", job.ID)
	if strings.HasPrefix(job.Spec.Ref, "refs/pr/") {
		return b.publishSticky(ctx, job, nil)
	}
	if jobs.Terminal(job.State) {
		return b.publishBranch(ctx, job, jobs.Outcome{State: job.State, Conclusion: job.Conclusion, Summary: job.Summary,
			Details: job.Details}, nil)
	}
	log.Debug("branch reports show results only")
	return nil
}

// withLock runs fn while holding a lease on key, so that two workers never
// edit the same report at once.
func (b *Bot) withLock(ctx context.Context, key string, fn func() error) error {
	owner := -rand.Int64N(1 << 62) // negative: never a job id
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := b.queue.Lock(ctx, key, owner, 2*time.Minute)
		if err != nil {
			return err
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is busy", key)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer b.queue.Unlock(context.WithoutCancel(ctx), key, owner)
	return fn()
}

func (b *Bot) reportLockKey(s jobs.Spec) string {
	return fmt.Sprintf("report:%s:%s:%d:%s", s.Repo, s.Ref, s.Discussion, s.Action)
}

// publishSticky shows, in the pull request's sticky comment for the action,
// the state of the newest job for that pull request and action.
func (b *Bot) publishSticky(ctx context.Context, job *jobs.Job, log *jobs.Log) error {
	s := job.Spec
	if !strings.HasPrefix(s.Ref, "refs/pr/") || s.Discussion == 0 {
		return nil
	}
	return b.withLock(ctx, b.reportLockKey(s), func() error {
		latest, err := b.queue.LatestJob(ctx, s)
		if err != nil {
			return err
		}
		if latest.ID == job.ID && job.State != "" {
			latest = job // the caller's copy may be newer than the stored row
		}
		body := report.Render(report.Marker(s.Action), b.reportOf(latest))
		loc, err := b.queue.ReportLocation(ctx, s)
		if err != nil {
			return err
		}
		if loc == nil {
			if loc, err = b.findSticky(ctx, s); err != nil {
				return err
			}
		}
		if loc != nil {
			err := b.editComment(ctx, s.Repo, loc.Discussion, loc.CommentID, body, log)
			if err == nil {
				return nil
			}
			if !hubclient.IsNotFound(err) {
				return err
			}
			// The comment is gone (hidden or deleted): post a new one.
		}
		id, err := b.postComment(ctx, s.Repo, s.Discussion, body, log)
		if err != nil || id == "" {
			return err
		}
		return b.queue.SaveReportLocation(ctx, s, jobs.ReportLocation{Discussion: s.Discussion, CommentID: id})
	})
}

// publishStickyFinal is publishSticky for a job's end.
func (b *Bot) publishStickyFinal(ctx context.Context, job *jobs.Job, log *jobs.Log) error {
	return b.publishSticky(ctx, job, log)
}

// findSticky looks for the bot's sticky comment in the pull request, for
// when the store lost track of it.
func (b *Bot) findSticky(ctx context.Context, s jobs.Spec) (*jobs.ReportLocation, error) {
	if b.dryRun {
		return nil, nil
	}
	me, err := b.me(ctx)
	if err != nil {
		return nil, err
	}
	d, err := b.hub.GetDiscussion(ctx, s.Repo, s.Discussion)
	if err != nil {
		return nil, err
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
func (b *Bot) reportOf(job *jobs.Job) report.Report {
	r := report.Report{Action: job.Spec.Action, Ref: job.Spec.Ref, SHA: job.Spec.SHA, State: stateOf(job),
		Summary: job.Summary, Details: job.Details, Updated: time.Now(), Prefix: b.cfg.Commands.Prefix}
	if b.cfg.Server.PublicURL != "" {
		r.LogURL = fmt.Sprintf("%s/jobs/%d", strings.TrimRight(b.cfg.Server.PublicURL, "/"), job.ID)
	}
	if job.State == jobs.StateQueued && job.Summary == "" {
		r.Summary = "queued"
	}
	return r
}

// reportPolicy says when a branch's report discussion is opened: "always"
// for custom commands (their output is the point), "failure" for checks
// that only need attention when something is wrong.
func (b *Bot) reportPolicy(action string) string {
	if a := b.cfg.Action(action); a != nil && a.Uses == "run" {
		return "always"
	}
	return "failure"
}

// publishBranch keeps one discussion per repo, action and branch: opened
// when there is something to say, edited only when the findings change,
// closed when the result is clean and reopened when it breaks again.
func (b *Bot) publishBranch(ctx context.Context, job *jobs.Job, out jobs.Outcome, log *jobs.Log) error {
	s := job.Spec
	if out.State == jobs.StateSkipped || out.State == jobs.StateCancelled {
		return nil
	}
	if out.Fingerprint == "" {
		out.Fingerprint = outcomeOf(actions.Result{Conclusion: actions.Conclusion(out.Conclusion), Summary: out.Summary, Details: out.Details}).Fingerprint
	}
	failing := out.State == jobs.StateFailed
	return b.withLock(ctx, b.reportLockKey(s), func() error {
		loc, err := b.queue.ReportLocation(ctx, s)
		if err != nil {
			return err
		}
		if loc == nil {
			if loc, err = b.findBranchDiscussion(ctx, s); err != nil {
				return err
			}
		}
		shown := *job
		shown.State, shown.Conclusion, shown.Summary, shown.Details = out.State, out.Conclusion, out.Summary, out.Details
		body := report.Render(report.BranchMarker(s.Action, s.Ref), b.reportOf(&shown))
		if loc == nil {
			if !failing && b.reportPolicy(s.Action) != "always" {
				return nil // a clean result needs no discussion
			}
			num, commentID, err := b.openDiscussion(ctx, s.Repo, report.Title(s.Action, s.Ref), body, log)
			if err != nil || num == 0 {
				return err
			}
			loc = &jobs.ReportLocation{Discussion: num, CommentID: commentID, Status: hubclient.StatusOpen, Fingerprint: out.Fingerprint}
			if !failing {
				if err := b.setStatus(ctx, s.Repo, num, hubclient.StatusClosed, "", log); err != nil {
					return err
				}
				loc.Status = hubclient.StatusClosed
			}
			return b.queue.SaveReportLocation(ctx, s, *loc)
		}
		if loc.Fingerprint != out.Fingerprint {
			if err := b.editComment(ctx, s.Repo, loc.Discussion, loc.CommentID, body, log); err != nil {
				return err
			}
			loc.Fingerprint = out.Fingerprint
		}
		switch {
		case !failing && loc.Status != hubclient.StatusClosed:
			msg := fmt.Sprintf("Resolved in `%s`: %s", shortSHA(s.SHA), oneLine(out.Summary))
			if err := b.setStatus(ctx, s.Repo, loc.Discussion, hubclient.StatusClosed, report.Sanitize(msg, b.cfg.Commands.Prefix), log); err != nil {
				return err
			}
			loc.Status = hubclient.StatusClosed
		case failing && loc.Status == hubclient.StatusClosed:
			msg := fmt.Sprintf("Failing again in `%s`: %s", shortSHA(s.SHA), oneLine(out.Summary))
			if err := b.setStatus(ctx, s.Repo, loc.Discussion, hubclient.StatusOpen, report.Sanitize(msg, b.cfg.Commands.Prefix), log); err != nil {
				return err
			}
			loc.Status = hubclient.StatusOpen
		}
		return b.queue.SaveReportLocation(ctx, s, *loc)
	})
}

// findBranchDiscussion finds the bot's report discussion for an action and
// ref on the Hub, when the store does not know it.
func (b *Bot) findBranchDiscussion(ctx context.Context, s jobs.Spec) (*jobs.ReportLocation, error) {
	if b.dryRun {
		return nil, nil
	}
	me, err := b.me(ctx)
	if err != nil {
		return nil, err
	}
	list, err := b.hub.ListDiscussions(ctx, s.Repo, hubclient.ListDiscussionsOptions{Type: "discussion", Author: me.Name})
	if err != nil {
		return nil, err
	}
	title, marker := report.Title(s.Action, s.Ref), report.BranchMarker(s.Action, s.Ref)
	for _, d := range list {
		if d.IsPullRequest || d.Title != title || !strings.EqualFold(d.AuthorName(), me.Name) {
			continue
		}
		details, err := b.hub.GetDiscussion(ctx, s.Repo, d.Num)
		if err != nil {
			return nil, err
		}
		desc := details.Description()
		if desc == nil || !strings.HasPrefix(desc.Content(), marker) {
			continue
		}
		status := hubclient.StatusOpen
		if d.Status == hubclient.StatusClosed {
			status = hubclient.StatusClosed
		}
		return &jobs.ReportLocation{Discussion: d.Num, CommentID: desc.ID, Status: status}, nil
	}
	return nil, nil
}

// publishProposal opens one pull request with every file of the proposal,
// unless the bot already proposed for this revision. It never retries a
// commit blindly: when the outcome is unknown it looks for the pull request
// first. It returns a note for the report.
func (b *Bot) publishProposal(ctx context.Context, job *jobs.Job, p *actions.Proposal, log *jobs.Log) (string, error) {
	s := job.Spec
	branch, ok := strings.CutPrefix(s.Ref, "refs/heads/")
	if !ok {
		return "(Files are only proposed for branches, not for " + s.Ref + ".)", nil
	}
	prior := &priorProposals{b: b, action: s.Action}
	if url, found, err := prior.find(ctx, s.Repo, s.SHA); err != nil {
		return "", jobs.Temporary(err)
	} else if found {
		log.Printf("already proposed: %s", url)
		return fmt.Sprintf("(Already proposed in %s.)", url), nil
	}
	files := make([]hubclient.CommitFile, 0, len(p.Files))
	for _, f := range p.Files {
		files = append(files, hubclient.CommitFile{PathInRepo: f.PathInRepo, LocalPath: f.LocalPath})
	}
	if b.dryRun {
		names := make([]string, 0, len(files))
		for _, f := range files {
			names = append(names, f.PathInRepo)
		}
		log.Printf("dry-run: would open a pull request %q on %s with %s", p.Title, branch, strings.Join(names, ", "))
		return "(Dry-run: the pull request was not opened.)", nil
	}
	desc := strings.TrimSpace(p.Description) + "\n\n" + proposalMarker(s.Action, s.SHA)
	log.Printf("opening a pull request with %d files", len(files))
	res, err := b.hub.CreateCommit(ctx, s.Repo, hubclient.CommitRequest{Revision: branch, CreatePR: true, ParentCommit: s.SHA,
		Summary: p.Title, Description: report.Sanitize(desc, b.cfg.Commands.Prefix), Files: files})
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
	if err := b.queue.RecordBotCommit(ctx, s.Repo.String(), res.CommitOID); err != nil {
		log.Printf("could not remember commit %s: %v", res.CommitOID, err)
	}
	url := b.hub.DiscussionURL(s.Repo, res.PullRequestNum)
	log.Printf("opened pull request #%d (%s)", res.PullRequestNum, url)
	return fmt.Sprintf("Opened pull request [#%d](%s).", res.PullRequestNum, url), nil
}

func proposalMarker(action, sha string) string {
	return fmt.Sprintf("<!-- hubbot:proposal:%s:%s -->", action, sha)
}

// priorProposals finds a pull request the bot already opened for an action
// on a revision, open or closed: a closed one counts, so that declining a
// proposal is not answered by the same proposal again.
type priorProposals struct {
	b      *Bot
	action string
}

// FindProposal implements safetensors.PriorProposals.
func (p *priorProposals) FindProposal(ctx context.Context, repo actions.Repo, baseSHA string) (string, bool, error) {
	t, err := hubclient.ParseRepoType(repo.Type)
	if err != nil {
		return "", false, err
	}
	return p.find(ctx, hubclient.Repo{Type: t, ID: repo.ID}, baseSHA)
}

func (p *priorProposals) find(ctx context.Context, repo hubclient.Repo, baseSHA string) (string, bool, error) {
	b := p.b
	if b.dryRun && !b.hub.HasToken() {
		return "", false, nil
	}
	me, err := b.me(ctx)
	if err != nil {
		return "", false, err
	}
	if me.Name == "" {
		return "", false, nil
	}
	pr, err := b.hub.FindPullRequest(ctx, repo, hubclient.PullRequestQuery{Author: me.Name, Marker: proposalMarker(p.action, baseSHA), Closed: true})
	if err != nil {
		return "", false, err
	}
	if pr != nil {
		return b.hub.DiscussionURL(repo, pr.Num), true, nil
	}
	return "", false, nil
}

// Hub writes. In dry-run they only go to the job log.

func (b *Bot) postComment(ctx context.Context, repo hubclient.Repo, num int, body string, log *jobs.Log) (string, error) {
	if b.dryRun {
		dryLog(log, b, "would comment on %s#%d:\n%s", repo, num, body)
		return "", nil
	}
	ev, err := b.hub.Comment(ctx, repo, num, body)
	if hubclient.IsAmbiguous(err) {
		// Do not post twice: the next attempt finds the comment by its marker.
		return "", jobs.Temporary(err)
	}
	if err != nil {
		return "", err
	}
	return ev.ID, nil
}

func (b *Bot) editComment(ctx context.Context, repo hubclient.Repo, num int, id, body string, log *jobs.Log) error {
	if b.dryRun {
		dryLog(log, b, "would edit comment %s on %s#%d:\n%s", id, repo, num, body)
		return nil
	}
	_, err := b.hub.EditComment(ctx, repo, num, id, body)
	return err
}

func (b *Bot) openDiscussion(ctx context.Context, repo hubclient.Repo, title, body string, log *jobs.Log) (int, string, error) {
	if b.dryRun {
		dryLog(log, b, "would open a discussion %q on %s:\n%s", title, repo, body)
		return 0, "", nil
	}
	num, err := b.hub.CreateDiscussion(ctx, repo, title, body)
	if err != nil {
		if hubclient.IsAmbiguous(err) {
			return 0, "", jobs.Temporary(err)
		}
		return 0, "", err
	}
	d, err := b.hub.GetDiscussion(ctx, repo, num)
	if err != nil {
		return 0, "", err
	}
	desc := d.Description()
	if desc == nil {
		return 0, "", errors.New("the new discussion has no description comment")
	}
	return num, desc.ID, nil
}

func (b *Bot) setStatus(ctx context.Context, repo hubclient.Repo, num int, status, comment string, log *jobs.Log) error {
	if b.dryRun {
		dryLog(log, b, "would set %s#%d %s", repo, num, status)
		return nil
	}
	_, err := b.hub.ChangeDiscussionStatus(ctx, repo, num, status, comment)
	return err
}

func dryLog(log *jobs.Log, b *Bot, format string, args ...any) {
	if log != nil {
		log.Printf("dry-run: "+format, args...)
		return
	}
	b.log.Info(fmt.Sprintf("dry-run: "+format, args...))
}
