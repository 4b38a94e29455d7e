package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// runArgs is the River job of any hubbot job.
type runArgs struct {
	JobID int64 `json:"job_id"`
}

func (runArgs) Kind() string { return "hubbot_job" }

// reportArgs asks for a job's state to be shown on the Hub.
type reportArgs struct {
	JobID int64 `json:"job_id"`
}

func (reportArgs) Kind() string { return "hubbot_report" }

// TemporaryError marks an error worth retrying later (the Hub answered 5xx
// or 429, the network failed). Handlers wrap such errors with Temporary.
type TemporaryError struct{ Err error }

func (e *TemporaryError) Error() string { return e.Err.Error() }
func (e *TemporaryError) Unwrap() error { return e.Err }

// Temporary marks err as worth retrying.
func Temporary(err error) error {
	if err == nil {
		return nil
	}
	return &TemporaryError{Err: err}
}

// lockBusyRetry is how soon a job waiting for its repo and ref runs again.
const lockBusyRetry = time.Second

type runWorker struct {
	river.WorkerDefaults[runArgs]
	q *Queue
}

// Timeout disables River's timeout: each job has its own, set by its handler.
func (w *runWorker) Timeout(*river.Job[runArgs]) time.Duration { return -1 }

func (w *runWorker) Work(ctx context.Context, rj *river.Job[runArgs]) error {
	q := w.q
	job, err := q.Job(ctx, rj.Args.JobID)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted: nothing to do
	}
	if err != nil {
		return err
	}
	if Terminal(job.State) {
		return nil
	}
	if job.SupersededBy != 0 {
		return q.finish(ctx, job, Outcome{State: StateSkipped, Conclusion: "superseded", Summary: "superseded by a newer push"}, nil)
	}
	var handler func(context.Context, *Job, *Log) (Outcome, error)
	switch job.Spec.Kind {
	case KindRun:
		handler = q.opts.Handlers.Run
	case KindCommand:
		handler = q.opts.Handlers.Command
	case KindReply:
		handler = q.opts.Handlers.Reply
	}
	if handler == nil {
		return q.finish(ctx, job, Outcome{State: StateFailed, Summary: fmt.Sprintf("no handler for %s jobs", job.Spec.Kind)}, nil)
	}
	got, err := q.start(ctx, job)
	if err != nil {
		return err
	}
	if !got {
		// Another job of the same repo and ref runs, or this very job still
		// runs on a live replica (River rescued it early).
		return river.JobSnooze(lockBusyRetry)
	}
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	job.stopLease = q.keepLease(jctx, job, cancel)
	defer func() {
		job.stopLease()
		if job.lock != "" { // every end releases it; this is for the unexpected ones
			q.unlock(context.WithoutCancel(ctx), job.lock, job.ID)
		}
	}()
	q.observe(job.Spec.Action, StateQueued, StateRunning)

	log := newLog(job.ID, q.log.With("delivery", job.DeliveryKey, "repo", job.Spec.Repo.String(), "action", job.Spec.Action))
	log.restore(job.Log) // earlier attempts
	q.runningMu.Lock()
	q.running[job.ID] = log
	q.cancels[rj.ID] = cancel
	q.runningMu.Unlock()
	defer func() {
		q.runningMu.Lock()
		delete(q.running, job.ID)
		delete(q.cancels, rj.ID)
		q.runningMu.Unlock()
	}()
	if job.Attempt > 1 {
		log.Printf("attempt %d", job.Attempt)
	}

	outcome, herr := safeCall(jctx, handler, job, log)
	if herr == nil {
		return q.finish(context.WithoutCancel(ctx), job, outcome, log)
	}

	bg := context.WithoutCancel(ctx)
	if jctx.Err() != nil && errors.Is(herr, context.Canceled) || errors.Is(jctx.Err(), context.Canceled) {
		fresh, err := q.Job(bg, job.ID)
		switch {
		case err == nil && fresh.SupersededBy != 0:
			log.Printf("superseded by job %d", fresh.SupersededBy)
			return q.finish(bg, job, Outcome{State: StateSkipped, Conclusion: "superseded", Summary: "superseded by a newer push"}, log)
		case q.shuttingDown():
			log.Printf("interrupted by shutdown; it runs again after the restart")
			q.requeue(bg, job, log)
			return herr // River keeps it for a retry
		default:
			log.Printf("cancelled")
			return q.finishCancel(bg, job, log, herr)
		}
	}
	var temp *TemporaryError
	if errors.As(herr, &temp) && rj.Attempt < rj.MaxAttempts {
		log.Printf("temporary error, will retry: %v", herr)
		q.requeue(bg, job, log)
		return herr
	}
	log.Printf("error: %v", herr)
	return q.finish(bg, job, Outcome{State: StateFailed, Conclusion: "error", Summary: oneLineError(herr)}, log)
}

func (q *Queue) finishCancel(ctx context.Context, job *Job, log *Log, cause error) error {
	if err := q.finish(ctx, job, Outcome{State: StateCancelled, Conclusion: "cancelled", Summary: "cancelled"}, log); err != nil {
		return err
	}
	return river.JobCancel(cause)
}

// safeCall runs a handler, turning a panic into an error so one bad job
// cannot take the process down.
func safeCall(ctx context.Context, h func(context.Context, *Job, *Log) (Outcome, error), job *Job, log *Log) (out Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return h(ctx, job, log)
}

func (q *Queue) shuttingDown() bool {
	select {
	case <-q.shutdown:
		return true
	default:
		return false
	}
}

// start marks a job running, taking its lease (see lockKey), in one
// transaction. It reports false, changing nothing, when another attempt
// holds the lease.
func (q *Queue) start(ctx context.Context, job *Job) (bool, error) {
	tx, err := q.db.begin(ctx)
	if err != nil {
		return false, fmt.Errorf("start job %d: %w", job.ID, err)
	}
	defer tx.rollback(ctx)
	key := lockKey(job)
	got, err := q.lockTx(ctx, tx, key, job.ID, q.leaseTTL())
	if err != nil || !got {
		return false, err
	}
	// A job whose state is running here was left by a replica that died:
	// its lease expired, or it would not be ours.
	if _, err := tx.exec(ctx, `UPDATE hubbot_jobs SET state = $1, attempt = attempt + 1, started_at = $2 WHERE id = $3`,
		string(StateRunning), q.now().UnixMilli(), job.ID); err != nil {
		return false, fmt.Errorf("start job %d: %w", job.ID, err)
	}
	if err := tx.commit(ctx); err != nil {
		return false, fmt.Errorf("start job %d: %w", job.ID, err)
	}
	job.lock, job.State = key, StateRunning
	job.Attempt++
	return true, nil
}

// keepLease renews a running job's lease until the returned function is
// called. If the lease was lost (this replica could not reach the database
// for longer than the lease), the job is cancelled: another replica may
// have taken it over.
func (q *Queue) keepLease(ctx context.Context, job *Job, cancel context.CancelFunc) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	key, id := job.lock, job.ID
	go func() {
		defer close(stopped)
		t := time.NewTicker(q.leaseTTL() / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			n, err := q.db.exec(ctx, `UPDATE hubbot_locks SET expires_at = $1 WHERE key = $2 AND job_id = $3 AND holder = $4`,
				q.now().Add(q.leaseTTL()).UnixMilli(), key, id, q.river.ID())
			switch {
			case err != nil:
				q.log.Warn("renew job lease", "job_id", id, "error", err)
			case n == 0:
				q.log.Error("lost the job's lease to another replica; stopping it here", "job_id", id)
				cancel()
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-stopped }) }
}

// leaseTTL is how long a job's lease lasts without renewal: on Postgres,
// the bound on taking over a dead replica's job; the embedded store drops
// every lease at start and only needs to outlive a long job's renewals.
func (q *Queue) leaseTTL() time.Duration {
	if q.b.postgres() {
		return q.opts.RescueAfter
	}
	return 2 * time.Hour
}

// requeue records that a job goes back to the queue for another attempt.
func (q *Queue) requeue(ctx context.Context, job *Job, log *Log) {
	err := q.endTx(ctx, job, `UPDATE hubbot_jobs SET state = $1, log = $2 WHERE id = $3`, string(StateQueued), storableText(log.String()), job.ID)
	if err != nil {
		q.log.Error("requeue job", "job_id", job.ID, "error", err)
	}
	q.observe(job.Spec.Action, StateRunning, StateQueued)
}

// finish records a job's end.
func (q *Queue) finish(ctx context.Context, job *Job, o Outcome, log *Log) error {
	if !Terminal(o.State) {
		o.State = StateFailed
	}
	logText := job.Log
	if log != nil {
		logText = log.String()
	}
	err := q.endTx(ctx, job, `UPDATE hubbot_jobs SET state = $1, conclusion = $2, summary = $3, details = $4,
		fingerprint = $5, finished_at = $6, log = $7 WHERE id = $8`,
		string(o.State), o.Conclusion, storableText(o.Summary), storableText(o.Details), o.Fingerprint, q.now().UnixMilli(),
		storableText(logText), job.ID)
	if err != nil {
		return fmt.Errorf("record end of job %d: %w", job.ID, err)
	}
	q.observe(job.Spec.Action, job.State, o.State)
	return nil
}

// endTx runs the statement that ends a job's attempt and releases its lock,
// in one transaction.
func (q *Queue) endTx(ctx context.Context, job *Job, query string, args ...any) error {
	if job.stopLease != nil {
		job.stopLease() // before the lease goes, or the renewal would find it lost
	}
	tx, err := q.db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback(ctx)
	if _, err := tx.exec(ctx, query, args...); err != nil {
		return err
	}
	if job.lock != "" {
		if _, err := tx.exec(ctx, `DELETE FROM hubbot_locks WHERE key = $1 AND job_id = $2 AND holder = $3`, job.lock, job.ID, q.river.ID()); err != nil {
			return err
		}
	}
	if err := tx.commit(ctx); err != nil {
		return err
	}
	job.lock = ""
	return nil
}

type reportWorker struct {
	river.WorkerDefaults[reportArgs]
	q *Queue
}

func (w *reportWorker) Timeout(*river.Job[reportArgs]) time.Duration { return 2 * time.Minute }

func (w *reportWorker) Work(ctx context.Context, rj *river.Job[reportArgs]) error {
	if w.q.opts.Handlers.Report == nil {
		return nil
	}
	job, err := w.q.Job(ctx, rj.Args.JobID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return w.q.opts.Handlers.Report(ctx, job)
}

// cancelLocal cancels the context of a job running in this process.
func (q *Queue) cancelLocal(riverID int64) {
	q.runningMu.Lock()
	cancel := q.cancels[riverID]
	q.runningMu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// lockKey names a job's lease: run jobs of the same repo and ref share
// one, so that they never run at the same time; other jobs have their own,
// which keeps a job that River rescued from a live replica from running
// twice.
func lockKey(job *Job) string {
	if job.Spec.Kind == KindRun {
		return "ref:" + job.Spec.Repo.String() + ":" + job.Spec.Ref
	}
	return fmt.Sprintf("job:%d", job.ID)
}

// unlock releases a lease held by owner in this process.
func (q *Queue) unlock(ctx context.Context, key string, owner int64) {
	if _, err := q.db.exec(ctx, `DELETE FROM hubbot_locks WHERE key = $1 AND job_id = $2 AND holder = $3`, key, owner, q.river.ID()); err != nil {
		q.log.Warn("unlock", "key", key, "error", err)
	}
}

// lockTx takes a lease in tx, held by this process: a lease held by another
// owner, or by the same owner in another process (a job River rescued from
// a replica that may be alive), is taken over only once it expired.
func (q *Queue) lockTx(ctx context.Context, tx txn, key string, owner int64, ttl time.Duration) (bool, error) {
	now := q.now()
	_, err := tx.exec(ctx, `INSERT INTO hubbot_locks (key, job_id, holder, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, holder = excluded.holder, expires_at = excluded.expires_at
		WHERE hubbot_locks.expires_at < $5 OR (hubbot_locks.job_id = excluded.job_id AND hubbot_locks.holder = excluded.holder)`,
		key, owner, q.river.ID(), now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", key, err)
	}
	var holder int64
	var process string
	if err := tx.queryRow(ctx, `SELECT job_id, holder FROM hubbot_locks WHERE key = $1`, key).Scan(&holder, &process); err != nil {
		return false, fmt.Errorf("lock %s: %w", key, err)
	}
	return holder == owner && process == q.river.ID(), nil
}

func oneLineError(err error) string {
	s := err.Error()
	for i, c := range s {
		if c == '\n' {
			s = s[:i]
			break
		}
	}
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

// decodeSpec reads a stored spec.
func decodeSpec(s string) (Spec, error) {
	var spec Spec
	err := json.Unmarshal([]byte(s), &spec)
	return spec, err
}
