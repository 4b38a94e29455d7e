package reply

import (
	"context"
	"sync"
)

// discussionLocks runs the replies of one discussion one at a time in this
// process: the per-discussion cap is counted from the thread, which a reply
// still being written is not in yet; and a second answer is better for
// seeing the first. Waiting ends with the caller's context.
type discussionLocks struct {
	mu    sync.Mutex
	locks map[string]*discussionLock
}

type discussionLock struct {
	ch   chan struct{} // holds a token while locked
	refs int           // holders and waiters; the entry goes when it drops to zero
}

// lock waits for key and returns the function that releases it.
func (l *discussionLocks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*discussionLock{}
	}
	dl := l.locks[key]
	if dl == nil {
		dl = &discussionLock{ch: make(chan struct{}, 1)}
		l.locks[key] = dl
	}
	dl.refs++
	l.mu.Unlock()

	done := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if dl.refs--; dl.refs == 0 {
			delete(l.locks, key)
		}
	}
	select {
	case dl.ch <- struct{}{}:
		return func() { <-dl.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, context.Cause(ctx)
	}
}

// refs is how many callers hold or wait for key, for tests.
func (l *discussionLocks) refs(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if dl := l.locks[key]; dl != nil {
		return dl.refs
	}
	return 0
}
