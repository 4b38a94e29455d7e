package jobs

// Reports: where each report of an action on a target (a pull request, a
// branch or a tag) lives on the Hub, and the lease that keeps two workers
// from writing one report at once.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ReportLocation is where an action's report lives on the Hub.
type ReportLocation struct {
	Discussion  int
	CommentID   string
	Fingerprint string
	Status      string // open or closed, for branch discussions
}

// Report is what the publisher reads under a report's lease.
type Report struct {
	// Latest is the newest run job of the action on the report's target,
	// without its log; nil when there is none.
	Latest *Job
	// Location is where the report lives; nil when the store does not know.
	Location *ReportLocation
}

// LockReport takes the lease on the report of s's action and target for
// owner (a number that is not a job id) and, in the same transaction, reads
// the report. It returns nil when another owner holds the lease.
func (q *Queue) LockReport(ctx context.Context, s Spec, owner int64, ttl time.Duration) (*Report, error) {
	key := reportKey(s)
	tx, err := q.db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	defer tx.rollback(ctx)
	if got, err := q.lockTx(ctx, tx, key, owner, ttl); err != nil || !got {
		return nil, err
	}
	r := &Report{}
	r.Latest, err = scanJob(tx.queryRow(ctx, `SELECT `+strings.Replace(jobColumns, "log", "''", 1)+` FROM hubbot_jobs
		WHERE repo = $1 AND target = $2 AND action = $3 AND kind = $4 ORDER BY id DESC LIMIT 1`,
		s.Repo.String(), targetKey(s), s.Action, string(KindRun)))
	if errors.Is(err, ErrNotFound) {
		r.Latest = nil
	} else if err != nil {
		return nil, fmt.Errorf("read latest %s job of %s: %w", s.Action, s.Repo, err)
	}
	if r.Location, err = reportLocation(ctx, tx, s); err != nil {
		return nil, err
	}
	if err := tx.commit(ctx); err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	return r, nil
}

// UnlockReport releases the lease LockReport took.
func (q *Queue) UnlockReport(ctx context.Context, s Spec, owner int64) {
	q.unlock(ctx, reportKey(s), owner)
}

// reportKey names the lease of a report.
func reportKey(s Spec) string {
	return "report:" + s.Repo.String() + ":" + targetKey(s) + ":" + s.Action
}

// ReportLocation returns the remembered location of a report, or nil.
func (q *Queue) ReportLocation(ctx context.Context, s Spec) (*ReportLocation, error) {
	return reportLocation(ctx, q.db, s)
}

func reportLocation(ctx context.Context, db querier, s Spec) (*ReportLocation, error) {
	var l ReportLocation
	err := db.queryRow(ctx, `SELECT discussion, comment_id, fingerprint, status FROM hubbot_reports
		WHERE repo = $1 AND target = $2 AND action = $3`, s.Repo.String(), targetKey(s), s.Action).
		Scan(&l.Discussion, &l.CommentID, &l.Fingerprint, &l.Status)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read report location: %w", err)
	}
	return &l, nil
}

// SaveReportLocation remembers where a report lives.
func (q *Queue) SaveReportLocation(ctx context.Context, s Spec, l ReportLocation) error {
	_, err := q.db.exec(ctx, `INSERT INTO hubbot_reports (repo, target, action, discussion, comment_id, fingerprint, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (repo, target, action) DO UPDATE SET discussion = excluded.discussion, comment_id = excluded.comment_id,
		fingerprint = excluded.fingerprint, status = excluded.status`,
		s.Repo.String(), targetKey(s), s.Action, l.Discussion, l.CommentID, l.Fingerprint, l.Status)
	if err != nil {
		return fmt.Errorf("save report location: %w", err)
	}
	return nil
}
