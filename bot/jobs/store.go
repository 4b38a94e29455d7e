package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
)

const jobColumns = `id, delivery_key, spec, state, conclusion, summary, details, attempt, superseded_by, retry_of,
	created_at, started_at, finished_at, log`

func scanJob(row row) (*Job, error) {
	var j Job
	var spec, state string
	var created, started, finished int64
	if err := row.Scan(&j.ID, &j.DeliveryKey, &spec, &state, &j.Conclusion, &j.Summary, &j.Details, &j.Attempt,
		&j.SupersededBy, &j.RetryOf, &created, &started, &finished, &j.Log); err != nil {
		return nil, err
	}
	j.State = State(state)
	var err error
	if j.Spec, err = decodeSpec(spec); err != nil {
		return nil, fmt.Errorf("job %d: bad spec: %w", j.ID, err)
	}
	j.CreatedAt = time.UnixMilli(created).UTC()
	if started > 0 {
		j.StartedAt = time.UnixMilli(started).UTC()
	}
	if finished > 0 {
		j.FinishedAt = time.UnixMilli(finished).UTC()
	}
	return &j, nil
}

// Job returns a job with its log (the live log while it runs here), or an
// error wrapping ErrNotFound.
func (q *Queue) Job(ctx context.Context, id int64) (*Job, error) {
	j, err := scanJob(q.db.queryRow(ctx, `SELECT `+jobColumns+` FROM hubbot_jobs WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("read job %d: %w", id, err)
	}
	q.runningMu.Lock()
	live := q.running[id]
	q.runningMu.Unlock()
	if live != nil {
		j.Log = live.String()
	}
	return j, nil
}

// JobFilter selects jobs to list.
type JobFilter struct {
	Repo   string // "ns/name" as Repo.String() renders it
	State  State
	Action string
	Limit  int
}

// Jobs lists jobs, newest first, without their logs.
func (q *Queue) Jobs(ctx context.Context, f JobFilter) ([]*Job, error) {
	var where []string
	var args []any
	add := func(col, v string) {
		if v != "" {
			args = append(args, v)
			where = append(where, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	add("repo", f.Repo)
	add("state", string(f.State))
	add("action", f.Action)
	query := `SELECT ` + strings.Replace(jobColumns, "log", "''", 1) + ` FROM hubbot_jobs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit)
	var out []*Job
	rs, err := q.db.query(ctx, query, args...)
	err = scanAll(rs, err, func(r rows) error {
		j, err := scanJob(r)
		out = append(out, j)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}

// LatestJob returns the newest job of an action for the same report target
// (pull request, or branch or tag) as s, which is what its sticky report
// shows. The error wraps ErrNotFound when there is none.
func (q *Queue) LatestJob(ctx context.Context, s Spec) (*Job, error) {
	j, err := scanJob(q.db.queryRow(ctx, `SELECT `+jobColumns+` FROM hubbot_jobs
		WHERE repo = $1 AND target = $2 AND action = $3 AND kind = $4 ORDER BY id DESC LIMIT 1`,
		s.Repo.String(), targetKey(s), s.Action, string(KindRun)))
	if err != nil {
		return nil, fmt.Errorf("read latest %s job of %s: %w", s.Action, s.Repo, err)
	}
	return j, nil
}

// Deliveries lists recorded deliveries, newest first.
func (q *Queue) Deliveries(ctx context.Context, limit int) ([]DeliveryRecord, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []DeliveryRecord
	rs, err := q.db.query(ctx, fmt.Sprintf(`SELECT id, key, scope, action, repo, outcome, reason, received_at
		FROM hubbot_deliveries ORDER BY id DESC LIMIT %d`, limit))
	err = scanAll(rs, err, func(r rows) error {
		var d DeliveryRecord
		var at int64
		err := r.Scan(&d.ID, &d.Key, &d.Scope, &d.Action, &d.Repo, &d.Outcome, &d.Reason, &at)
		d.ReceivedAt = time.UnixMilli(at).UTC()
		out = append(out, d)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// ErrNotRetryable is returned for a job that is still queued or running.
var ErrNotRetryable = errors.New("the job has not finished")

// Retry queues a finished job's work again, as a new job, and returns its id.
func (q *Queue) Retry(ctx context.Context, id int64) (int64, error) {
	job, err := q.Job(ctx, id)
	if err != nil {
		return 0, err
	}
	if !Terminal(job.State) {
		return 0, ErrNotRetryable
	}
	spec := job.Spec
	spec.Trigger = TriggerRetry
	ids, err := q.enqueue(ctx, fmt.Sprintf("retry:%d", id), []Spec{spec}, false)
	if err != nil {
		return 0, err
	}
	if _, err := q.db.exec(ctx, `UPDATE hubbot_jobs SET retry_of = $1 WHERE id = $2`, id, ids[0]); err != nil {
		return 0, fmt.Errorf("retry job %d: %w", id, err)
	}
	return ids[0], nil
}

// RecordBotCommit remembers a commit the bot made, so the webhook it causes
// is not taken for someone else's push.
func (q *Queue) RecordBotCommit(ctx context.Context, repo, sha string) error {
	_, err := q.db.exec(ctx, `INSERT INTO hubbot_bot_commits (repo, sha, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (repo, sha) DO NOTHING`, repo, sha, q.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("record bot commit %s@%s: %w", repo, sha, err)
	}
	q.botCommits.Store(repo+"@"+sha, true)
	return nil
}

// IsBotCommit reports whether the bot made this commit. With the embedded
// store there is one process, which loaded every bot commit at start and
// adds its own: the answer comes from memory, without taking the database
// connection from the intake. Replicas ask the database for commits another
// replica made.
func (q *Queue) IsBotCommit(ctx context.Context, repo, sha string) (bool, error) {
	if _, ok := q.botCommits.Load(repo + "@" + sha); ok || !q.b.postgres() {
		return ok, nil
	}
	var n int
	err := q.db.queryRow(ctx, `SELECT COUNT(*) FROM hubbot_bot_commits WHERE repo = $1 AND sha = $2`, repo, sha).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up bot commit %s@%s: %w", repo, sha, err)
	}
	return n > 0, nil
}

// loadBotCommits fills the in-memory set of bot commits.
func (q *Queue) loadBotCommits(ctx context.Context) error {
	rs, err := q.db.query(ctx, `SELECT repo, sha FROM hubbot_bot_commits`)
	err = scanAll(rs, err, func(r rows) error {
		var repo, sha string
		err := r.Scan(&repo, &sha)
		q.botCommits.Store(repo+"@"+sha, true)
		return err
	})
	if err != nil {
		return fmt.Errorf("load bot commits: %w", err)
	}
	return nil
}

// Processed reports whether any job already ran, or waits to run, an action
// on this revision of a ref.
func (q *Queue) Processed(ctx context.Context, s Spec) (bool, error) {
	var n int
	err := q.db.queryRow(ctx, `SELECT COUNT(*) FROM hubbot_jobs WHERE repo = $1 AND ref = $2 AND sha = $3 AND action = $4 AND kind = $5`,
		s.Repo.String(), s.Ref, s.SHA, s.Action, string(KindRun)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up jobs of %s@%s: %w", s.Repo, s.SHA, err)
	}
	return n > 0, nil
}

// QueueDepth counts jobs waiting to run.
func (q *Queue) QueueDepth(ctx context.Context) (int, error) {
	var n int
	if err := q.db.queryRow(ctx, `SELECT COUNT(*) FROM hubbot_jobs WHERE state = $1`, string(StateQueued)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count queued jobs: %w", err)
	}
	return n, nil
}

// Ready reports whether the database answers.
func (q *Queue) Ready(ctx context.Context) error { return q.db.ping(ctx) }

// EnqueueAgain queues work even when the same work ran in the last day (a
// command asking for a re-run); it only refuses work that is queued or
// running already, returning that job's id and true.
func (q *Queue) EnqueueAgain(ctx context.Context, origin string, s Spec) (int64, bool, error) {
	var id int64
	err := q.db.queryRow(ctx, `SELECT id FROM hubbot_jobs WHERE dedupe_key = $1 AND state IN ($2, $3) ORDER BY id DESC LIMIT 1`,
		s.DedupeKey(), string(StateQueued), string(StateRunning)).Scan(&id)
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return 0, false, fmt.Errorf("look up queued work: %w", err)
	}
	ids, err := q.enqueue(ctx, origin, []Spec{s}, false)
	if err != nil {
		return 0, false, err
	}
	return ids[0], false, nil
}

// LastRuns returns, per action, the newest run job for a revision of a ref.
func (q *Queue) LastRuns(ctx context.Context, repo, ref, sha string) ([]*Job, error) {
	seen := map[string]bool{}
	var out []*Job
	rs, err := q.db.query(ctx, `SELECT `+strings.Replace(jobColumns, "log", "''", 1)+` FROM hubbot_jobs
		WHERE repo = $1 AND ref = $2 AND sha = $3 AND kind = $4 ORDER BY id DESC`, repo, ref, sha, string(KindRun))
	err = scanAll(rs, err, func(r rows) error {
		j, err := scanJob(r)
		if err == nil && !seen[j.Spec.Action] {
			seen[j.Spec.Action] = true
			out = append(out, j)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list runs of %s@%s: %w", repo, sha, err)
	}
	return out, nil
}

// LastSHA returns the revision of the newest run job of an action on a ref,
// "" when there is none: recovery compares heads with it.
func (q *Queue) LastSHA(ctx context.Context, repo, ref, action string) (string, error) {
	var sha string
	err := q.db.queryRow(ctx, `SELECT sha FROM hubbot_jobs WHERE repo = $1 AND ref = $2 AND action = $3 AND kind = $4
		ORDER BY id DESC LIMIT 1`, repo, ref, action, string(KindRun)).Scan(&sha)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up the last run of %s on %s %s: %w", action, repo, ref, err)
	}
	return sha, nil
}

// Cancel cancels the queued and running run jobs of repo at ref (of the
// given actions only, when not empty) and returns how many.
func (q *Queue) Cancel(ctx context.Context, repo, ref string, actions []string) (int, error) {
	type target struct {
		id, riverID int64
		action      string
		state       State
	}
	var targets []target
	rs, err := q.db.query(ctx, `SELECT id, action, state, river_id FROM hubbot_jobs
		WHERE repo = $1 AND ref = $2 AND kind = $3 AND state IN ($4, $5)`, repo, ref, string(KindRun), string(StateQueued), string(StateRunning))
	err = scanAll(rs, err, func(r rows) error {
		var t target
		var state string
		err := r.Scan(&t.id, &t.action, &state, &t.riverID)
		t.state = State(state)
		if len(actions) == 0 || slices.Contains(actions, t.action) {
			targets = append(targets, t)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("find jobs to cancel: %w", err)
	}
	var running []int64
	for _, t := range targets {
		if t.state == StateQueued {
			if _, err := q.db.exec(ctx, `UPDATE hubbot_jobs SET state = $1, conclusion = 'cancelled', summary = 'cancelled by a command',
				finished_at = $2 WHERE id = $3 AND state = $4`, string(StateCancelled), q.now().UnixMilli(), t.id, string(StateQueued)); err != nil {
				return 0, fmt.Errorf("cancel job %d: %w", t.id, err)
			}
			q.observe(t.action, StateQueued, StateCancelled)
		}
		if t.state == StateRunning {
			running = append(running, t.riverID)
			continue
		}
		if _, err := q.river.JobCancel(ctx, t.riverID); err != nil && !errors.Is(err, river.ErrNotFound) {
			return 0, fmt.Errorf("cancel job %d: %w", t.id, err)
		}
	}
	q.cancelRiverJobs(running)
	return len(targets), nil
}
