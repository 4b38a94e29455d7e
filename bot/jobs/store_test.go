package jobs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs/jobstest"
)

func TestMissingJobIsErrNotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		q := startQueue(t, o, Handlers{})
		_, err := q.Job(t.Context(), 4242)
		require.ErrorIs(t, err, ErrNotFound)
		assert.Contains(t, err.Error(), "read job 4242")
		_, err = q.Retry(t.Context(), 4242)
		require.ErrorIs(t, err, ErrNotFound)
		_, err = q.LatestJob(t.Context(), spec("refs/heads/main", "a", "tests"))
		require.ErrorIs(t, err, ErrNotFound)
	})
}

func TestReportLocationsAndBotCommits(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		q := startQueue(t, o, Handlers{})
		s := spec("refs/pr/3", "a", "tests")
		s.Discussion = 3
		loc, err := q.ReportLocation(t.Context(), s)
		require.NoError(t, err)
		assert.Nil(t, loc)
		require.NoError(t, q.SaveReportLocation(t.Context(), s, ReportLocation{Discussion: 3, CommentID: "c1", Fingerprint: "f1"}))
		require.NoError(t, q.SaveReportLocation(t.Context(), s, ReportLocation{Discussion: 3, CommentID: "c2", Fingerprint: "f2", Status: "open"}))
		loc, err = q.ReportLocation(t.Context(), s)
		require.NoError(t, err)
		assert.Equal(t, &ReportLocation{Discussion: 3, CommentID: "c2", Fingerprint: "f2", Status: "open"}, loc)

		ok, err := q.IsBotCommit(t.Context(), "acme/tiny", "abc")
		require.NoError(t, err)
		assert.False(t, ok)
		require.NoError(t, q.RecordBotCommit(t.Context(), "acme/tiny", "abc"))
		require.NoError(t, q.RecordBotCommit(t.Context(), "acme/tiny", "abc"), "recording twice is fine")
		ok, err = q.IsBotCommit(t.Context(), "acme/tiny", "abc")
		require.NoError(t, err)
		assert.True(t, ok)
	})
}

// TestLockReport: one owner at a time holds a report's lease, and reads
// the newest job (without its log) and the report's location with it.
func TestLockReport(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		q, err := New(t.Context(), o)
		require.NoError(t, err)
		t.Cleanup(func() { q.Close() })
		ctx := t.Context()
		s := spec("refs/pr/3", "a", "tests")
		s.Discussion = 3

		r, err := q.LockReport(ctx, s, -1, time.Minute)
		require.NoError(t, err)
		require.NotNil(t, r)
		assert.Nil(t, r.Latest, "no job yet")
		assert.Nil(t, r.Location, "no report yet")
		busy, err := q.LockReport(ctx, s, -2, time.Minute)
		require.NoError(t, err)
		assert.Nil(t, busy, "another owner holds the lease")
		other := s
		other.Action = "card"
		r2, err := q.LockReport(ctx, other, -2, time.Minute)
		require.NoError(t, err)
		assert.NotNil(t, r2, "another action's report has its own lease")
		q.UnlockReport(ctx, other, -2)

		require.NoError(t, q.SaveReportLocation(ctx, s, ReportLocation{Discussion: 3, CommentID: "c1"}))
		ids, err := q.Enqueue(ctx, "test", []Spec{s, func() Spec { n := s; n.SHA = "b"; return n }()})
		require.NoError(t, err)
		q.UnlockReport(ctx, s, -1)
		r, err = q.LockReport(ctx, s, -2, time.Minute)
		require.NoError(t, err)
		require.NotNil(t, r, "released")
		require.NotNil(t, r.Latest)
		assert.Equal(t, ids[len(ids)-1], r.Latest.ID, "the newest job")
		assert.Equal(t, "b", r.Latest.Spec.SHA)
		assert.Equal(t, &ReportLocation{Discussion: 3, CommentID: "c1"}, r.Location)
		q.UnlockReport(ctx, s, -2)
	})
}

func TestReplyLedger(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		q := startQueue(t, o, Handlers{})
		at := time.Unix(1_700_000_000, 0)
		claim := func(key, owner string, at time.Time) string {
			t.Helper()
			got, err := q.ClaimReply(t.Context(), ReplyClaim{Key: key, Repo: "acme/tiny", Owner: owner, At: at,
				StaleBefore: at.Add(-time.Minute), WindowStart: at.Add(-time.Hour), Cap: 2})
			require.NoError(t, err)
			return got
		}
		assert.Equal(t, ReplyNew, claim("r1", "job1", at))
		assert.Equal(t, ReplyBusy, claim("r1", "job2", at), "another attempt is answering")
		assert.Equal(t, ReplyResumed, claim("r1", "job1", at), "the same owner resumes")
		assert.Equal(t, ReplyResumed, claim("r1", "job2", at.Add(2*time.Minute)), "an abandoned claim is taken over")
		require.NoError(t, q.ReplyPosted(t.Context(), "r1", at))
		assert.Equal(t, ReplyPosted, claim("r1", "job3", at))
		assert.Equal(t, ReplyNew, claim("r2", "job4", at))
		assert.Equal(t, ReplyLimited, claim("r3", "job5", at), "the repo reached its cap")
		require.NoError(t, q.ReleaseReply(t.Context(), "r2"))
		assert.Equal(t, ReplyNew, claim("r3", "job5", at), "a released claim frees its place")
	})
}

func TestCancelQueuedAndRunning(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		running := make(chan struct{}, 1)
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			running <- struct{}{}
			<-ctx.Done()
			return Outcome{}, ctx.Err()
		}})
		ids, err := q.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "a", "one"), spec("refs/heads/main", "a", "two")})
		require.NoError(t, err)
		<-running // one runs, the other waits for the ref
		n, err := q.Cancel(t.Context(), "acme/tiny", "refs/heads/main", nil)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		for _, id := range ids {
			waitState(t, q, id, StateCancelled)
		}
	})
}

func TestMigrationsAreVersionedAndIdempotent(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		st, err := Status(t.Context(), o.DataDir, o.DatabaseURL)
		require.NoError(t, err)
		assert.False(t, st.Current())
		assert.Zero(t, st.HubbotApplied)

		// Replicas starting together migrate once, in turn; the embedded
		// store has one process, which migrates again at each start.
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			if o.DatabaseURL == "" {
				_, errs[i] = Migrate(t.Context(), o.DataDir, o.DatabaseURL)
				continue
			}
			wg.Go(func() { _, errs[i] = Migrate(t.Context(), o.DataDir, o.DatabaseURL) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		st, err = Status(t.Context(), o.DataDir, o.DatabaseURL)
		require.NoError(t, err)
		assert.True(t, st.Current(), "%+v", st)
		assert.Equal(t, len(migrations), st.HubbotApplied)
		assert.Positive(t, st.RiverApplied)
	})
}

// TestSweepBoundsTheStore streams deliveries over simulated weeks and
// sweeps every day: once the retention period is full, what the store keeps
// stops growing, and what dedupe needs stays.
func TestSweepBoundsTheStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		var clock atomic.Int64
		clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
		o.Now = func() time.Time { return time.UnixMilli(clock.Load()) }
		o.Retention = 3 * 24 * time.Hour
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			log.Write(bytes.Repeat([]byte("output\x00"), 512)) // some output to keep, with a NUL Postgres refuses
			return Outcome{State: StateSucceeded}, nil
		}})
		count := func(query string) int64 {
			var n int64
			require.NoError(t, q.db.queryRow(t.Context(), query).Scan(&n))
			return n
		}
		var sizes []int64
		var lastKey string
		for day := range 10 {
			var ids []int64
			for i := range 20 {
				lastKey = fmt.Sprintf("d%d-%d", day, i)
				rec, err := q.Record(t.Context(), Delivery{Key: lastKey, Scope: "repo.content", Action: "update", Repo: "acme/tiny",
					Body: make([]byte, 1<<10), Specs: []Spec{spec(fmt.Sprintf("refs/heads/b%d", i), lastKey, "tests")}})
				require.NoError(t, err)
				ids = append(ids, rec.Jobs...)
			}
			for _, id := range ids {
				require.Eventually(t, func() bool {
					j, err := q.Job(t.Context(), id)
					return err == nil && Terminal(j.State)
				}, 20*time.Second, 5*time.Millisecond)
			}
			clock.Add((23 * time.Hour).Milliseconds()) // the last delivery is still inside the dedupe window
			_, err := q.Sweep(t.Context())
			require.NoError(t, err)
			size := count(`SELECT COUNT(*) FROM hubbot_deliveries`) + count(`SELECT COUNT(*) FROM hubbot_jobs`) +
				count(`SELECT COALESCE(SUM(LENGTH(log)), 0) FROM hubbot_jobs`)
			sizes = append(sizes, size)
		}
		t.Logf("store size by day (rows + log bytes): %v", sizes)
		for _, s := range sizes[6:] {
			assert.Equal(t, sizes[5], s, "the store stopped growing once the retention period was full")
		}
		assert.Greater(t, sizes[5], sizes[0])
		// The newest deliveries are still known: a replay is a duplicate.
		rec, err := q.Record(t.Context(), Delivery{Key: lastKey, Scope: "repo.content", Action: "update", Repo: "acme/tiny"})
		require.NoError(t, err)
		assert.Equal(t, OutcomeDuplicate, rec.Outcome)
		if o.DatabaseURL == "" {
			st, err := os.Stat(filepath.Join(o.DataDir, "hubbot.db-wal"))
			if err == nil {
				assert.Less(t, st.Size(), int64(4<<20), "the write-ahead log was checkpointed")
			}
		}
	})
}

// startReplica starts one more queue on the same store, as another replica
// would.
func startReplica(t *testing.T, url string, h Handlers) *Queue {
	t.Helper()
	return startQueue(t, Options{DataDir: t.TempDir(), DatabaseURL: url, RescueAfter: time.Second, Concurrency: 2}, h)
}

func TestReplicasRecordADeliveryOnce(t *testing.T) {
	url := jobstest.PostgresURL(t)
	var ran atomic.Int32
	h := Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
		ran.Add(1)
		return Outcome{State: StateSucceeded}, nil
	}}
	replicas := []*Queue{startReplica(t, url, h), startReplica(t, url, h), startReplica(t, url, h)}
	// Each delivery reaches every replica at once (the Hub retried, a
	// load balancer replayed it).
	var wg sync.WaitGroup
	outcomes := make(chan string, 3*20)
	for i := range 20 {
		for _, q := range replicas {
			wg.Go(func() {
				rec, err := q.Record(t.Context(), Delivery{Key: fmt.Sprintf("k%d", i), Scope: "repo.content", Action: "update",
					Repo: "acme/tiny", Specs: []Spec{spec(fmt.Sprintf("refs/heads/b%d", i), "a", "tests")}})
				assert.NoError(t, err)
				outcomes <- rec.Outcome
			})
		}
	}
	wg.Wait()
	close(outcomes)
	counts := map[string]int{}
	for o := range outcomes {
		counts[o]++
	}
	assert.Equal(t, map[string]int{OutcomeQueued: 20, OutcomeDuplicate: 40}, counts)
	require.Eventually(t, func() bool {
		list, err := replicas[0].Jobs(t.Context(), JobFilter{State: StateSucceeded})
		return err == nil && len(list) == 20
	}, 20*time.Second, 10*time.Millisecond)
	assert.EqualValues(t, 20, ran.Load())
}

func TestRefLockHoldsAcrossReplicas(t *testing.T) {
	url := jobstest.PostgresURL(t)
	var mu sync.Mutex
	active, maxActive := 0, 0
	h := Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
		mu.Lock()
		active++
		maxActive = max(maxActive, active)
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		active--
		mu.Unlock()
		return Outcome{State: StateSucceeded}, nil
	}}
	a, _ := startReplica(t, url, h), startReplica(t, url, h)
	ids, err := a.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "a", "one"), spec("refs/heads/main", "a", "two"),
		spec("refs/heads/main", "a", "three"), spec("refs/heads/main", "a", "four")})
	require.NoError(t, err)
	for _, id := range ids {
		waitState(t, a, id, StateSucceeded)
	}
	assert.Equal(t, 1, maxActive)
}

// TestDeadReplicasJobRunsOnAnother: a replica dies in the middle of a job
// (its database connections vanish, nothing is cleaned up); another replica
// runs the job within the configured bound, once.
func TestDeadReplicasJobRunsOnAnother(t *testing.T) {
	url := jobstest.PostgresURL(t)
	started := make(chan string, 4)
	dead, err := New(t.Context(), Options{DataDir: t.TempDir(), DatabaseURL: url, RescueAfter: time.Second,
		Handlers: Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			started <- "dead"
			<-ctx.Done()
			return Outcome{}, ctx.Err()
		}}})
	require.NoError(t, err)
	require.NoError(t, dead.Start(t.Context()))
	ids, err := dead.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "a", "one")})
	require.NoError(t, err)
	require.Equal(t, "dead", <-started)
	dead.Close() // the pool goes away with the job running: as kill -9 leaves it

	var runs atomic.Int32
	alive := startReplica(t, url, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
		runs.Add(1)
		return Outcome{State: StateSucceeded, Summary: "second life"}, nil
	}})
	job := waitState(t, alive, ids[0], StateSucceeded)
	assert.Equal(t, "second life", job.Summary)
	assert.EqualValues(t, 1, runs.Load())
}

// TestRescuedJobOfALiveReplicaDoesNotRunTwice: River rescues a job that
// runs longer than the bound even though its replica is alive; the job's
// lease, renewed by that replica, keeps the others from running it.
func TestRescuedJobOfALiveReplicaDoesNotRunTwice(t *testing.T) {
	url := jobstest.PostgresURL(t)
	var runs atomic.Int32
	h := Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
		runs.Add(1)
		select {
		case <-time.After(4 * time.Second): // four times the bound
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		}
		return Outcome{State: StateSucceeded}, nil
	}}
	a, _ := startReplica(t, url, h), startReplica(t, url, h)
	ids, err := a.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "a", "slow")})
	require.NoError(t, err)
	job := waitState(t, a, ids[0], StateSucceeded)
	assert.Equal(t, 1, job.Attempt)
	assert.EqualValues(t, 1, runs.Load())
}

func TestScheduleFiresOnceAcrossReplicas(t *testing.T) {
	url := jobstest.PostgresURL(t)
	var mu sync.Mutex
	var firings []time.Time
	h := Handlers{Schedule: func(ctx context.Context, action string, repos []string) ([]Spec, error) {
		mu.Lock()
		firings = append(firings, time.Now())
		mu.Unlock()
		return nil, nil
	}}
	sched := PeriodicJobs([]*Schedule{{Index: 0, When: everySecond{}, Action: "tests", Repos: []string{"acme/tiny"}}})
	for range 3 {
		startQueue(t, Options{DataDir: t.TempDir(), DatabaseURL: url, Periodic: sched}, h)
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(firings) >= 5
	}, 30*time.Second, 20*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	// Three replicas each firing would give about three firings per tick;
	// one leader gives one (a late one may share a second with the next).
	ticks := int(firings[len(firings)-1].Sub(firings[0]).Round(time.Second)/time.Second) + 1
	t.Logf("%d firings over %d ticks across three replicas", len(firings), ticks)
	assert.LessOrEqual(t, len(firings), ticks+1)
}

// everySecond is a schedule firing on each whole second.
type everySecond struct{}

func (everySecond) Next(t time.Time) time.Time { return t.Truncate(time.Second).Add(time.Second) }

// TestDrainedReplicasWorkRunsOnAnother: a replica stopping (SIGTERM) with a
// job running and one queued leaves both to the other replicas.
func TestDrainedReplicasWorkRunsOnAnother(t *testing.T) {
	url := jobstest.PostgresURL(t)
	started := make(chan struct{}, 4)
	a, err := New(t.Context(), Options{DataDir: t.TempDir(), DatabaseURL: url, Concurrency: 1,
		Handlers: Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			started <- struct{}{}
			<-ctx.Done()
			return Outcome{}, ctx.Err()
		}}})
	require.NoError(t, err)
	require.NoError(t, a.Start(t.Context()))
	ids, err := a.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/one", "a", "tests"), spec("refs/heads/two", "a", "tests")})
	require.NoError(t, err)
	<-started // one runs; the other waits for a free worker
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	require.NoError(t, a.Stop(ctx))
	cancel()

	b := startReplica(t, url, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
		return Outcome{State: StateSucceeded}, nil
	}})
	for _, id := range ids {
		waitState(t, b, id, StateSucceeded)
	}
}
