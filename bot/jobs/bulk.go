package jobs

import (
	"context"
	"fmt"
	"time"
)

// The intake's statements work on a whole batch. On Postgres every
// statement is a round trip to the server, and on a busy machine each round
// trip waits for the server process to be scheduled: so each statement
// takes the batch's values as arrays, and a batch costs the same few round
// trips however many deliveries it holds. SQLite runs in the process, where
// a statement costs microseconds: there the same functions run the prepared
// one-row statements in a loop.

// The one-row statements (SQLite), prepared once in New.
const (
	recentDelivery = `SELECT COUNT(*) FROM hubbot_deliveries WHERE key = $1 AND outcome = $2 AND received_at > $3`
	insertDelivery = `INSERT INTO hubbot_deliveries (key, scope, action, repo, outcome, reason, body, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	recentJob = `SELECT COUNT(*) FROM hubbot_jobs WHERE dedupe_key = $1 AND created_at > $2`
	insertJob = `INSERT INTO hubbot_jobs (delivery_key, dedupe_key, kind, action, repo, ref, sha, target, spec, state, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`
	liveJobsOfRef = `SELECT id, state, river_id, sha FROM hubbot_jobs
		WHERE repo = $1 AND ref = $2 AND action = $3 AND kind = $4 AND state IN ($5, $6)`
)

// The same, for a whole batch (Postgres).
const (
	pgRecentDeliveries = `SELECT DISTINCT key FROM hubbot_deliveries
		WHERE key = ANY($1::text[]) AND outcome = $2 AND received_at > $3`
	pgInsertDeliveries = `INSERT INTO hubbot_deliveries (key, scope, action, repo, outcome, reason, body, received_at)
		SELECT k, s, a, r, o, re, b, $8 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
		AS u(k, s, a, r, o, re, b)`
	pgRecentJobs = `SELECT DISTINCT dedupe_key FROM hubbot_jobs WHERE dedupe_key = ANY($1::text[]) AND created_at > $2`
	pgInsertJobs = `INSERT INTO hubbot_jobs (delivery_key, dedupe_key, kind, action, repo, ref, sha, target, spec, state, created_at)
		SELECT d, k, ki, a, r, rf, s, t, sp, $10, $11
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
		WITH ORDINALITY AS u(d, k, ki, a, r, rf, s, t, sp, n) ORDER BY n
		RETURNING id, dedupe_key`
	pgLiveJobs = `SELECT id, state, river_id, sha, repo, ref, action FROM hubbot_jobs
		WHERE (repo, ref, action) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
		AND kind = $4 AND state IN ($5, $6)`
)

// deliveryRow is a delivery as stored.
type deliveryRow struct {
	key, scope, action, repo, outcome, reason, body string
}

// newJob is a job to insert.
type newJob struct {
	origin, key, spec string // spec as JSON
	s                 Spec
}

// refKey names the work a run job may supersede: its repo, ref and action.
type refKey struct{ repo, ref, action string }

// liveJob is a queued or running run job.
type liveJob struct {
	id, riverID int64
	state       State
	sha         string
	ref         refKey
}

// recentDeliveries returns which of keys were queued within the dedupe
// window.
func (q *Queue) recentDeliveries(ctx context.Context, tx txn, keys []string, now time.Time) (map[string]bool, error) {
	since := now.Add(-dedupeWindow).UnixMilli()
	if q.b.postgres() {
		return q.pgKeys(ctx, tx, "look up deliveries", pgRecentDeliveries, keys, OutcomeQueued, since)
	}
	return q.sqliteKeys(ctx, tx, "look up delivery", recentDelivery, keys, OutcomeQueued, since)
}

// recentJobs returns which of the job dedupe keys were queued within the
// dedupe window.
func (q *Queue) recentJobs(ctx context.Context, tx txn, keys []string, now time.Time) (map[string]bool, error) {
	since := now.Add(-dedupeWindow).UnixMilli()
	if q.b.postgres() {
		return q.pgKeys(ctx, tx, "look up jobs", pgRecentJobs, keys, since)
	}
	return q.sqliteKeys(ctx, tx, "look up job", recentJob, keys, since)
}

func (q *Queue) pgKeys(ctx context.Context, tx txn, what, query string, keys []string, args ...any) (map[string]bool, error) {
	found := map[string]bool{}
	if len(keys) == 0 {
		return found, nil
	}
	rs, err := tx.query(ctx, query, append([]any{keys}, args...)...)
	err = scanAll(rs, err, func(r rows) error {
		var k string
		err := r.Scan(&k)
		found[k] = true
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return found, nil
}

func (q *Queue) sqliteKeys(ctx context.Context, tx txn, what, query string, keys []string, args ...any) (map[string]bool, error) {
	found := map[string]bool{}
	for _, k := range keys {
		var n int
		if err := tx.queryRow(ctx, query, append([]any{k}, args...)...).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if n > 0 {
			found[k] = true
		}
	}
	return found, nil
}

// insertDeliveries stores deliveries, received at now.
func (q *Queue) insertDeliveries(ctx context.Context, tx txn, ds []deliveryRow, now time.Time) error {
	if len(ds) == 0 {
		return nil
	}
	at := now.UnixMilli()
	if !q.b.postgres() {
		for _, d := range ds {
			if _, err := tx.exec(ctx, insertDelivery, d.key, d.scope, d.action, d.repo, d.outcome, d.reason, d.body, at); err != nil {
				return fmt.Errorf("record delivery: %w", err)
			}
		}
		return nil
	}
	cols := make([][]string, 7)
	for _, d := range ds {
		for i, v := range []string{d.key, d.scope, d.action, d.repo, d.outcome, d.reason, d.body} {
			cols[i] = append(cols[i], v)
		}
	}
	if _, err := tx.exec(ctx, pgInsertDeliveries, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], at); err != nil {
		return fmt.Errorf("record deliveries: %w", err)
	}
	return nil
}

// insertJobs inserts queued jobs, created at now, and returns their ids in
// the order of js.
func (q *Queue) insertJobs(ctx context.Context, tx txn, js []newJob, now time.Time) ([]int64, error) {
	ids := make([]int64, len(js))
	if len(js) == 0 {
		return ids, nil
	}
	at := now.UnixMilli()
	if !q.b.postgres() {
		for i, j := range js {
			s := j.s
			if err := tx.queryRow(ctx, insertJob, j.origin, j.key, string(s.Kind), s.Action, s.Repo.String(), s.Ref, s.SHA,
				targetKey(s), j.spec, string(StateQueued), at).Scan(&ids[i]); err != nil {
				return nil, fmt.Errorf("insert job: %w", err)
			}
		}
		return ids, nil
	}
	cols := make([][]string, 9)
	byKey := map[string][]int{} // the positions of each dedupe key, in order
	for i, j := range js {
		s := j.s
		for c, v := range []string{j.origin, j.key, string(s.Kind), s.Action, s.Repo.String(), s.Ref, s.SHA, targetKey(s), j.spec} {
			cols[c] = append(cols[c], v)
		}
		byKey[j.key] = append(byKey[j.key], i)
	}
	rs, err := tx.query(ctx, pgInsertJobs, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8],
		string(StateQueued), at)
	n := 0
	err = scanAll(rs, err, func(r rows) error {
		var id int64
		var key string
		if err := r.Scan(&id, &key); err != nil {
			return err
		}
		at := byKey[key]
		if len(at) == 0 {
			return fmt.Errorf("the server returned an id for a job not inserted (%s)", key)
		}
		ids[at[0]], byKey[key] = id, at[1:]
		n++
		return nil
	})
	if err == nil && n != len(js) {
		err = fmt.Errorf("inserted %d of %d", n, len(js))
	}
	if err != nil {
		return nil, fmt.Errorf("insert jobs: %w", err)
	}
	return ids, nil
}

// liveJobs returns the queued and running run jobs of each of refs.
func (q *Queue) liveJobs(ctx context.Context, tx txn, refs []refKey) ([]liveJob, error) {
	var out []liveJob
	if len(refs) == 0 {
		return out, nil
	}
	scan := func(ref *refKey) func(rows) error {
		return func(r rows) error {
			var j liveJob
			var state string
			var err error
			if ref != nil {
				j.ref = *ref
				err = r.Scan(&j.id, &state, &j.riverID, &j.sha)
			} else {
				err = r.Scan(&j.id, &state, &j.riverID, &j.sha, &j.ref.repo, &j.ref.ref, &j.ref.action)
			}
			j.state = State(state)
			out = append(out, j)
			return err
		}
	}
	if !q.b.postgres() {
		for _, k := range refs {
			rs, err := tx.query(ctx, liveJobsOfRef, k.repo, k.ref, k.action, string(KindRun), string(StateQueued), string(StateRunning))
			if err := scanAll(rs, err, scan(&k)); err != nil {
				return nil, fmt.Errorf("find superseded jobs: %w", err)
			}
		}
		return out, nil
	}
	cols := make([][]string, 3)
	for _, k := range refs {
		cols[0], cols[1], cols[2] = append(cols[0], k.repo), append(cols[1], k.ref), append(cols[2], k.action)
	}
	rs, err := tx.query(ctx, pgLiveJobs, cols[0], cols[1], cols[2], string(KindRun), string(StateQueued), string(StateRunning))
	if err := scanAll(rs, err, scan(nil)); err != nil {
		return nil, fmt.Errorf("find superseded jobs: %w", err)
	}
	return out, nil
}
