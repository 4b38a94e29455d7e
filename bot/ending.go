package bot

// Every job ends visibly. runJob reports the ends it decides itself (a
// result, a skip, a timeout); runVisibly reports the others, which would
// otherwise leave a pull request's sticky comment at "queued" or "running"
// for ever: a cancellation, a newer push, a shutdown beyond the grace
// period, attempts used up, an error no attempt can fix and a panic.

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/hubclient"
)

// runVisibly runs a run job and makes sure its report ends in a final state
// with the reason, whatever ends it.
func (b *Bot) runVisibly(ctx context.Context, job *jobs.Job, log *jobs.Log) (out jobs.Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			// The stack goes to the log only: it may name paths of the host.
			log.Printf("panic: %v\n%s", r, debug.Stack())
			out, err = b.conclude(ctx, job, "", log, jobs.Outcome{State: jobs.StateFailed, Conclusion: "error",
				Summary: fmt.Sprintf("%s crashed (panic: %s); this is a bug in hubbot, the full log has the stack", job.Spec.Action, oneLine(fmt.Sprint(r)))})
		}
	}()
	out, err = b.runJob(ctx, job, log)
	if err == nil {
		return out, nil
	}
	return b.ended(ctx, job, log, err)
}

// ended decides what a job's error means and reports it when the job ends
// here. It returns the error unchanged when the job runs again (a temporary
// error with attempts left, a shutdown), after showing why on the report.
func (b *Bot) ended(ctx context.Context, job *jobs.Job, log *jobs.Log, err error) (jobs.Outcome, error) {
	bg := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		fresh, ferr := b.queue.Job(bg, job.ID)
		switch {
		case ferr == nil && fresh.SupersededBy != 0:
			log.Printf("superseded by job %d", fresh.SupersededBy)
			// The report shows the newest job, which supersedes this one.
			return b.conclude(bg, job, "", log, skippedOutcome("superseded", "superseded by a newer push"))
		case b.draining.Load():
			log.Printf("interrupted by shutdown; it runs again after the restart")
			shown := *job // the stored job stays queued, to run again
			if perr := b.pub.final(bg, &shown, jobs.Outcome{State: jobs.StateCancelled, Conclusion: "interrupted",
				Summary: "interrupted: hubbot shut down before it finished; it runs again when hubbot restarts"}, "", log); perr != nil {
				log.Printf("could not show the interruption: %v", perr)
			}
			return jobs.Outcome{}, err
		default:
			log.Printf("cancelled")
			return b.conclude(bg, job, "", log, jobs.Outcome{State: jobs.StateCancelled, Conclusion: "cancelled",
				Summary: "cancelled by a command"})
		}
	}
	var temp *jobs.TemporaryError
	if errors.As(err, &temp) {
		if job.Attempt < b.maxAttempts() {
			return jobs.Outcome{}, err // the queue tries again later
		}
		log.Printf("giving up after %d attempts: %v", job.Attempt, err)
		return b.conclude(bg, job, "", log, jobs.Outcome{State: jobs.StateFailed, Conclusion: "error",
			Summary: fmt.Sprintf("gave up after %d attempts: %s", job.Attempt, oneLine(err.Error()))})
	}
	log.Printf("error: %v", err)
	return b.conclude(bg, job, "", log, jobs.Outcome{State: jobs.StateFailed, Conclusion: "error", Summary: oneLine(err.Error())})
}

// maxAttempts is how many attempts a run job gets before the bot reports it
// as failed. It is the queue's own limit, so the bot always gives up first
// and reports why; tests lower it.
func (b *Bot) maxAttempts() int {
	if b.attempts > 0 {
		return b.attempts
	}
	return jobs.MaxAttempts
}

// showCancelled updates the sticky comments of a pull request's jobs that a
// command cancelled while they were queued: they never run, so nothing else
// would. Running ones report their cancellation themselves.
func (b *Bot) showCancelled(ctx context.Context, r hubclient.Repo, ref string, only []string) {
	if !refs.IsPR(ref) {
		return // branch reports show results only
	}
	for _, a := range b.cfg.Actions {
		if len(only) > 0 && !slices.Contains(only, a.Name) {
			continue
		}
		s := jobs.Spec{Kind: jobs.KindRun, Action: a.Name, Repo: r, Ref: ref, Discussion: refs.PRNum(ref)}
		latest, err := b.queue.LatestJob(ctx, s)
		if err != nil || latest.State != jobs.StateCancelled {
			continue // no job, or one still running that reports itself
		}
		if err := b.pub.sticky(ctx, latest, "", nil); err != nil {
			b.log.Warn("show a cancelled job", "job_id", latest.ID, "error", err)
		}
	}
}
