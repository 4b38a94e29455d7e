package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
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

// migrate runs River's migrations, then hubbot's.
func migrate(ctx context.Context, db *sql.DB) error {
	m, err := rivermigrate.New(riversqlite.New(db), nil)
	if err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS hubbot_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("hubbot migrations: %w", err)
	}
	var version int
	err = db.QueryRowContext(ctx, `SELECT version FROM hubbot_schema`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := db.ExecContext(ctx, `INSERT INTO hubbot_schema (version) VALUES (0)`); err != nil {
			return fmt.Errorf("hubbot migrations: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("hubbot migrations: %w", err)
	}
	for i := version; i < len(migrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, stmt := range strings.Split(migrations[i], ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("hubbot migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hubbot_schema SET version = $1`, i+1); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("hubbot migration %d: %w", i+1, err)
		}
	}
	return nil
}

// migrations are hubbot's own tables. Statements use what SQLite and
// Postgres share ($N placeholders in queries, BIGINT milliseconds for time,
// TEXT for JSON); only the id columns differ, and they are written so a
// Postgres variant only needs BIGSERIAL for INTEGER PRIMARY KEY.
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
}
