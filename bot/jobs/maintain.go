package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// maintainArgs is a periodic housekeeping job. Periodic jobs run on River's
// elected leader only, so with several replicas each runs once per tick.
type maintainArgs struct {
	Task string `json:"task"` // "sweep" or "recover"
}

func (maintainArgs) Kind() string { return "hubbot_maintain" }

func (q *Queue) maintenanceJobs() []*river.PeriodicJob {
	periodic := func(task string, every time.Duration, onStart bool) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
			return maintainArgs{Task: task}, &river.InsertOpts{Queue: queueReports, MaxAttempts: 1}
		}, &river.PeriodicJobOpts{ID: "hubbot-" + task, RunOnStart: onStart})
	}
	out := []*river.PeriodicJob{periodic("sweep", q.opts.SweepEvery, false)}
	if q.opts.Recover != nil {
		out = append(out, periodic("recover", q.opts.RecoverEvery, true))
	}
	return out
}

type maintainWorker struct {
	river.WorkerDefaults[maintainArgs]
	q *Queue
}

func (w *maintainWorker) Timeout(*river.Job[maintainArgs]) time.Duration { return 10 * time.Minute }

func (w *maintainWorker) Work(ctx context.Context, rj *river.Job[maintainArgs]) error {
	switch rj.Args.Task {
	case "sweep":
		swept, err := w.q.Sweep(ctx)
		if err != nil {
			w.q.log.Warn("retention sweep", "error", err)
			return err
		}
		w.q.log.Info("retention sweep", "deliveries", swept.Deliveries, "jobs", swept.Jobs, "logs", swept.Logs)
	case "recover":
		if err := w.q.opts.Recover(ctx); err != nil {
			w.q.log.Warn("recovery scan", "error", err)
		}
	}
	return nil
}

// Swept counts what a retention sweep removed.
type Swept struct {
	Deliveries int64 // deliveries deleted
	Jobs       int64 // finished jobs deleted
	Logs       int64 // logs of kept jobs cleared
}

// Sweep deletes what is older than the retention period: deliveries, the
// logs of finished jobs, and finished jobs except each action's newest run
// on each ref (which recovery compares heads with), expired leases, old
// reply claims and bot commits. Nothing younger than the dedupe window goes,
// whatever the retention, so replays are still recognised. On SQLite it
// then checkpoints the write-ahead log, so the file stops growing.
func (q *Queue) Sweep(ctx context.Context) (Swept, error) {
	var s Swept
	now := q.now()
	cutoff := now.Add(-max(q.opts.Retention, dedupeWindow))
	ms := cutoff.UnixMilli()
	var err error
	if s.Deliveries, err = q.db.exec(ctx, `DELETE FROM hubbot_deliveries WHERE received_at < $1`, ms); err != nil {
		return s, fmt.Errorf("sweep deliveries: %w", err)
	}
	if s.Jobs, err = q.db.exec(ctx, `DELETE FROM hubbot_jobs WHERE finished_at > 0 AND finished_at < $1 AND created_at < $1
		AND id NOT IN (SELECT MAX(id) FROM hubbot_jobs WHERE kind = $2 GROUP BY repo, ref, action)`, ms, string(KindRun)); err != nil {
		return s, fmt.Errorf("sweep jobs: %w", err)
	}
	if s.Logs, err = q.db.exec(ctx, `UPDATE hubbot_jobs SET log = '', details = '' WHERE finished_at > 0 AND finished_at < $1
		AND (log <> '' OR details <> '')`, ms); err != nil {
		return s, fmt.Errorf("sweep job logs: %w", err)
	}
	for _, stmt := range []struct {
		what, query string
		arg         int64
	}{
		{"leases", `DELETE FROM hubbot_locks WHERE expires_at < $1`, now.UnixMilli()},
		{"reply claims", `DELETE FROM hubbot_replies WHERE claimed_at < $1 AND posted_at < $1`, cutoff.UnixNano()},
		{"bot commits", `DELETE FROM hubbot_bot_commits WHERE created_at < $1`, ms},
		{"approvals", `DELETE FROM hubbot_approvals WHERE created_at < $1`, ms},
	} {
		if _, err := q.db.exec(ctx, stmt.query, stmt.arg); err != nil {
			return s, fmt.Errorf("sweep %s: %w", stmt.what, err)
		}
	}
	if !q.b.postgres() {
		// TRUNCATE resets the log to empty once every reader is past it;
		// the pages freed by the deletes are reused by the next writes.
		if _, err := q.db.exec(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return s, fmt.Errorf("checkpoint the write-ahead log: %w", err)
		}
	}
	return s, nil
}
