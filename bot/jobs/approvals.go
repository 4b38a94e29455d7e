package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Approval is an allowed user's consent, given by a comment, to run one
// action on one revision of a pull request whose author the action does
// not trust. The revision is the pull request's head when the comment was
// handled; a later push needs a new approval.
type Approval struct {
	Repo       string // as hubclient.Repo.String() writes it
	Discussion int
	SHA        string
	Action     string
	CommentID  string // the approving comment
	ApproverID string
	JobID      int64 // the run job the approval queued
	CreatedAt  time.Time
}

// CommentApprovals returns what the comment commentID approved in repo:
// a command job handled again after a crash finds the revision it pinned
// the first time instead of reading a head that may have moved since.
func (q *Queue) CommentApprovals(ctx context.Context, repo, commentID string) ([]Approval, error) {
	rs, err := q.db.query(ctx, `SELECT repo, discussion, sha, action, comment_id, approver_id, job_id, created_at
		FROM hubbot_approvals WHERE repo = $1 AND comment_id = $2 ORDER BY action`, repo, commentID)
	var out []Approval
	err = scanAll(rs, err, func(r rows) error {
		a, err := scanApproval(r)
		out = append(out, a)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the approvals of comment %s: %w", commentID, err)
	}
	return out, nil
}

// Approve records that commentID, by approverID, approves the run jobs of
// specs (one per action, all for the same pull request and revision), and
// queues them, in one transaction: a crash leaves either both or neither.
// An action already approved at that revision, by this comment or an
// earlier one, is not approved or queued again: made lists the approvals
// this call recorded, existing the ones it found.
func (q *Queue) Approve(ctx context.Context, commentID, approverID string, specs []Spec) (made, existing []Approval, err error) {
	if commentID == "" {
		return nil, nil, errors.New("approve: no comment id")
	}
	keys := intakeKeys(specs)
	for _, s := range specs {
		keys = append(keys, fmt.Sprintf("approval:%s:%d:%s:%s", s.Repo, s.Discussion, s.SHA, s.Action))
	}
	tx, err := q.beginIntake(ctx, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("approve: %w", err)
	}
	defer tx.rollback(ctx)
	now := q.now()
	var jb jobBatch
	for _, s := range specs {
		if s.Kind != KindRun || s.SHA == "" || s.Discussion == 0 {
			return nil, nil, fmt.Errorf("approve: %s is not a run of a pull request revision", s.DedupeKey())
		}
		s.Approval, s.AuthorID, s.CommentID = commentID, approverID, commentID
		a := Approval{Repo: s.Repo.String(), Discussion: s.Discussion, SHA: s.SHA, Action: s.Action,
			CommentID: commentID, ApproverID: approverID, CreatedAt: now.Truncate(time.Millisecond)}
		n, err := tx.exec(ctx, `INSERT INTO hubbot_approvals (repo, discussion, sha, action, comment_id, approver_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (repo, discussion, sha, action) DO NOTHING`,
			a.Repo, a.Discussion, a.SHA, a.Action, a.CommentID, a.ApproverID, now.UnixMilli())
		if err != nil {
			return nil, nil, fmt.Errorf("approve %s at %s: %w", s.Action, shortSHA(s.SHA), err)
		}
		if n == 0 {
			old, err := scanApproval(tx.queryRow(ctx, `SELECT repo, discussion, sha, action, comment_id, approver_id, job_id, created_at
				FROM hubbot_approvals WHERE repo = $1 AND discussion = $2 AND sha = $3 AND action = $4`, a.Repo, a.Discussion, a.SHA, a.Action))
			if err != nil {
				return nil, nil, fmt.Errorf("read the approval of %s at %s: %w", s.Action, shortSHA(s.SHA), err)
			}
			existing = append(existing, old)
			continue
		}
		ids, err := q.enqueueTx(ctx, tx, &jb, []string{"approval:" + commentID}, []Spec{s}, now, false)
		if err != nil {
			return nil, nil, err
		}
		a.JobID = ids[0]
		if _, err := tx.exec(ctx, `UPDATE hubbot_approvals SET job_id = $1 WHERE repo = $2 AND discussion = $3 AND sha = $4 AND action = $5`,
			a.JobID, a.Repo, a.Discussion, a.SHA, a.Action); err != nil {
			return nil, nil, fmt.Errorf("approve %s at %s: %w", s.Action, shortSHA(s.SHA), err)
		}
		made = append(made, a)
	}
	if err := q.flushJobs(ctx, tx, &jb); err != nil {
		return nil, nil, err
	}
	if err := tx.commit(ctx); err != nil {
		return nil, nil, fmt.Errorf("approve: %w", err)
	}
	q.cancelRiverJobs(jb.cancelRunning)
	return made, existing, nil
}

func scanApproval(r row) (Approval, error) {
	var a Approval
	var created int64
	err := r.Scan(&a.Repo, &a.Discussion, &a.SHA, &a.Action, &a.CommentID, &a.ApproverID, &a.JobID, &created)
	a.CreatedAt = time.UnixMilli(created)
	return a, notFound(err)
}
