package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// backend is one of the two stores: the embedded SQLite database of one
// process, or a Postgres database shared by several replicas.
type backend struct {
	db     database
	sqlite *sql.DB       // set for SQLite
	pool   *pgxpool.Pool // set for Postgres
}

func (b *backend) postgres() bool { return b.pool != nil }

// IsPostgres reports whether a store URL names Postgres.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// openBackend opens the store named by url (Postgres), or the embedded one
// in dataDir when url is empty.
func openBackend(ctx context.Context, dataDir, url string, concurrency int) (*backend, error) {
	if url == "" {
		db, err := openSQLite(dataDir)
		if err != nil {
			return nil, err
		}
		return &backend{db: &sqlDB{db: db}, sqlite: db}, nil
	}
	if !IsPostgres(url) {
		return nil, errors.New("store.url: only postgres:// URLs are supported; leave it empty for the embedded SQLite store")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("store.url: not a valid Postgres URL")
	}
	// Workers, the intake, River's producers, its listener and its leader
	// election each hold a connection at times; pgx's default (4 on a
	// small machine) would make the intake queue behind the workers.
	cfg.MaxConns = max(cfg.MaxConns, int32(concurrency)+10)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Postgres: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to Postgres at %s: %w", cfg.ConnConfig.Host, err)
	}
	return &backend{db: &pgDB{pool: pool}, pool: pool}, nil
}

// migrateLockID is the Postgres advisory lock replicas take while they
// migrate, so that replicas starting together do not race.
const migrateLockID = 0x68756262 // "hubb"

// migrate applies River's migrations, then hubbot's, holding the migration
// lock on Postgres.
func (b *backend) migrate(ctx context.Context) error {
	if b.postgres() {
		conn, err := b.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockID); err != nil {
			return fmt.Errorf("migrate: take the migration lock: %w", err)
		}
		defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockID)
		m, err := rivermigrate.New(riverpgxv5.New(b.pool), nil)
		if err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
	} else {
		m, err := rivermigrate.New(riversqlite.New(b.sqlite), nil)
		if err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
	}
	return b.migrateHubbot(ctx)
}

func (b *backend) migrateHubbot(ctx context.Context) error {
	if _, err := b.db.exec(ctx, `CREATE TABLE IF NOT EXISTS hubbot_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("hubbot migrations: %w", err)
	}
	version, err := b.hubbotVersion(ctx)
	if errors.Is(err, ErrNotFound) {
		if _, err := b.db.exec(ctx, `INSERT INTO hubbot_schema (version) VALUES (0)`); err != nil {
			return fmt.Errorf("hubbot migrations: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("hubbot migrations: %w", err)
	}
	for i := version; i < len(migrations); i++ {
		if err := b.applyMigration(ctx, i); err != nil {
			return fmt.Errorf("hubbot migration %d: %w", i+1, err)
		}
	}
	return nil
}

func (b *backend) applyMigration(ctx context.Context, i int) error {
	tx, err := b.db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback(ctx)
	for _, stmt := range strings.Split(migrations[i], ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if b.postgres() {
			stmt = strings.ReplaceAll(stmt, "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY")
		}
		if _, err := tx.exec(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.exec(ctx, `UPDATE hubbot_schema SET version = $1`, i+1); err != nil {
		return err
	}
	return tx.commit(ctx)
}

func (b *backend) hubbotVersion(ctx context.Context) (int, error) {
	var v int
	err := b.db.queryRow(ctx, `SELECT version FROM hubbot_schema`).Scan(&v)
	return v, err
}

// SchemaStatus says which migrations a database has.
type SchemaStatus struct {
	RiverApplied, RiverLatest   int
	HubbotApplied, HubbotLatest int
}

// Current reports whether every migration is applied.
func (s SchemaStatus) Current() bool {
	return s.RiverApplied == s.RiverLatest && s.HubbotApplied == s.HubbotLatest
}

func (b *backend) status(ctx context.Context) (SchemaStatus, error) {
	var st SchemaStatus
	var existing, all []rivermigrate.Migration
	if b.postgres() {
		m, err := rivermigrate.New(riverpgxv5.New(b.pool), nil)
		if err != nil {
			return st, fmt.Errorf("river migrations: %w", err)
		}
		all = m.AllVersions()
		existing, err = m.ExistingVersions(ctx)
		if err != nil {
			return st, fmt.Errorf("read River's migrations: %w", err)
		}
	} else {
		m, err := rivermigrate.New(riversqlite.New(b.sqlite), nil)
		if err != nil {
			return st, fmt.Errorf("river migrations: %w", err)
		}
		all = m.AllVersions()
		existing, err = m.ExistingVersions(ctx)
		if err != nil {
			return st, fmt.Errorf("read River's migrations: %w", err)
		}
	}
	if len(all) > 0 {
		st.RiverLatest = all[len(all)-1].Version
	}
	if len(existing) > 0 {
		st.RiverApplied = existing[len(existing)-1].Version
	}
	st.HubbotLatest = len(migrations)
	v, err := b.hubbotVersion(ctx)
	if err != nil && !errors.Is(err, ErrNotFound) && !missingTable(err) {
		return st, fmt.Errorf("read hubbot's migrations: %w", err)
	}
	st.HubbotApplied = v
	return st, nil
}

// missingTable reports an error about a table that does not exist yet.
func missingTable(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "does not exist"))
}

// Migrate applies every pending migration to the store named by url (or the
// embedded one in dataDir) and returns the status after.
func Migrate(ctx context.Context, dataDir, url string) (SchemaStatus, error) {
	b, err := openBackend(ctx, dataDir, url, 1)
	if err != nil {
		return SchemaStatus{}, err
	}
	defer b.db.close()
	if err := b.migrate(ctx); err != nil {
		return SchemaStatus{}, err
	}
	return b.status(ctx)
}

// Status reads which migrations the store has, changing nothing.
func Status(ctx context.Context, dataDir, url string) (SchemaStatus, error) {
	b, err := openBackend(ctx, dataDir, url, 1)
	if err != nil {
		return SchemaStatus{}, err
	}
	defer b.db.close()
	return b.status(ctx)
}

// riverClient is what the queue uses of River's client, whatever the
// driver's transaction type.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	ID() string
	insertManyTx(ctx context.Context, tx txn, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	jobCancelTx(ctx context.Context, tx txn, jobID int64) error
}

// riverOf adapts River's client for one driver: raw gives the driver's
// transaction inside one of ours.
type riverOf[TTx any] struct {
	*river.Client[TTx]
	raw func(txn) TTx
}

func (r riverOf[TTx]) insertManyTx(ctx context.Context, tx txn, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return r.InsertManyTx(ctx, r.raw(tx), params)
}

func (r riverOf[TTx]) jobCancelTx(ctx context.Context, tx txn, jobID int64) error {
	_, err := r.JobCancelTx(ctx, r.raw(tx), jobID)
	if errors.Is(err, river.ErrNotFound) {
		return nil
	}
	return err
}

// newRiver makes River's client on the backend's driver.
func (b *backend) newRiver(cfg *river.Config) (riverClient, error) {
	if b.postgres() {
		c, err := river.NewClient(riverpgxv5.New(b.pool), cfg)
		if err != nil {
			return nil, err
		}
		return riverOf[pgx.Tx]{Client: c, raw: func(t txn) pgx.Tx { return t.(*pgTx).tx }}, nil
	}
	c, err := river.NewClient(riversqlite.New(b.sqlite), cfg)
	if err != nil {
		return nil, err
	}
	return riverOf[*sql.Tx]{Client: c, raw: func(t txn) *sql.Tx { return t.(*sqlTx).tx }}, nil
}
