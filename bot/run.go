package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/bot/report"
	"github.com/hubbot/hubbot/git"
	"github.com/hubbot/hubbot/hubclient"
)

// runJob runs an action on a revision: it checks the revision is still the
// head of its ref, clones it, applies the path filter, runs the action with
// its timeout, publishes what it proposes, and reports the result.
func (b *Bot) runJob(ctx context.Context, job *jobs.Job, log *jobs.Log) (jobs.Outcome, error) {
	start := time.Now()
	s := job.Spec
	base := "" // the ref a pull request merges into
	cfgAction := b.cfg.Action(s.Action)
	action := b.actions[s.Action]
	if cfgAction == nil || action == nil {
		return b.conclude(ctx, job, base, log, jobs.Outcome{State: jobs.StateFailed, Conclusion: "error",
			Summary: fmt.Sprintf("action %q is not configured any more", s.Action)})
	}
	timeout := b.cfg.Workers.JobTimeout.D()
	if t := cfgAction.Timeout.D(); t > 0 && t < timeout {
		timeout = t
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	log.Printf("%s on %s %s at %s (trigger %s, timeout %s)", s.Action, s.Repo, s.Ref, shortSHA(s.SHA), s.Trigger, timeout)

	var pr *hubclient.DiscussionDetails
	if refs.IsPR(s.Ref) {
		var err error
		if pr, base, err = b.prBase(ctx, s); err != nil {
			return jobs.Outcome{}, jobs.Temporary(err)
		}
		log.Printf("the pull request merges into %s", base)
	}
	if out, done, err := b.stillCurrent(ctx, job, log); done || err != nil {
		if err != nil {
			return jobs.Outcome{}, err
		}
		return b.conclude(ctx, job, base, log, out)
	}
	if out, done, err := b.trust(ctx, s, pr, log); done || err != nil {
		if err != nil {
			return jobs.Outcome{}, err
		}
		return b.conclude(ctx, job, base, log, out)
	}
	if err := b.pub.sticky(ctx, job, base, log); err != nil {
		log.Printf("could not show the running state: %v", err)
	}

	co, err := b.workspaces.Checkout(ctx, git.CheckoutRequest{Repo: s.Repo, URL: b.hub.GitURL(s.Repo), Token: b.hub.Token(),
		Ref: s.Ref, SHA: s.SHA, JobID: fmt.Sprint(job.ID)})
	var notFound *git.SHANotFoundError
	if errors.As(err, &notFound) {
		return b.conclude(ctx, job, base, log, skippedOutcome("superseded", fmt.Sprintf("%s is no longer on %s", shortSHA(s.SHA), s.Ref)))
	}
	if err != nil {
		if ctx.Err() != nil {
			return b.interrupted(ctx, job, base, log, timeout, err)
		}
		return jobs.Outcome{}, jobs.Temporary(fmt.Errorf("clone %s at %s: %w", s.Repo, shortSHA(s.SHA), err))
	}
	defer co.Close()
	log.Printf("checked out %s at %s", s.Ref, shortSHA(s.SHA))

	changed, err := b.changedPaths(ctx, co, s, base)
	if err != nil {
		log.Printf("could not list changed paths (running anyway): %v", err)
		changed = nil
	}
	if len(cfgAction.Paths) > 0 && changed != nil && !git.MatchPaths(cfgAction.Paths, changed) {
		log.Printf("no changed path matches %v", cfgAction.Paths)
		return b.conclude(ctx, job, base, log, skippedOutcome("no-change", fmt.Sprintf("no changes to %s", strings.Join(cfgAction.Paths, ", "))))
	}

	ws := &actions.Workspace{Dir: co.Dir, Repo: actions.Repo{ID: s.Repo.ID, Type: string(repoType(s.Repo))},
		Ref: s.Ref, SHA: s.SHA, Changed: changed, Content: co.Content(b.hub)}
	result, err := action.Run(ctx, ws, log)
	if err != nil {
		if ctx.Err() != nil {
			return b.interrupted(ctx, job, base, log, timeout, err)
		}
		var he *hubclient.Error
		var te *hubclient.TransportError
		if errors.As(err, &he) && hubclient.IsAmbiguous(err) || hubclient.IsRateLimited(err) || errors.As(err, &te) {
			return jobs.Outcome{}, jobs.Temporary(err)
		}
		return b.conclude(ctx, job, base, log, jobs.Outcome{State: jobs.StateFailed, Conclusion: "error", Summary: oneLine(err.Error())})
	}
	log.Printf("%s: %s (%s)", s.Action, result.Conclusion, oneLine(result.Summary))

	if result.Proposal != nil && result.Conclusion == actions.Success {
		note, err := b.pub.proposal(ctx, job, result.Proposal, log)
		if err != nil {
			return jobs.Outcome{}, err
		}
		result.Summary = strings.TrimSpace(result.Summary + " " + note)
	}
	out := outcomeOf(result)
	b.metrics.jobDuration.WithLabelValues(s.Action, string(out.State)).Observe(time.Since(start).Seconds())
	return b.conclude(ctx, job, base, log, out)
}

// stillCurrent checks that the job's revision is what its ref points to now
// and was not committed by the bot itself. done means the job ends here.
func (b *Bot) stillCurrent(ctx context.Context, job *jobs.Job, log *jobs.Log) (jobs.Outcome, bool, error) {
	s := job.Spec
	if own, err := b.queue.IsBotCommit(ctx, s.Repo.String(), s.SHA); err == nil && own && s.Trigger == config.OnPullRequest {
		return skippedOutcome("own-commit", "commit made by hubbot"), true, nil
	}
	head, err := b.hub.RefSHA(ctx, s.Repo, s.Ref)
	switch {
	case hubclient.IsNotFound(err):
		return skippedOutcome("superseded", s.Ref+" no longer exists"), true, nil
	case err != nil:
		return jobs.Outcome{}, true, jobs.Temporary(fmt.Errorf("read the head of %s: %w", s.Ref, err))
	case head != s.SHA && s.Approval != "":
		log.Printf("%s moved on to %s after the approval of %s: not run", s.Ref, shortSHA(head), shortSHA(s.SHA))
		return skippedOutcome("superseded", fmt.Sprintf("not run: the approval was for `%s`, and `%s` has moved on to `%s` since; the new head needs its own approval",
			shortSHA(s.SHA), s.Ref, shortSHA(head))), true, nil
	case head != s.SHA:
		log.Printf("%s moved on to %s", s.Ref, shortSHA(head))
		return skippedOutcome("superseded", fmt.Sprintf("superseded: %s is now at %s", s.Ref, shortSHA(head))), true, nil
	}
	return jobs.Outcome{}, false, nil
}

// prBase reads the pull request of s and the ref it merges into, as the
// Hub says (discussion.changes.base); main when the Hub does not say.
func (b *Bot) prBase(ctx context.Context, s jobs.Spec) (*hubclient.DiscussionDetails, string, error) {
	d, err := b.hub.GetDiscussion(ctx, s.Repo, s.Discussion)
	if err != nil {
		return nil, "", fmt.Errorf("read the base of %s#%d: %w", s.Repo, s.Discussion, err)
	}
	if base := refs.Full(d.Changes.Base); base != "" {
		return d, base, nil
	}
	return d, refs.Main, nil
}

// changedPaths lists what the event changed: for a push, between the old
// and new commit; for a pull request, between the PR head and the head of
// base, the ref it merges into. Nil means unknown (a new ref, a schedule, a
// command): run everything.
func (b *Bot) changedPaths(ctx context.Context, co *git.Checkout, s jobs.Spec, base string) ([]string, error) {
	switch s.Trigger {
	case config.OnPush, config.OnTag:
		if s.OldSHA == "" {
			return nil, nil
		}
		return co.ChangedPaths(ctx, s.OldSHA, b.hub)
	case config.OnPullRequest:
		from := s.OldSHA
		if from == "" {
			// A new pull request: compare with the branch it targets.
			head, err := b.hub.RefSHA(ctx, s.Repo, base)
			if err != nil {
				return nil, fmt.Errorf("read the head of %s: %w", base, err)
			}
			from = head
		}
		return co.ChangedPaths(ctx, from, b.hub)
	}
	return nil, nil
}

// interrupted ends a job whose context is done: a timeout is a failure to
// report; a cancellation (superseded, shutdown) goes back to the queue,
// which knows why.
func (b *Bot) interrupted(ctx context.Context, job *jobs.Job, base string, log *jobs.Log, timeout time.Duration, err error) (jobs.Outcome, error) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		log.Printf("timed out after %s: %v", timeout, err)
		return b.conclude(ctx, job, base, log, jobs.Outcome{State: jobs.StateFailed, Conclusion: "timeout",
			Summary: fmt.Sprintf("timed out after %s", timeout)})
	}
	return jobs.Outcome{}, err
}

// conclude reports a job's end on the Hub and returns its outcome.
func (b *Bot) conclude(ctx context.Context, job *jobs.Job, base string, log *jobs.Log, out jobs.Outcome) (jobs.Outcome, error) {
	if err := b.pub.final(context.WithoutCancel(ctx), job, out, base, log); err != nil {
		return jobs.Outcome{}, jobs.Temporary(fmt.Errorf("post the report: %w", err))
	}
	return out, nil
}

func outcomeOf(r actions.Result) jobs.Outcome {
	out := jobs.Outcome{Conclusion: string(r.Conclusion), Summary: r.Summary, Details: r.Details, Fingerprint: r.Fingerprint}
	switch r.Conclusion {
	case actions.Success, actions.Neutral:
		out.State = jobs.StateSucceeded
	case actions.Skipped:
		out.State = jobs.StateSkipped
	default:
		out.State = jobs.StateFailed
	}
	if out.Fingerprint == "" {
		sum := sha256.Sum256([]byte(string(r.Conclusion) + "\x00" + r.Summary + "\x00" + r.Details))
		out.Fingerprint = hex.EncodeToString(sum[:12])
	}
	return out
}

func skippedOutcome(conclusion, summary string) jobs.Outcome {
	return jobs.Outcome{State: jobs.StateSkipped, Conclusion: conclusion, Summary: summary}
}

// stateOf maps a job to what its report shows.
func stateOf(job *jobs.Job) report.State {
	switch job.State {
	case jobs.StateQueued:
		return report.Queued
	case jobs.StateRunning:
		return report.Running
	case jobs.StateSkipped:
		if job.Conclusion == conclusionApproval {
			return report.Waiting
		}
		return report.Skipped
	case jobs.StateCancelled:
		return report.Cancelled
	case jobs.StateSucceeded:
		if job.Conclusion == string(actions.Neutral) {
			return report.Neutral
		}
		return report.Success
	}
	if job.Conclusion == "error" {
		return report.Errored
	}
	return report.Failure
}

func repoType(r hubclient.Repo) hubclient.RepoType {
	if r.Type == "" {
		return hubclient.Model
	}
	return r.Type
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
