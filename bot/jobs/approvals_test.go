package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestApproveOncePerRevision approves a pull request's head: the approval
// and its run job are stored together, survive a restart of the store, and
// neither a second handling of the same comment nor another comment
// approves or queues the same action at the same revision again.
func TestApproveOncePerRevision(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		ran := make(chan *Job, 10)
		h := Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			ran <- job
			return Outcome{State: StateSucceeded, Summary: "fine"}, nil
		}}
		q := startQueue(t, o, h)
		pr := spec("refs/pr/4", "aaa", "tests")
		pr.Trigger, pr.Discussion = "pull_request", 4

		made, existing, err := q.Approve(t.Context(), "c1", "u-alice", []Spec{pr})
		require.NoError(t, err)
		assert.Empty(t, existing)
		require.Len(t, made, 1)
		assert.Equal(t, "aaa", made[0].SHA)
		job := waitState(t, q, made[0].JobID, StateSucceeded)
		assert.Equal(t, "c1", job.Spec.Approval)
		assert.Equal(t, "u-alice", job.Spec.AuthorID, "the approver")
		assert.Equal(t, "aaa", job.Spec.SHA, "the approved revision is pinned")
		<-ran

		// The command job handled again (a crash after the commit), on
		// another replica or after a restart of the store.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		require.NoError(t, q.Stop(ctx))
		cancel()
		again := startQueue(t, o, h)
		got, err := again.CommentApprovals(t.Context(), "acme/tiny", "c1")
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, made[0].JobID, got[0].JobID)
		assert.Equal(t, "u-alice", got[0].ApproverID)

		made, existing, err = again.Approve(t.Context(), "c1", "u-alice", []Spec{pr})
		require.NoError(t, err)
		assert.Empty(t, made, "the same comment approves nothing twice")
		require.Len(t, existing, 1)
		assert.Equal(t, "c1", existing[0].CommentID)
		made, existing, err = again.Approve(t.Context(), "c2", "u-carol", []Spec{pr})
		require.NoError(t, err)
		assert.Empty(t, made, "a revision is approved once per action")
		require.Len(t, existing, 1)
		assert.Equal(t, "c1", existing[0].CommentID, "the first approval stands")

		// The next revision is a new approval.
		next := pr
		next.SHA = "bbb"
		made, _, err = again.Approve(t.Context(), "c3", "u-alice", []Spec{next})
		require.NoError(t, err)
		require.Len(t, made, 1)
		waitState(t, again, made[0].JobID, StateSucceeded)
		<-ran
		select {
		case j := <-ran:
			t.Fatalf("job %d ran more than once per approved revision", j.ID)
		default:
		}
		list, err := again.Jobs(t.Context(), JobFilter{})
		require.NoError(t, err)
		assert.Len(t, list, 2, "one job per approved revision")
	})
}

func TestApproveRefusesWhatIsNotAPullRequestRevision(t *testing.T) {
	q := startQueue(t, Options{DataDir: t.TempDir()}, Handlers{})
	_, _, err := q.Approve(t.Context(), "c1", "u", []Spec{spec("refs/heads/main", "aaa", "tests")})
	assert.ErrorContains(t, err, "not a run of a pull request revision")
	_, _, err = q.Approve(t.Context(), "", "u", nil)
	assert.ErrorContains(t, err, "no comment id")
}
