package jobs

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the embedded database, pure Go
)

// openSQLite opens (creating) the embedded database in dataDir: WAL and one
// connection (SQLite serialises writers anyway, and River's driver wants
// it). Commits do not wait for the disk (synchronous=NORMAL, which survives
// a crash of the process): the intake syncs the log itself, so that a
// delivery answered 2xx is on disk before the answer (see walSyncer).
func openSQLite(dataDir string) (*sql.DB, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dataDir, "hubbot.db")
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// migrations are hubbot's own tables, one entry per schema version. They
// use what SQLite and Postgres share (BIGINT milliseconds for time, TEXT for
// JSON); only the id columns differ: Postgres reads INTEGER PRIMARY KEY as
// BIGSERIAL PRIMARY KEY (see pgMigration).
var migrations = []string{
	`CREATE TABLE hubbot_deliveries (
		id INTEGER PRIMARY KEY,
		key TEXT NOT NULL,
		scope TEXT NOT NULL,
		action TEXT NOT NULL,
		repo TEXT NOT NULL,
		outcome TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		body TEXT NOT NULL,
		received_at BIGINT NOT NULL
	);
	CREATE INDEX hubbot_deliveries_key ON hubbot_deliveries (key, received_at);
	CREATE TABLE hubbot_jobs (
		id INTEGER PRIMARY KEY,
		delivery_key TEXT NOT NULL DEFAULT '',
		dedupe_key TEXT NOT NULL,
		kind TEXT NOT NULL,
		action TEXT NOT NULL DEFAULT '',
		repo TEXT NOT NULL,
		ref TEXT NOT NULL DEFAULT '',
		sha TEXT NOT NULL DEFAULT '',
		target TEXT NOT NULL DEFAULT '',
		spec TEXT NOT NULL,
		state TEXT NOT NULL,
		conclusion TEXT NOT NULL DEFAULT '',
		summary TEXT NOT NULL DEFAULT '',
		details TEXT NOT NULL DEFAULT '',
		fingerprint TEXT NOT NULL DEFAULT '',
		attempt INTEGER NOT NULL DEFAULT 0,
		superseded_by BIGINT NOT NULL DEFAULT 0,
		retry_of BIGINT NOT NULL DEFAULT 0,
		river_id BIGINT NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		started_at BIGINT NOT NULL DEFAULT 0,
		finished_at BIGINT NOT NULL DEFAULT 0,
		log TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX hubbot_jobs_dedupe ON hubbot_jobs (dedupe_key, created_at);
	CREATE INDEX hubbot_jobs_ref ON hubbot_jobs (repo, ref, action, state);
	CREATE INDEX hubbot_jobs_target ON hubbot_jobs (repo, target, action, id);
	CREATE INDEX hubbot_jobs_state ON hubbot_jobs (state);
	CREATE TABLE hubbot_reports (
		repo TEXT NOT NULL,
		target TEXT NOT NULL,
		action TEXT NOT NULL,
		discussion INTEGER NOT NULL,
		comment_id TEXT NOT NULL,
		fingerprint TEXT NOT NULL DEFAULT '',
		status TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (repo, target, action)
	);
	CREATE TABLE hubbot_locks (
		key TEXT PRIMARY KEY,
		job_id BIGINT NOT NULL,
		expires_at BIGINT NOT NULL
	);
	CREATE TABLE hubbot_bot_commits (
		repo TEXT NOT NULL,
		sha TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (repo, sha)
	)`,
	`CREATE TABLE hubbot_replies (
		key TEXT PRIMARY KEY,
		repo TEXT NOT NULL,
		owner TEXT NOT NULL DEFAULT '',
		claimed_at BIGINT NOT NULL,
		posted_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX hubbot_replies_repo ON hubbot_replies (repo, claimed_at)`,
	// A lease names the replica holding it, so that the job of a dead
	// replica can be taken over (see lease); the retention sweep finds old
	// rows by time.
	`ALTER TABLE hubbot_locks ADD COLUMN holder TEXT NOT NULL DEFAULT '';
	CREATE INDEX hubbot_deliveries_received ON hubbot_deliveries (received_at);
	CREATE INDEX hubbot_jobs_finished ON hubbot_jobs (finished_at)`,
	// How far recovery has read each discussion's comments (see Cursors).
	`CREATE TABLE hubbot_cursors (
		repo TEXT NOT NULL,
		discussion INTEGER NOT NULL,
		seen_at BIGINT NOT NULL,
		scanned_at BIGINT NOT NULL,
		PRIMARY KEY (repo, discussion)
	)`,
	// Approvals of pull request heads whose author an action does not
	// trust: one per revision and action, naming the comment that gave it
	// (see Queue.Approve).
	`CREATE TABLE hubbot_approvals (
		repo TEXT NOT NULL,
		discussion INTEGER NOT NULL,
		sha TEXT NOT NULL,
		action TEXT NOT NULL,
		comment_id TEXT NOT NULL,
		approver_id TEXT NOT NULL,
		job_id BIGINT NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (repo, discussion, sha, action)
	);
	CREATE INDEX hubbot_approvals_comment ON hubbot_approvals (repo, comment_id)`,
}
