package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReplyClaim asks to answer one comment; see ClaimReply.
type ReplyClaim struct {
	Key         string
	Repo        string
	Owner       string
	At          time.Time
	StaleBefore time.Time
	WindowStart time.Time
	Cap         int
}

// Outcomes of ClaimReply.
const (
	ReplyNew     = "new"     // the key was unknown and is now the caller's
	ReplyResumed = "resumed" // an unfinished claim, the caller's own or abandoned, taken over
	ReplyBusy    = "busy"    // another attempt is answering
	ReplyPosted  = "posted"  // answered already
	ReplyLimited = "limited" // the repo reached its cap; nothing recorded
)

// Times are stored in nanoseconds: the cap's window is exact.

// ClaimReply records, in one write transaction, that the reply to a comment
// is being made, so that a reply is never posted twice, across retries and
// restarts, and the per-repo cap holds.
func (q *Queue) ClaimReply(ctx context.Context, c ReplyClaim) (string, error) {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var owner string
	var claimed, posted int64
	err = tx.QueryRowContext(ctx, `SELECT owner, claimed_at, posted_at FROM hubbot_replies WHERE key = $1`, c.Key).
		Scan(&owner, &claimed, &posted)
	outcome := ReplyNew
	switch {
	case err == nil && posted > 0:
		return ReplyPosted, nil
	case err == nil && ((c.Owner != "" && owner == c.Owner) || claimed < c.StaleBefore.UnixNano()):
		if _, err := tx.ExecContext(ctx, `UPDATE hubbot_replies SET owner = $1, claimed_at = $2 WHERE key = $3`,
			c.Owner, c.At.UnixNano(), c.Key); err != nil {
			return "", err
		}
		outcome = ReplyResumed
	case err == nil:
		return ReplyBusy, nil
	case errors.Is(err, sql.ErrNoRows):
		if c.Cap > 0 {
			var n int
			ws := c.WindowStart.UnixNano()
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM hubbot_replies WHERE repo = $1 AND
				((posted_at > 0 AND posted_at >= $2) OR (posted_at = 0 AND claimed_at >= $2))`, c.Repo, ws).Scan(&n); err != nil {
				return "", err
			}
			if n >= c.Cap {
				return ReplyLimited, nil
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO hubbot_replies (key, repo, owner, claimed_at) VALUES ($1, $2, $3, $4)`,
			c.Key, c.Repo, c.Owner, c.At.UnixNano()); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("claim reply %s: %w", c.Key, err)
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	return outcome, nil
}

// ReplyPosted marks a claimed reply as posted.
func (q *Queue) ReplyPosted(ctx context.Context, key string, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE hubbot_replies SET posted_at = $1 WHERE key = $2`, at.UnixNano(), key)
	return err
}

// ReleaseReply forgets an unfinished claim.
func (q *Queue) ReleaseReply(ctx context.Context, key string) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM hubbot_replies WHERE key = $1 AND posted_at = 0`, key)
	return err
}
