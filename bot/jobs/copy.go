package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/riverqueue/river"
)

// Copied counts the rows Copy carried over, by table.
type Copied map[string]int

// copyTables are the tables Copy carries, with their columns. River's own
// tables are not copied: finished River jobs are of no use, and the jobs
// still to run get new River jobs.
var copyTables = []struct{ name, columns string }{
	{"hubbot_deliveries", "id, key, scope, action, repo, outcome, reason, body, received_at"},
	{"hubbot_jobs", "id, delivery_key, dedupe_key, kind, action, repo, ref, sha, target, spec, state, conclusion, summary, " +
		"details, fingerprint, attempt, superseded_by, retry_of, created_at, started_at, finished_at, log"},
	{"hubbot_reports", "repo, target, action, discussion, comment_id, fingerprint, status"},
	{"hubbot_replies", "key, repo, owner, claimed_at, posted_at"},
	{"hubbot_bot_commits", "repo, sha, created_at"},
	{"hubbot_cursors", "repo, discussion, seen_at, scanned_at"},
	{"hubbot_approvals", "repo, discussion, sha, action, comment_id, approver_id, job_id, created_at"},
}

// Copy carries the embedded store in fromDir over to the empty Postgres
// database at toURL: deliveries (so dedupe holds across the move), jobs
// with their ids and logs, report locations, the reply ledger, the bot's
// commits and approvals. Jobs that were queued or running are queued again there. The bot
// using fromDir must be stopped.
func Copy(ctx context.Context, fromDir, toURL string) (Copied, error) {
	if !IsPostgres(toURL) {
		return nil, errors.New("db copy: --to must be a postgres:// URL")
	}
	if _, err := os.Stat(fromDir + "/hubbot.db"); err != nil {
		return nil, fmt.Errorf("db copy: no hubbot store in %s: %w", fromDir, err)
	}
	src, err := openBackend(ctx, fromDir, "", 1)
	if err != nil {
		return nil, fmt.Errorf("db copy: open %s: %w", fromDir, err)
	}
	defer src.db.close()
	if err := src.migrate(ctx); err != nil {
		return nil, fmt.Errorf("db copy: bring %s to the current schema: %w", fromDir, err)
	}
	dst, err := New(ctx, Options{DataDir: os.TempDir(), DatabaseURL: toURL})
	if err != nil {
		return nil, fmt.Errorf("db copy: %w", err)
	}
	defer dst.Close()
	tx, err := dst.db.begin(ctx) // into an empty database no replica uses yet
	if err != nil {
		return nil, fmt.Errorf("db copy: %w", err)
	}
	defer tx.rollback(ctx)
	var existing int
	if err := tx.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM hubbot_jobs) + (SELECT COUNT(*) FROM hubbot_deliveries)`).Scan(&existing); err != nil {
		return nil, fmt.Errorf("db copy: read the target: %w", err)
	}
	if existing > 0 {
		return nil, errors.New("db copy: the target database already has deliveries or jobs; copy into a new database")
	}
	copied := Copied{}
	for _, tbl := range copyTables {
		n, err := copyTable(ctx, src.db, tx, tbl.name, tbl.columns)
		if err != nil {
			return nil, fmt.Errorf("db copy: %s: %w", tbl.name, err)
		}
		copied[tbl.name] = n
	}
	for _, tbl := range []string{"hubbot_deliveries", "hubbot_jobs"} {
		if _, err := tx.exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), GREATEST((SELECT MAX(id) FROM %[1]s), 1))`, tbl)); err != nil {
			return nil, fmt.Errorf("db copy: advance the ids of %s: %w", tbl, err)
		}
	}
	// Work that had not finished runs again on the replicas.
	var pending []int64
	rs, err := tx.query(ctx, `SELECT id FROM hubbot_jobs WHERE state IN ($1, $2) ORDER BY id`, string(StateQueued), string(StateRunning))
	err = scanAll(rs, err, func(r rows) error {
		var id int64
		err := r.Scan(&id)
		pending = append(pending, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("db copy: find unfinished jobs: %w", err)
	}
	var jb jobBatch
	for _, id := range pending {
		jb.params = append(jb.params, river.InsertManyParams{Args: runArgs{JobID: id}, InsertOpts: &river.InsertOpts{Queue: queueRun}})
		jb.jobIDs = append(jb.jobIDs, id)
	}
	if _, err := tx.exec(ctx, `UPDATE hubbot_jobs SET state = $1 WHERE state = $2`, string(StateQueued), string(StateRunning)); err != nil {
		return nil, fmt.Errorf("db copy: requeue running jobs: %w", err)
	}
	if err := dst.flushJobs(ctx, tx, &jb); err != nil {
		return nil, fmt.Errorf("db copy: %w", err)
	}
	copied["requeued jobs"] = len(pending)
	if err := tx.commit(ctx); err != nil {
		return nil, fmt.Errorf("db copy: commit: %w", err)
	}
	return copied, nil
}

// copyTable copies every row of a table from src into tx, row by row: the
// two stores are different databases, so reading one while writing the
// other needs no buffer.
func copyTable(ctx context.Context, src querier, tx txn, table, columns string) (int, error) {
	ncol := len(strings.Split(columns, ","))
	ph := make([]string, ncol)
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	insert := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, columns, strings.Join(ph, ", "))
	n := 0
	rs, err := src.query(ctx, fmt.Sprintf("SELECT %s FROM %s", columns, table))
	err = scanAll(rs, err, func(r rows) error {
		vals := make([]any, ncol)
		ptrs := make([]any, ncol)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok { // SQLite hands TEXT back as bytes at times
				vals[i] = string(b)
			}
			if s, ok := vals[i].(string); ok {
				vals[i] = storableText(s)
			}
		}
		if _, err := tx.exec(ctx, insert, vals...); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		n++
		return nil
	})
	return n, err
}
