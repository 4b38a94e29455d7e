package reply

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/hubclient"
)

func TestDiscussionLocks(t *testing.T) {
	var l discussionLocks
	unlockA, err := l.lock(t.Context(), "a")
	require.NoError(t, err)
	unlockB, err := l.lock(t.Context(), "b")
	require.NoError(t, err, "another key is not blocked")

	got := make(chan func(), 1)
	go func() {
		unlock, err := l.lock(context.Background(), "a")
		assert.NoError(t, err)
		got <- unlock
	}()
	require.Eventually(t, func() bool { return l.refs("a") == 2 }, 5*time.Second, time.Millisecond)
	select {
	case <-got:
		t.Fatal("a second holder while the first holds the lock")
	default:
	}

	// A waiter whose context ends gives up, and leaves no trace.
	stop := errors.New("job cancelled")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(stop)
	_, err = l.lock(ctx, "a")
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 2, l.refs("a"))

	unlockA()
	unlock := <-got
	unlock()
	unlockB()
	assert.Zero(t, l.refs("a"))
	assert.Zero(t, l.refs("b"))
	assert.Empty(t, l.locks, "no entries are left behind")
}

// Two mentions in one discussion at the same moment, with room for one
// reply: the second waits, sees the first reply, and stops at the cap.
func TestConcurrentRepliesInOneDiscussion(t *testing.T) {
	entered, release := make(chan struct{}, 2), make(chan struct{})
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default: // a retried request: the test already knows one arrived
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return // the client gave up: never hold the server open
		}
		answerWith("One answer for both.")(w, r)
	}
	f := newFixture(t, fixtureOptions{
		cfg:    func(c *config.Reply) { c.MaxRepliesPerDiscussion = 1 },
		script: []http.HandlerFunc{slow},
	})
	// Cleanups run last first: the handler is released before the server
	// closes, even when the test fails early.
	releaseAll := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseAll)
	f.hub.update(7, func(d *hubclient.DiscussionDetails) {
		d.Events[1] = event(bobID, bobUID, "bob", "@hubbot-bot and the order?")
	})
	results := make(chan Result, 2)
	var wg sync.WaitGroup
	run := func(id string) {
		defer wg.Done()
		req := f.request(id)
		req.Owner, req.Logf = "job-"+id, nil
		res, err := f.bot.Reply(context.Background(), req)
		assert.NoError(t, err)
		results <- res
	}
	wg.Add(2)
	go run(askID)
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first reply never reached the LLM")
	}
	go run(bobID)
	require.Eventually(t, func() bool { return f.bot.locks.refs(testRepo.String()+"#7") == 2 }, 5*time.Second, time.Millisecond)
	releaseAll()
	wg.Wait()
	close(results)

	statuses := map[Status]int{}
	for r := range results {
		statuses[r.Status]++
		if r.Status == Skipped {
			assert.Contains(t, r.Reason, "max_replies_per_discussion")
		}
	}
	assert.Equal(t, map[Status]int{Posted: 1, Skipped: 1}, statuses)
	assert.Len(t, f.llm.Calls(), 1)
	assert.Len(t, f.hub.Posted(), 1)
}
