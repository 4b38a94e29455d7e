package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs/jobstest"
	"github.com/hubbot/hubbot/hubclient"
)

func spec(ref, sha, action string) Spec {
	return Spec{Kind: KindRun, Action: action, Trigger: "push", Repo: hubclient.Repo{ID: "acme/tiny"}, Ref: ref, SHA: sha}
}

// The store's contract: every test that takes a store runs against the
// embedded SQLite store and against Postgres (skipped, saying why, when no
// server is configured), each in a fresh database of its own.
type store struct {
	name string
	open func(t testing.TB) Options
}

var stores = []store{
	{"sqlite", func(t testing.TB) Options { return Options{DataDir: t.TempDir()} }},
	{"postgres", func(t testing.TB) Options {
		return Options{DataDir: t.TempDir(), DatabaseURL: jobstest.PostgresURL(t)}
	}},
}

// forEachStore runs fn against each store.
func forEachStore(t *testing.T, fn func(t *testing.T, o Options)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { fn(t, s.open(t)) })
	}
}

func startQueue(t *testing.T, o Options, h Handlers) *Queue {
	t.Helper()
	if o.Concurrency == 0 {
		o.Concurrency = 2
	}
	o.Handlers = h
	q, err := New(t.Context(), o)
	require.NoError(t, err)
	require.NoError(t, q.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	return q
}

func waitState(t *testing.T, q *Queue, id int64, state State) *Job {
	t.Helper()
	var job *Job
	require.Eventually(t, func() bool {
		var err error
		job, err = q.Job(context.Background(), id)
		return err == nil && job.State == state
	}, 10*time.Second, 5*time.Millisecond, "job %d never reached %s", id, state)
	return job
}

func TestRecordRunsJobsOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		var mu sync.Mutex
		ran := map[string]int{}
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			mu.Lock()
			ran[job.Spec.SHA]++
			mu.Unlock()
			log.Printf("ran %s", job.Spec.SHA)
			return Outcome{State: StateSucceeded, Conclusion: "success", Summary: "fine"}, nil
		}})
		d := Delivery{Key: "content:acme/tiny:refs/heads/main@aaa", Scope: "repo.content", Action: "update", Repo: "acme/tiny",
			Body: []byte(`{}`), Specs: []Spec{spec("refs/heads/main", "aaa", "tests")}}
		rec, err := q.Record(t.Context(), d)
		require.NoError(t, err)
		assert.Equal(t, OutcomeQueued, rec.Outcome)
		require.Len(t, rec.Jobs, 1)
		job := waitState(t, q, rec.Jobs[0], StateSucceeded)
		assert.Equal(t, "fine", job.Summary)
		assert.Contains(t, job.Log, "ran aaa")
		assert.Equal(t, 1, job.Attempt)

		// A replay is a duplicate and creates no job.
		rec, err = q.Record(t.Context(), d)
		require.NoError(t, err)
		assert.Equal(t, OutcomeDuplicate, rec.Outcome)
		assert.Empty(t, rec.Jobs)

		// An ignored delivery is recorded as such.
		rec, err = q.Record(t.Context(), Delivery{Key: "x", Scope: "repo.config", Action: "update", Repo: "acme/tiny", Ignored: "not handled"})
		require.NoError(t, err)
		assert.Equal(t, OutcomeIgnored, rec.Outcome)

		list, err := q.Deliveries(t.Context(), 10)
		require.NoError(t, err)
		require.Len(t, list, 3)
		assert.Equal(t, []string{OutcomeIgnored, OutcomeDuplicate, OutcomeQueued}, []string{list[0].Outcome, list[1].Outcome, list[2].Outcome})
		mu.Lock()
		assert.Equal(t, 1, ran["aaa"])
		mu.Unlock()

		// An operator retry runs it again as a new job.
		newID, err := q.Retry(t.Context(), job.ID)
		require.NoError(t, err)
		retried := waitState(t, q, newID, StateSucceeded)
		assert.Equal(t, job.ID, retried.RetryOf)
		assert.Equal(t, TriggerRetry, retried.Spec.Trigger)
	})
}

func TestConcurrentDeliveriesShareTransactions(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			return Outcome{State: StateSucceeded}, nil
		}})
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := fmt.Sprintf("k%d", i%150) // 50 replays among them
				_, err := q.Record(t.Context(), Delivery{Key: key, Scope: "repo.content", Action: "update", Repo: "acme/tiny",
					Specs: []Spec{spec(fmt.Sprintf("refs/heads/b%d", i%150), "sha", "tests")}})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		list, err := q.Deliveries(t.Context(), 1000)
		require.NoError(t, err)
		counts := map[string]int{}
		for _, d := range list {
			counts[d.Outcome]++
		}
		assert.Equal(t, 150, counts[OutcomeQueued])
		assert.Equal(t, 50, counts[OutcomeDuplicate])
	})
}

func TestSupersede(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		started := make(chan int64, 10)
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			started <- job.ID
			if job.Spec.SHA == "old" {
				<-ctx.Done() // a long job
				return Outcome{}, ctx.Err()
			}
			return Outcome{State: StateSucceeded}, nil
		}})
		ids, err := q.Enqueue(t.Context(), "test", []Spec{spec("refs/pr/1", "old", "tests")})
		require.NoError(t, err)
		require.Equal(t, ids[0], <-started)
		waitState(t, q, ids[0], StateRunning)

		newIDs, err := q.Enqueue(t.Context(), "test", []Spec{spec("refs/pr/1", "new", "tests")})
		require.NoError(t, err)
		old := waitState(t, q, ids[0], StateSkipped)
		assert.Equal(t, newIDs[0], old.SupersededBy)
		assert.Equal(t, "superseded", old.Conclusion)
		waitState(t, q, newIDs[0], StateSucceeded)
	})
}

// TestSupersedeWithinOneBatch: deliveries committed together supersede one
// another in order, as if they had come one by one: of three revisions of a
// ref, the queued older one and the first of the batch are skipped, the
// last runs; the same revision asked for twice is queued once.
func TestSupersedeWithinOneBatch(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		block := make(chan struct{})
		var mu sync.Mutex
		ran := map[string]int{}
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			if strings.HasPrefix(job.Spec.Ref, "refs/heads/busy") {
				<-block
			}
			mu.Lock()
			ran[job.Spec.SHA]++
			mu.Unlock()
			return Outcome{State: StateSucceeded}, nil
		}})
		defer close(block)
		// Both workers busy, so that "old" stays queued.
		busy, err := q.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/busy1", "x", "a"), spec("refs/heads/busy2", "x", "a")})
		require.NoError(t, err)
		waitState(t, q, busy[0], StateRunning)
		waitState(t, q, busy[1], StateRunning)
		old, err := q.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "old", "tests")})
		require.NoError(t, err)

		ids, err := q.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "first", "tests"),
			spec("refs/heads/main", "last", "tests"), spec("refs/heads/main", "last", "tests")})
		require.NoError(t, err)
		require.Len(t, ids, 2, "the same revision twice is one job")
		for _, c := range []struct {
			id  int64
			by  int64
			sha string
		}{{old[0], ids[0], "first"}, {ids[0], ids[1], "last"}} {
			job, err := q.Job(t.Context(), c.id)
			require.NoError(t, err)
			assert.Equal(t, StateSkipped, job.State)
			assert.Equal(t, c.by, job.SupersededBy)
			assert.Equal(t, "superseded by "+c.sha, job.Summary)
		}
		block <- struct{}{}
		block <- struct{}{}
		waitState(t, q, ids[1], StateSucceeded)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, map[string]int{"x": 2, "last": 1}, ran)
	})
}

func TestSameRefNeverRunsConcurrently(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		var mu sync.Mutex
		active, maxActive := map[string]int{}, 0
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			mu.Lock()
			active[job.Spec.Ref]++
			maxActive = max(maxActive, active[job.Spec.Ref])
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			active[job.Spec.Ref]--
			mu.Unlock()
			return Outcome{State: StateSucceeded}, nil
		}})
		// Two actions on the same ref and sha: neither supersedes the other.
		ids, err := q.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "a", "one"), spec("refs/heads/main", "a", "two")})
		require.NoError(t, err)
		for _, id := range ids {
			waitState(t, q, id, StateSucceeded)
		}
		assert.Equal(t, 1, maxActive)
	})
}

func TestTemporaryErrorsRetry(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		var mu sync.Mutex
		calls := 0
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return Outcome{}, Temporary(errors.New("hub answered 503"))
			}
			return Outcome{State: StateSucceeded}, nil
		}})
		ids, err := q.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "a", "one")})
		require.NoError(t, err)
		job := waitState(t, q, ids[0], StateSucceeded)
		assert.Equal(t, 2, job.Attempt)
		assert.Contains(t, job.Log, "temporary error")
		// River gives up after the attempts the bot counts on (see MaxAttempts).
		var riverID int64
		require.NoError(t, q.db.queryRow(t.Context(), `SELECT river_id FROM hubbot_jobs WHERE id = $1`, ids[0]).Scan(&riverID))
		rj, err := q.river.JobGet(t.Context(), riverID)
		require.NoError(t, err)
		assert.Equal(t, MaxAttempts, rj.MaxAttempts)
	})
}

func TestPermanentErrorFailsAndPanicsAreContained(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			if job.Spec.Action == "panics" {
				panic("boom")
			}
			return Outcome{}, errors.New("clone failed: repository not found")
		}})
		ids, err := q.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "a", "fails"), spec("refs/heads/x", "a", "panics")})
		require.NoError(t, err)
		job := waitState(t, q, ids[0], StateFailed)
		assert.Equal(t, "clone failed: repository not found", job.Summary)
		job = waitState(t, q, ids[1], StateFailed)
		assert.Contains(t, job.Summary, "panic: boom")
	})
}

func TestCrashedRunningJobRunsAtNextStart(t *testing.T) {
	dir := t.TempDir()
	block := make(chan struct{})
	q1, err := New(t.Context(), Options{DataDir: dir, Concurrency: 1, Handlers: Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return Outcome{}, errors.New("the process died here")
	}}})
	require.NoError(t, err)
	require.NoError(t, q1.Start(t.Context()))
	ids, err := q1.Enqueue(t.Context(), "test", []Spec{spec("refs/heads/main", "a", "one")})
	require.NoError(t, err)
	waitState(t, q1, ids[0], StateRunning)
	// Simulate kill -9: the process vanishes with the job running. Nothing
	// is stopped cleanly; the database file is simply reopened.
	q1.river.StopAndCancel(context.Background())
	_, err = q1.db.exec(t.Context(), `UPDATE river_job SET state = 'running', finalized_at = NULL`) // as the dead process left it
	require.NoError(t, err)
	_, err = q1.db.exec(t.Context(), `UPDATE hubbot_jobs SET state = 'running'`)
	require.NoError(t, err)
	q1.Close()
	close(block)

	q2 := startQueue(t, Options{DataDir: dir}, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
		return Outcome{State: StateSucceeded, Summary: "second life"}, nil
	}})
	job := waitState(t, q2, ids[0], StateSucceeded)
	assert.Equal(t, "second life", job.Summary)
}

func TestPickupLatency(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		started := make(chan time.Time, 1)
		q := startQueue(t, o, Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
			started <- time.Now()
			return Outcome{State: StateSucceeded}, nil
		}})
		time.Sleep(300 * time.Millisecond) // let the workers settle into their idle poll
		at := time.Now()
		_, err := q.Record(t.Context(), Delivery{Key: "k", Scope: "repo.content", Action: "update", Repo: "acme/tiny",
			Specs: []Spec{spec("refs/heads/main", "a", "one")}})
		require.NoError(t, err)
		t.Logf("pickup latency: %v (reported, not asserted)", (<-started).Sub(at))
	})
}

// TestScheduleTickRunsOnce: two River jobs for the same tick (fired by an
// old and a new leader during a handover) run it once; a retry of the first
// is still its own; the next tick is new.
func TestScheduleTickRunsOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, o Options) {
		q := startQueue(t, o, Handlers{})
		args := scheduleArgs{Index: 0, Action: "nightly", Repos: []string{"acme/tiny"}}
		tick := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			riverID int64
			tick    time.Time
			first   bool
		}{{41, tick, true}, {42, tick, false}, {41, tick, true}, {43, tick.Add(time.Minute), true}} {
			got, err := q.claimTick(t.Context(), args, c.tick, c.riverID)
			require.NoError(t, err)
			assert.Equal(t, c.first, got, "job %d at %s", c.riverID, c.tick)
		}
	})
}
