package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBrowseQueries(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		release := make(chan struct{})
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			log.Printf("start %s", job.Spec.Action)
			if job.Spec.Action == "slow" {
				select {
				case <-release:
				case <-ctx.Done():
					return Outcome{}, ctx.Err()
				}
				log.Printf("more output")
			}
			return Outcome{State: StateSucceeded, Conclusion: "success", Summary: "ok"}, nil
		}})
		ctx := t.Context()
		rec, err := q.Record(ctx, Delivery{Key: "d1", Scope: "repo.content", Action: "update", Repo: "acme/tiny", Body: []byte(`{"a":1}`),
			Specs: []Spec{spec("refs/heads/main", "aaa", "card"), spec("refs/heads/dev", "bbb", "card")}})
		require.NoError(t, err)
		require.Len(t, rec.Jobs, 2)
		waitState(t, q, rec.Jobs[0], StateSucceeded)
		waitState(t, q, rec.Jobs[1], StateSucceeded)
		rec2, err := q.Record(ctx, Delivery{Key: "d2", Scope: "repo.content", Action: "update", Repo: "acme/tiny", Body: []byte(`{}`),
			Specs: []Spec{spec("refs/heads/main", "ccc", "card")}})
		require.NoError(t, err)
		waitState(t, q, rec2.Jobs[0], StateSucceeded)

		t.Run("find by ref", func(t *testing.T) {
			list, err := q.FindJobs(ctx, JobQuery{Repo: "acme/tiny", Ref: "refs/heads/main"})
			require.NoError(t, err)
			require.Len(t, list, 2)
			assert.Equal(t, []int64{rec2.Jobs[0], rec.Jobs[0]}, []int64{list[0].ID, list[1].ID})
			older, err := q.FindJobs(ctx, JobQuery{Before: list[0].ID, Ref: "refs/heads/main"})
			require.NoError(t, err)
			require.Len(t, older, 1)
		})
		t.Run("latest per target and action", func(t *testing.T) {
			list, err := q.LatestResults(ctx, "acme/tiny")
			require.NoError(t, err)
			require.Len(t, list, 2)
			assert.Equal(t, "ccc", list[0].Spec.SHA, "main's newest run, not its older one")
			assert.Equal(t, "bbb", list[1].Spec.SHA)
		})
		t.Run("delivery body and jobs", func(t *testing.T) {
			all, err := q.Deliveries(ctx, 10)
			require.NoError(t, err)
			d, body, err := q.Delivery(ctx, all[len(all)-1].ID)
			require.NoError(t, err)
			assert.Equal(t, "d1", d.Key)
			assert.JSONEq(t, `{"a":1}`, string(body))
			byKey, err := q.DeliveryJobs(ctx, []string{"d1", "d2", "none"})
			require.NoError(t, err)
			assert.Equal(t, map[string][]int64{"d1": rec.Jobs, "d2": rec2.Jobs}, byKey)
		})
		t.Run("follow and cancel a running job", func(t *testing.T) {
			r, err := q.Record(ctx, Delivery{Key: "d3", Scope: "repo.content", Action: "update", Repo: "acme/tiny", Body: []byte(`{}`),
				Specs: []Spec{spec("refs/heads/main", "ddd", "slow")}})
			require.NoError(t, err)
			id := r.Jobs[0]
			waitState(t, q, id, StateRunning)
			var first LogChunk
			require.Eventually(t, func() bool {
				first, err = q.LogSince(ctx, id, 0)
				return err == nil && first.Text != ""
			}, 5*time.Second, 5*time.Millisecond)
			assert.Contains(t, first.Text, "start slow")
			assert.Equal(t, StateRunning, first.State)
			close(release)
			job := waitState(t, q, id, StateSucceeded)
			next, err := q.LogSince(ctx, id, first.Next)
			require.NoError(t, err)
			assert.False(t, next.Reset)
			assert.Contains(t, next.Text, "more output")
			assert.NotContains(t, next.Text, "start slow", "only what was added")
			assert.Equal(t, job.Log, first.Text+next.Text)
			reset, err := q.LogSince(ctx, id, len(job.Log)+10)
			require.NoError(t, err)
			assert.True(t, reset.Reset)

			assert.ErrorIs(t, q.CancelJob(ctx, id), ErrFinished)
			attempts, err := q.Attempts(ctx, id)
			require.NoError(t, err)
			assert.Empty(t, attempts, "it succeeded on its first attempt")
		})
	})
}

func TestCancelJob(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		started := make(chan struct{}, 1)
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			started <- struct{}{}
			<-ctx.Done()
			return Outcome{}, ctx.Err()
		}})
		ctx := t.Context()
		r, err := q.Record(ctx, Delivery{Key: "c1", Scope: "repo.content", Action: "update", Repo: "acme/tiny", Body: []byte(`{}`),
			Specs: []Spec{spec("refs/heads/main", "aaa", "wait")}})
		require.NoError(t, err)
		<-started
		waitState(t, q, r.Jobs[0], StateRunning)
		require.NoError(t, q.CancelJob(ctx, r.Jobs[0]))
		job := waitState(t, q, r.Jobs[0], StateCancelled)
		assert.Contains(t, job.Log, "cancelled")
	})
}
