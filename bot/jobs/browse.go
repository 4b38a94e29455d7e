package jobs

// Queries of the dashboard: jobs by ref, one delivery's body and jobs, the
// latest result of each action per branch and pull request, attempts,
// cancelling one job, and reading a log from an offset while it grows.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
)

// JobQuery selects jobs for the dashboard; empty fields match everything.
type JobQuery struct {
	Repo   string // "ns/name" as Repo.String() renders it
	Action string
	State  string
	Ref    string
	Before int64 // only jobs with a smaller id, for the next page; 0 for the newest
	Limit  int   // default and cap 100 (1000)
}

// FindJobs lists jobs, newest first, without their logs.
func (q *Queue) FindJobs(ctx context.Context, f JobQuery) ([]*Job, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Repo != "" {
		add("repo = $%d", f.Repo)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.State != "" {
		add("state = $%d", f.State)
	}
	if f.Ref != "" {
		add("ref = $%d", f.Ref)
	}
	if f.Before > 0 {
		add("id < $%d", f.Before)
	}
	query := `SELECT ` + strings.Replace(jobColumns, "log", "''", 1) + ` FROM hubbot_jobs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", min(f.Limit, 1000))
	list, err := q.queryJobs(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find jobs: %w", err)
	}
	return list, nil
}

func (q *Queue) queryJobs(ctx context.Context, query string, args ...any) ([]*Job, error) {
	rows, err := q.db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// LatestResults returns the newest run job of each action for each report
// target (branch, tag or pull request) of a repo, newest first.
func (q *Queue) LatestResults(ctx context.Context, repo string) ([]*Job, error) {
	list, err := q.queryJobs(ctx, `SELECT `+strings.Replace(jobColumns, "log", "''", 1)+` FROM hubbot_jobs
		WHERE id IN (SELECT MAX(id) FROM hubbot_jobs WHERE repo = $1 AND kind = $2 GROUP BY target, action)
		ORDER BY id DESC`, repo, string(KindRun))
	if err != nil {
		return nil, fmt.Errorf("latest results of %s: %w", repo, err)
	}
	return list, nil
}

// Delivery returns one recorded delivery and its body.
func (q *Queue) Delivery(ctx context.Context, id int64) (DeliveryRecord, []byte, error) {
	var d DeliveryRecord
	var at int64
	var body string
	err := q.db.queryRow(ctx, `SELECT id, key, scope, action, repo, outcome, reason, received_at, body
		FROM hubbot_deliveries WHERE id = $1`, id).Scan(&d.ID, &d.Key, &d.Scope, &d.Action, &d.Repo, &d.Outcome, &d.Reason, &at, &body)
	if err != nil {
		return d, nil, fmt.Errorf("read delivery %d: %w", id, err)
	}
	d.ReceivedAt = time.UnixMilli(at).UTC()
	return d, []byte(body), nil
}

// DeliveryJobs returns the ids of the jobs each delivery key created.
func (q *Queue) DeliveryJobs(ctx context.Context, keys []string) (map[string][]int64, error) {
	out := map[string][]int64{}
	if len(keys) == 0 {
		return out, nil
	}
	marks := make([]string, len(keys))
	args := make([]any, len(keys))
	for i, k := range keys {
		marks[i] = fmt.Sprintf("$%d", i+1)
		args[i] = k
	}
	rows, err := q.db.query(ctx, `SELECT delivery_key, id FROM hubbot_jobs WHERE delivery_key IN (`+
		strings.Join(marks, ", ")+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("jobs of deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			return nil, fmt.Errorf("jobs of deliveries: %w", err)
		}
		out[k] = append(out[k], id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs of deliveries: %w", err)
	}
	return out, nil
}

// Attempt is one try of a job that did not end it: River retried it after
// this error.
type Attempt struct {
	N     int       `json:"attempt"`
	At    time.Time `json:"at"`
	Error string    `json:"error"`
}

// Attempts returns the failed attempts River recorded for a job, oldest
// first; the job's own started and finished times describe the last one.
func (q *Queue) Attempts(ctx context.Context, id int64) ([]Attempt, error) {
	var riverID int64
	if err := q.db.queryRow(ctx, `SELECT river_id FROM hubbot_jobs WHERE id = $1`, id).Scan(&riverID); err != nil {
		return nil, fmt.Errorf("attempts of job %d: %w", id, err)
	}
	if riverID == 0 {
		return nil, nil
	}
	row, err := q.river.JobGet(ctx, riverID)
	if errors.Is(err, river.ErrNotFound) {
		return nil, nil // River's row was cleaned up; the job's own times remain
	}
	if err != nil {
		return nil, fmt.Errorf("attempts of job %d: %w", id, err)
	}
	out := make([]Attempt, 0, len(row.Errors))
	for _, e := range row.Errors {
		out = append(out, Attempt{N: e.Attempt, At: e.At.UTC(), Error: e.Error})
	}
	return out, nil
}

// ErrFinished is returned when cancelling a job that already ended.
var ErrFinished = errors.New("the job has already finished")

// CancelJob cancels one queued or running job. A running job stops at once
// in this process; its worker records it as cancelled.
func (q *Queue) CancelJob(ctx context.Context, id int64) error {
	var state State
	var action string
	var riverID int64
	err := q.db.queryRow(ctx, `SELECT state, action, river_id FROM hubbot_jobs WHERE id = $1`, id).Scan(&state, &action, &riverID)
	if err != nil {
		return fmt.Errorf("cancel job %d: %w", id, err)
	}
	switch state {
	case StateQueued:
		n, err := q.db.exec(ctx, `UPDATE hubbot_jobs SET state = $1, conclusion = 'cancelled', summary = 'cancelled by an operator',
			finished_at = $2 WHERE id = $3 AND state = $4`, StateCancelled, q.now().UnixMilli(), id, StateQueued)
		if err != nil {
			return fmt.Errorf("cancel job %d: %w", id, err)
		}
		if n == 0 {
			return q.CancelJob(ctx, id) // it started meanwhile
		}
		q.observe(action, StateQueued, StateCancelled)
		if riverID != 0 {
			if _, err := q.river.JobCancel(ctx, riverID); err != nil && !errors.Is(err, river.ErrNotFound) {
				return fmt.Errorf("cancel job %d: %w", id, err)
			}
		}
		return nil
	case StateRunning:
		q.cancelRiverJobs([]int64{riverID})
		return nil
	}
	return ErrFinished
}

// LogChunk is what a log gained since an offset.
type LogChunk struct {
	Text  string // the log from the offset on, or all of it when Reset
	Next  int    // the offset to ask from next time
	Reset bool   // the offset was not one of this log's: Text replaces what was shown
	State State  // the job's state now
}

// LogSince returns a job's log from offset on (see LogFrom), for following
// it while it runs.
func (q *Queue) LogSince(ctx context.Context, id int64, offset int) (LogChunk, error) {
	j, err := q.Job(ctx, id)
	if err != nil {
		return LogChunk{}, err
	}
	c := LogFrom(j.Log, offset)
	c.State = j.State
	return c, nil
}
