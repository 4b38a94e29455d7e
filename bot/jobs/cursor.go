package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Cursor is how far recovery has read the comments of one discussion: the
// Hub's time of the newest comment it read (so that the Hub's clock is only
// compared with itself), and when, by this bot's clock, it last read them.
type Cursor struct {
	Repo       string // "ns/name" as Repo.String() renders it
	Discussion int
	SeenAt     time.Time
	ScannedAt  time.Time
}

// Cursors returns the cursors of a repo's discussions, by number.
func (q *Queue) Cursors(ctx context.Context, repo string) (map[int]Cursor, error) {
	out := map[int]Cursor{}
	rs, err := q.db.query(ctx, `SELECT discussion, seen_at, scanned_at FROM hubbot_cursors WHERE repo = $1`, repo)
	err = scanAll(rs, err, func(r rows) error {
		var num int
		var seen, scanned int64
		err := r.Scan(&num, &seen, &scanned)
		out[num] = Cursor{Repo: repo, Discussion: num, SeenAt: time.UnixMilli(seen).UTC(), ScannedAt: time.UnixMilli(scanned).UTC()}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the comment cursors of %s: %w", repo, err)
	}
	return out, nil
}

// SaveCursor records how far the comments of a discussion were read.
func (q *Queue) SaveCursor(ctx context.Context, c Cursor) error {
	_, err := q.db.exec(ctx, `INSERT INTO hubbot_cursors (repo, discussion, seen_at, scanned_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repo, discussion) DO UPDATE SET seen_at = excluded.seen_at, scanned_at = excluded.scanned_at`,
		c.Repo, c.Discussion, c.SeenAt.UnixMilli(), c.ScannedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("save the comment cursor of %s#%d: %w", c.Repo, c.Discussion, err)
	}
	return nil
}

// PruneCursors forgets the cursors of a repo's discussions that are not in
// open: closed discussions are not read again.
func (q *Queue) PruneCursors(ctx context.Context, repo string, open []int) error {
	args := []any{repo}
	var ph []string
	for _, n := range open {
		args = append(args, n)
		ph = append(ph, fmt.Sprintf("$%d", len(args)))
	}
	query := `DELETE FROM hubbot_cursors WHERE repo = $1`
	if len(ph) > 0 {
		query += ` AND discussion NOT IN (` + strings.Join(ph, ", ") + `)`
	}
	if _, err := q.db.exec(ctx, query, args...); err != nil {
		return fmt.Errorf("prune the comment cursors of %s: %w", repo, err)
	}
	return nil
}

// RecordDone records work that was done before the store knew of it, as a
// finished job that never runs: recovery rebuilds it from the reports the
// bot left on the Hub, so that the revision counts as processed (Processed,
// LastSHA) and a replayed delivery of it is a duplicate.
func (q *Queue) RecordDone(ctx context.Context, origin string, s Spec, o Outcome) (int64, error) {
	if !Terminal(o.State) {
		return 0, fmt.Errorf("record done work: %q is not a final state", o.State)
	}
	specJSON, err := json.Marshal(s)
	if err != nil {
		return 0, fmt.Errorf("encode job: %w", err)
	}
	now := q.now().UnixMilli()
	var id int64
	err = q.db.queryRow(ctx, `INSERT INTO hubbot_jobs (delivery_key, dedupe_key, kind, action, repo, ref, sha, target, spec, state,
		conclusion, summary, fingerprint, created_at, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
		origin, s.DedupeKey(), string(s.Kind), s.Action, s.Repo.String(), s.Ref, s.SHA, targetKey(s), string(specJSON), string(o.State),
		o.Conclusion, storableText(o.Summary), o.Fingerprint, now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record done work on %s@%s: %w", s.Repo, s.SHA, err)
	}
	return id, nil
}
