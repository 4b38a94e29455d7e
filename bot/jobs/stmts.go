package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// stmts are the statements of the intake's hot path, prepared once: SQLite
// would otherwise compile them again for every delivery.
type stmts struct {
	recentDelivery *sql.Stmt
	insertDelivery *sql.Stmt
	recentJob      *sql.Stmt
	insertJob      *sql.Stmt
	supersede      *sql.Stmt
}

func prepare(ctx context.Context, db *sql.DB) (*stmts, error) {
	var s stmts
	var errs []error
	p := func(dst **sql.Stmt, query string) {
		st, err := db.PrepareContext(ctx, query)
		errs = append(errs, err)
		*dst = st
	}
	p(&s.recentDelivery, `SELECT COUNT(*) FROM hubbot_deliveries WHERE key = $1 AND outcome = $2 AND received_at > $3`)
	p(&s.insertDelivery, `INSERT INTO hubbot_deliveries (key, scope, action, repo, outcome, reason, body, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`)
	p(&s.recentJob, `SELECT COUNT(*) FROM hubbot_jobs WHERE dedupe_key = $1 AND created_at > $2`)
	p(&s.insertJob, `INSERT INTO hubbot_jobs (delivery_key, dedupe_key, kind, action, repo, ref, sha, target, spec, state, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`)
	p(&s.supersede, `SELECT id, state, river_id, sha FROM hubbot_jobs
		WHERE repo = $1 AND ref = $2 AND action = $3 AND kind = $4 AND id < $5 AND state IN ($6, $7)`)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("prepare statements: %w", err)
	}
	return &s, nil
}

// walSyncer makes committed transactions durable. The database runs with
// synchronous=NORMAL, so that the workers' many small writes do not each
// wait for the disk; a delivery, though, must be on disk before the Hub is
// answered, so the intake syncs the write-ahead log after each of its
// commits. One fsync covers the whole batch, and everything committed
// before it.
type walSyncer struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func (w *walSyncer) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	// SQLite may delete and recreate the log (it does when the last
	// connection closes): make sure the file held is the one on disk.
	st, err := os.Stat(w.path)
	if err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	if w.f != nil {
		if held, err := w.f.Stat(); err != nil || !sameFile(held, st) {
			w.f.Close()
			w.f = nil
		}
	}
	if w.f == nil {
		if w.f, err = os.Open(w.path); err != nil {
			return fmt.Errorf("sync write-ahead log: %w", err)
		}
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	return nil
}

func (w *walSyncer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

func sameFile(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 {
		return os.SameFile(a, b)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
