package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The queue's SQL is written once, in what SQLite and Postgres share ($N
// placeholders, BIGINT milliseconds for time, TEXT for JSON). The two
// databases are reached through different clients (database/sql for SQLite,
// pgx for Postgres, which River's Postgres driver needs to share our
// transactions), so the queue talks to this small interface and each
// client gets an adapter.

// querier runs statements, in a transaction or not.
type querier interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	queryRow(ctx context.Context, query string, args ...any) row
	query(ctx context.Context, query string, args ...any) (rows, error)
}

// row is one result row; Scan returns ErrNotFound when there is none.
type row interface{ Scan(dest ...any) error }

// rows iterates over a result.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// txn is a transaction.
type txn interface {
	querier
	commit(ctx context.Context) error
	rollback(ctx context.Context)
}

// database is a connection pool.
type database interface {
	querier
	begin(ctx context.Context) (txn, error)
	ping(ctx context.Context) error
	close() error
}

// notFound maps each client's "no rows" to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type mappedRow struct{ r row }

func (r mappedRow) Scan(dest ...any) error { return notFound(r.r.Scan(dest...)) }

// sqlDB adapts database/sql (SQLite). The intake's statements are
// prepared once (see prepare): SQLite would otherwise compile them again for
// every delivery.
type sqlDB struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt // read-only once prepared
}

// prepare prepares queries for every later use. It must run outside any
// transaction: the database has one connection.
func (d *sqlDB) prepare(ctx context.Context, queries ...string) error {
	stmts := map[string]*sql.Stmt{}
	for _, q := range queries {
		st, err := d.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare statements: %w", err)
		}
		stmts[q] = st
	}
	d.stmts = stmts
	return nil
}

func (d *sqlDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return sqlExec(ctx, d, nil, query, args)
}

func (d *sqlDB) queryRow(ctx context.Context, query string, args ...any) row {
	return sqlQueryRow(ctx, d, nil, query, args)
}

func (d *sqlDB) query(ctx context.Context, query string, args ...any) (rows, error) {
	return sqlQuery(ctx, d, nil, query, args)
}

func (d *sqlDB) begin(ctx context.Context) (txn, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqlTx{d: d, tx: tx}, nil
}

func (d *sqlDB) ping(ctx context.Context) error { return d.db.PingContext(ctx) }

func (d *sqlDB) close() error {
	for _, st := range d.stmts {
		st.Close()
	}
	return d.db.Close()
}

type sqlTx struct {
	d  *sqlDB
	tx *sql.Tx
}

func (t *sqlTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return sqlExec(ctx, t.d, t.tx, query, args)
}

func (t *sqlTx) queryRow(ctx context.Context, query string, args ...any) row {
	return sqlQueryRow(ctx, t.d, t.tx, query, args)
}

func (t *sqlTx) query(ctx context.Context, query string, args ...any) (rows, error) {
	return sqlQuery(ctx, t.d, t.tx, query, args)
}

func (t *sqlTx) commit(context.Context) error { return t.tx.Commit() }
func (t *sqlTx) rollback(context.Context)     { t.tx.Rollback() }

// sqlStmt returns the prepared statement for query, bound to tx when given,
// or nil to run it unprepared.
func sqlStmt(ctx context.Context, d *sqlDB, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st := d.stmts[query]
	if st == nil {
		return nil, nil
	}
	if tx != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return st, nil
}

func sqlExec(ctx context.Context, d *sqlDB, tx *sql.Tx, query string, args []any) (int64, error) {
	st, err := sqlStmt(ctx, d, tx, query)
	if err != nil {
		return 0, err
	}
	var res sql.Result
	switch {
	case st != nil:
		res, err = st.ExecContext(ctx, args...)
	case tx != nil:
		res, err = tx.ExecContext(ctx, query, args...)
	default:
		res, err = d.db.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func sqlQueryRow(ctx context.Context, d *sqlDB, tx *sql.Tx, query string, args []any) row {
	st, err := sqlStmt(ctx, d, tx, query)
	if err != nil {
		return errRow{err}
	}
	switch {
	case st != nil:
		return mappedRow{st.QueryRowContext(ctx, args...)}
	case tx != nil:
		return mappedRow{tx.QueryRowContext(ctx, query, args...)}
	default:
		return mappedRow{d.db.QueryRowContext(ctx, query, args...)}
	}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

func sqlQuery(ctx context.Context, d *sqlDB, tx *sql.Tx, query string, args []any) (rows, error) {
	st, err := sqlStmt(ctx, d, tx, query)
	if err != nil {
		return nil, err
	}
	var rs *sql.Rows
	switch {
	case st != nil:
		rs, err = st.QueryContext(ctx, args...)
	case tx != nil:
		rs, err = tx.QueryContext(ctx, query, args...)
	default:
		rs, err = d.db.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

// pgDB adapts a pgx pool (Postgres). pgx prepares and caches statements
// per connection by itself.
type pgDB struct{ pool *pgxpool.Pool }

func (d *pgDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return pgExec(d.pool.Exec(ctx, query, args...))
}

func (d *pgDB) queryRow(ctx context.Context, query string, args ...any) row {
	return mappedRow{d.pool.QueryRow(ctx, query, args...)}
}

func (d *pgDB) query(ctx context.Context, query string, args ...any) (rows, error) {
	return d.pool.Query(ctx, query, args...)
}

func (d *pgDB) begin(ctx context.Context) (txn, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &pgTx{tx: tx}, nil
}

func (d *pgDB) ping(ctx context.Context) error { return d.pool.Ping(ctx) }
func (d *pgDB) close() error                   { d.pool.Close(); return nil }

type pgTx struct{ tx pgx.Tx }

func (t *pgTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return pgExec(t.tx.Exec(ctx, query, args...))
}

func (t *pgTx) queryRow(ctx context.Context, query string, args ...any) row {
	return mappedRow{t.tx.QueryRow(ctx, query, args...)}
}

func (t *pgTx) query(ctx context.Context, query string, args ...any) (rows, error) {
	return t.tx.Query(ctx, query, args...)
}

func (t *pgTx) commit(ctx context.Context) error { return t.tx.Commit(ctx) }

// rollback uses a context of its own: it also runs after the caller's was
// cancelled, to give the connection back clean.
func (t *pgTx) rollback(ctx context.Context) { t.tx.Rollback(context.WithoutCancel(ctx)) }

func pgExec(tag pgconn.CommandTag, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// scanAll reads every row of a query with scan.
func scanAll(rs rows, err error, scan func(rows) error) error {
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			return err
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("read rows: %w", err)
	}
	return nil
}
