package jobs

import (
	"context"
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
	tx, err := q.db.begin(ctx)
	if err != nil {
		return "", fmt.Errorf("claim reply %s: %w", c.Key, err)
	}
	defer tx.rollback(ctx)
	if q.b.postgres() {
		// Replicas claiming replies of the same repo take turns, so that
		// the cap's count and the insert see each other's claims.
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "reply:"+c.Repo); err != nil {
			return "", fmt.Errorf("claim reply %s: %w", c.Key, err)
		}
	}
	var owner string
	var claimed, posted int64
	err = tx.queryRow(ctx, `SELECT owner, claimed_at, posted_at FROM hubbot_replies WHERE key = $1`, c.Key).
		Scan(&owner, &claimed, &posted)
	outcome := ReplyNew
	switch {
	case err == nil && posted > 0:
		return ReplyPosted, nil
	case err == nil && ((c.Owner != "" && owner == c.Owner) || claimed < c.StaleBefore.UnixNano()):
		if _, err := tx.exec(ctx, `UPDATE hubbot_replies SET owner = $1, claimed_at = $2 WHERE key = $3`,
			c.Owner, c.At.UnixNano(), c.Key); err != nil {
			return "", fmt.Errorf("claim reply %s: %w", c.Key, err)
		}
		outcome = ReplyResumed
	case err == nil:
		return ReplyBusy, nil
	case errors.Is(err, ErrNotFound):
		if c.Cap > 0 {
			var n int
			ws := c.WindowStart.UnixNano()
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM hubbot_replies WHERE repo = $1 AND
				((posted_at > 0 AND posted_at >= $2) OR (posted_at = 0 AND claimed_at >= $2))`, c.Repo, ws).Scan(&n); err != nil {
				return "", fmt.Errorf("count replies of %s: %w", c.Repo, err)
			}
			if n >= c.Cap {
				return ReplyLimited, nil
			}
		}
		if _, err := tx.exec(ctx, `INSERT INTO hubbot_replies (key, repo, owner, claimed_at) VALUES ($1, $2, $3, $4)`,
			c.Key, c.Repo, c.Owner, c.At.UnixNano()); err != nil {
			return "", fmt.Errorf("claim reply %s: %w", c.Key, err)
		}
	default:
		return "", fmt.Errorf("claim reply %s: %w", c.Key, err)
	}
	if err := tx.commit(ctx); err != nil {
		return "", fmt.Errorf("claim reply %s: %w", c.Key, err)
	}
	return outcome, nil
}

// ReplyPosted marks a claimed reply as posted.
func (q *Queue) ReplyPosted(ctx context.Context, key string, at time.Time) error {
	if _, err := q.db.exec(ctx, `UPDATE hubbot_replies SET posted_at = $1 WHERE key = $2`, at.UnixNano(), key); err != nil {
		return fmt.Errorf("mark reply %s posted: %w", key, err)
	}
	return nil
}

// ReleaseReply forgets an unfinished claim.
func (q *Queue) ReleaseReply(ctx context.Context, key string) error {
	if _, err := q.db.exec(ctx, `DELETE FROM hubbot_replies WHERE key = $1 AND posted_at = 0`, key); err != nil {
		return fmt.Errorf("release reply %s: %w", key, err)
	}
	return nil
}
