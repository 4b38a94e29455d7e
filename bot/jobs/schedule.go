package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// scheduleArgs is the River job a schedule fires.
type scheduleArgs struct {
	Index  int      `json:"index"` // of the [[schedules]] entry
	Action string   `json:"action"`
	Repos  []string `json:"repos"`
}

func (scheduleArgs) Kind() string { return "hubbot_schedule" }

// Schedule is one configured schedule: when, which action, which repos.
type Schedule struct {
	Index  int
	When   river.PeriodicSchedule // robfig/cron schedules satisfy it
	Action string
	Repos  []string
}

// PeriodicJobs turns schedules into River periodic jobs. River runs periodic
// jobs on its elected leader only, so with several replicas a schedule fires
// once.
func PeriodicJobs(schedules []*Schedule) []*river.PeriodicJob {
	var out []*river.PeriodicJob
	for _, s := range schedules {
		args := scheduleArgs{Index: s.Index, Action: s.Action, Repos: s.Repos}
		out = append(out, river.NewPeriodicJob(s.When, func() (river.JobArgs, *river.InsertOpts) {
			return args, &river.InsertOpts{Queue: queueReports, MaxAttempts: 3}
		}, &river.PeriodicJobOpts{ID: fmt.Sprintf("schedule-%d-%s", s.Index, s.Action)}))
	}
	return out
}

type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	q *Queue
}

func (w *scheduleWorker) Timeout(*river.Job[scheduleArgs]) time.Duration { return 5 * time.Minute }

// Work asks the bot which revisions the schedule covers and queues the runs.
func (w *scheduleWorker) Work(ctx context.Context, rj *river.Job[scheduleArgs]) error {
	h := w.q.opts.Handlers.Schedule
	if h == nil {
		return nil
	}
	if rj.Attempt == 1 {
		first, err := w.q.claimTick(ctx, rj.Args, rj.ScheduledAt, rj.ID)
		if err != nil {
			return err
		}
		if !first {
			w.q.log.Info("schedule: this tick already fired on another replica", "schedule", rj.Args.Index,
				"action", rj.Args.Action, "tick", rj.ScheduledAt.UTC())
			return nil
		}
	}
	specs, err := h(ctx, rj.Args.Action, rj.Args.Repos)
	if err != nil {
		return err
	}
	// A schedule re-checks even an unchanged revision; only work still
	// queued or running is not queued twice.
	for _, s := range specs {
		if _, _, err := w.q.EnqueueAgain(ctx, fmt.Sprintf("schedule:%d", rj.Args.Index), s); err != nil {
			return err
		}
	}
	return nil
}

// claimTick records that the River job id fires a schedule's tick, and
// reports whether it is the first to. River fires schedules on its elected
// leader only, but while leadership moves (a leader that stalled past its
// term and has not noticed yet) the old and the new leader may both fire
// the same tick; River stamps each job with its tick (its first
// scheduled_at), so the second one finds the claim and does nothing. A
// claim is a row of hubbot_locks kept for the dedupe window; a retry of the
// same job finds its own claim.
func (q *Queue) claimTick(ctx context.Context, args scheduleArgs, tick time.Time, riverID int64) (bool, error) {
	key := fmt.Sprintf("tick:schedule:%d:%s:%d", args.Index, args.Action, tick.UnixMilli())
	n, err := q.db.exec(ctx, `INSERT INTO hubbot_locks (key, job_id, holder, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO UPDATE SET holder = excluded.holder WHERE hubbot_locks.job_id = excluded.job_id`,
		key, riverID, q.river.ID(), tick.Add(dedupeWindow).UnixMilli())
	if err != nil {
		return false, fmt.Errorf("claim the schedule's tick: %w", err)
	}
	return n > 0, nil
}
