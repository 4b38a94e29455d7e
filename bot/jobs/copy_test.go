package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs/jobstest"
)

// TestCopyFromSQLiteToPostgres moves an embedded store to Postgres: a
// replayed delivery is still a duplicate there, finished jobs keep their
// ids and logs, unfinished work runs, and what publishing and chat-ops
// remember comes along.
func TestCopyFromSQLiteToPostgres(t *testing.T) {
	url := jobstest.PostgresURL(t)
	dir := t.TempDir()
	succeed := Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
		log.Printf("ran %s", job.Spec.SHA)
		return Outcome{State: StateSucceeded, Summary: "fine"}, nil
	}}

	src, err := New(t.Context(), Options{DataDir: dir, Handlers: succeed})
	require.NoError(t, err)
	require.NoError(t, src.Start(t.Context()))
	d := Delivery{Key: "content:acme/tiny:refs/heads/main@aaa", Scope: "repo.content", Action: "update", Repo: "acme/tiny",
		Body: []byte(`{"event":{}}`), Specs: []Spec{spec("refs/heads/main", "aaa", "tests")}}
	rec, err := src.Record(t.Context(), d)
	require.NoError(t, err)
	done := waitState(t, src, rec.Jobs[0], StateSucceeded)
	pr := spec("refs/pr/2", "bbb", "tests")
	pr.Discussion = 2
	require.NoError(t, src.SaveReportLocation(t.Context(), pr, ReportLocation{Discussion: 2, CommentID: "c9"}))
	require.NoError(t, src.RecordBotCommit(t.Context(), "acme/tiny", "ccc"))
	seen := time.UnixMilli(1_700_000_000_000).UTC()
	require.NoError(t, src.SaveCursor(t.Context(), Cursor{Repo: "acme/tiny", Discussion: 2, SeenAt: seen, ScannedAt: seen}))
	approved := spec("refs/pr/2", "bbb", "tests")
	approved.Discussion = 2
	made, _, err := src.Approve(t.Context(), "c7", "u1", []Spec{approved})
	require.NoError(t, err)
	require.Len(t, made, 1)
	waitState(t, src, made[0].JobID, StateSucceeded)
	_, err = src.ClaimReply(t.Context(), ReplyClaim{Key: "reply-1", Repo: "acme/tiny", Owner: "o", At: time.Now()})
	require.NoError(t, err)
	require.NoError(t, src.ReplyPosted(t.Context(), "reply-1", time.Now()))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	require.NoError(t, src.Stop(ctx))
	cancel()
	// Work queued while no worker runs (the bot stopped with a queue).
	idle, err := New(t.Context(), Options{DataDir: dir})
	require.NoError(t, err)
	queued, err := idle.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/dev", "ddd", "tests")})
	require.NoError(t, err)
	require.NoError(t, idle.Close())

	copied, err := Copy(t.Context(), dir, url)
	require.NoError(t, err)
	assert.Equal(t, Copied{"hubbot_deliveries": 1, "hubbot_jobs": 3, "hubbot_reports": 1, "hubbot_replies": 1,
		"hubbot_bot_commits": 1, "hubbot_cursors": 1, "hubbot_approvals": 1, "requeued jobs": 1}, copied)
	_, err = Copy(t.Context(), dir, url)
	assert.ErrorContains(t, err, "already has deliveries or jobs", "a second copy would mix two histories")

	dst := startQueue(t, Options{DataDir: t.TempDir(), DatabaseURL: url}, succeed)
	moved, err := dst.Job(t.Context(), done.ID)
	require.NoError(t, err)
	assert.Equal(t, StateSucceeded, moved.State)
	assert.Contains(t, moved.Log, "ran aaa")
	waitState(t, dst, queued[0], StateSucceeded)
	rec, err = dst.Record(t.Context(), d)
	require.NoError(t, err)
	assert.Equal(t, OutcomeDuplicate, rec.Outcome)
	loc, err := dst.ReportLocation(t.Context(), pr)
	require.NoError(t, err)
	assert.Equal(t, "c9", loc.CommentID)
	own, err := dst.IsBotCommit(t.Context(), "acme/tiny", "ccc")
	require.NoError(t, err)
	assert.True(t, own)
	cursors, err := dst.Cursors(t.Context(), "acme/tiny")
	require.NoError(t, err)
	assert.Equal(t, seen, cursors[2].SeenAt, "how far recovery read comments comes along")
	kept, err := dst.CommentApprovals(t.Context(), "acme/tiny", "c7")
	require.NoError(t, err)
	require.Len(t, kept, 1)
	assert.Equal(t, "bbb", kept[0].SHA)
	got, err := dst.ClaimReply(t.Context(), ReplyClaim{Key: "reply-1", Repo: "acme/tiny", Owner: "p", At: time.Now()})
	require.NoError(t, err)
	assert.Equal(t, ReplyPosted, got)
	// New jobs get ids after the copied ones.
	ids, err := dst.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/x", "eee", "tests")})
	require.NoError(t, err)
	assert.Greater(t, ids[0], queued[0])
}
