package jobs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommentCursors(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		q := startQueue(t, o, Handlers{})
		got, err := q.Cursors(t.Context(), "acme/tiny")
		require.NoError(t, err)
		assert.Empty(t, got)

		at := time.UnixMilli(1_700_000_000_000).UTC()
		for num := 1; num <= 3; num++ {
			require.NoError(t, q.SaveCursor(t.Context(), Cursor{Repo: "acme/tiny", Discussion: num, SeenAt: at, ScannedAt: at}))
		}
		later := at.Add(time.Hour)
		require.NoError(t, q.SaveCursor(t.Context(), Cursor{Repo: "acme/tiny", Discussion: 2, SeenAt: later, ScannedAt: later}))
		require.NoError(t, q.SaveCursor(t.Context(), Cursor{Repo: "acme/other", Discussion: 2, SeenAt: at, ScannedAt: at}))
		got, err = q.Cursors(t.Context(), "acme/tiny")
		require.NoError(t, err)
		require.Len(t, got, 3)
		assert.Equal(t, later, got[2].SeenAt)
		assert.Equal(t, at, got[1].ScannedAt)

		require.NoError(t, q.PruneCursors(t.Context(), "acme/tiny", []int{2}), "#1 and #3 were closed")
		got, err = q.Cursors(t.Context(), "acme/tiny")
		require.NoError(t, err)
		assert.Equal(t, []int{2}, keys(got))
		require.NoError(t, q.PruneCursors(t.Context(), "acme/tiny", nil))
		got, err = q.Cursors(t.Context(), "acme/tiny")
		require.NoError(t, err)
		assert.Empty(t, got)
		other, err := q.Cursors(t.Context(), "acme/other")
		require.NoError(t, err)
		assert.Len(t, other, 1, "other repos keep theirs")
	})
}

func TestRecordDoneCountsAsProcessed(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		q := startQueue(t, o, Handlers{})
		s := spec("refs/heads/main", "aaa", "tests")
		_, err := q.RecordDone(t.Context(), "recovery", s, Outcome{State: StateQueued})
		require.Error(t, err, "only finished work is recorded")

		id, err := q.RecordDone(t.Context(), "recovery", s, Outcome{State: StateFailed, Conclusion: "failure",
			Summary: "rebuilt", Fingerprint: "fp"})
		require.NoError(t, err)
		done, err := q.Processed(t.Context(), s)
		require.NoError(t, err)
		assert.True(t, done)
		last, err := q.LastSHA(t.Context(), "acme/tiny", "refs/heads/main", "tests")
		require.NoError(t, err)
		assert.Equal(t, "aaa", last)
		j, err := q.Job(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, StateFailed, j.State)
		assert.False(t, j.FinishedAt.IsZero())

		// A replayed delivery of the same revision queues nothing.
		rec, err := q.Record(t.Context(), Delivery{Key: "content:acme/tiny:refs/heads/main@aaa", Scope: "repo.content",
			Action: "update", Repo: "acme/tiny", Body: []byte(`{}`), Specs: []Spec{s}})
		require.NoError(t, err)
		assert.Empty(t, rec.Jobs)
	})
}

func keys(m map[int]Cursor) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}
