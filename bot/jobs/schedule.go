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
