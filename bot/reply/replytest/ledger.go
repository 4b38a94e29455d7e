// Package replytest checks implementations of reply.Ledger against the
// rules the reply bot relies on, so that the store's ledger and
// reply.MemoryLedger behave the same.
package replytest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/reply"
)

// LedgerRules runs the rules of reply.Ledger against fresh ledgers made by
// newLedger: claims, resumes, stale take-overs, releases, the per-repo cap
// and its window, and concurrent claims of one key.
func LedgerRules(t *testing.T, newLedger func(t *testing.T) reply.Ledger) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	claim := func(key, repo, owner string, at time.Time) jobs.ReplyClaim {
		return jobs.ReplyClaim{Key: key, Repo: repo, Owner: owner, At: at,
			StaleBefore: at.Add(-10 * time.Minute), WindowStart: at.Add(-time.Hour), Cap: 2}
	}
	type step struct {
		do   string // claim, posted, release
		c    jobs.ReplyClaim
		want string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"new, then posted, then never again", []step{
			{"claim", claim("k1", "r", "job-1", t0), jobs.ReplyNew},
			{"posted", claim("k1", "r", "", t0), ""},
			{"claim", claim("k1", "r", "job-1", t0.Add(time.Minute)), jobs.ReplyPosted},
			{"claim", claim("k1", "r", "job-2", t0.Add(48*time.Hour)), jobs.ReplyPosted},
		}},
		{"in flight: busy for others, resumed by its own job", []step{
			{"claim", claim("k1", "r", "job-1", t0), jobs.ReplyNew},
			{"claim", claim("k1", "r", "job-2", t0.Add(time.Minute)), jobs.ReplyBusy},
			{"claim", claim("k1", "r", "job-1", t0.Add(time.Minute)), jobs.ReplyResumed},
		}},
		{"an empty owner never resumes a fresh claim", []step{
			{"claim", claim("k1", "r", "", t0), jobs.ReplyNew},
			{"claim", claim("k1", "r", "", t0.Add(time.Minute)), jobs.ReplyBusy},
		}},
		{"stale claims are taken over, and become fresh", []step{
			{"claim", claim("k1", "r", "dead", t0), jobs.ReplyNew},
			{"claim", claim("k1", "r", "job-2", t0.Add(11*time.Minute)), jobs.ReplyResumed},
			{"claim", claim("k1", "r", "job-3", t0.Add(12*time.Minute)), jobs.ReplyBusy},
		}},
		{"released claims can be made again", []step{
			{"claim", claim("k1", "r", "job-1", t0), jobs.ReplyNew},
			{"release", claim("k1", "r", "", t0), ""},
			{"claim", claim("k1", "r", "job-2", t0), jobs.ReplyNew},
		}},
		{"releasing a posted key keeps it", []step{
			{"claim", claim("k1", "r", "job-1", t0), jobs.ReplyNew},
			{"posted", claim("k1", "r", "", t0), ""},
			{"release", claim("k1", "r", "", t0), ""},
			{"claim", claim("k1", "r", "job-2", t0), jobs.ReplyPosted},
		}},
		{"releasing an unknown key does nothing", []step{
			{"release", claim("k9", "r", "", t0), ""},
			{"claim", claim("k9", "r", "job-1", t0), jobs.ReplyNew},
		}},
		{"cap per repo and window", []step{
			{"claim", claim("k1", "r", "job-1", t0), jobs.ReplyNew},
			{"posted", claim("k1", "r", "", t0), ""},
			{"claim", claim("k2", "r", "job-2", t0.Add(10*time.Minute)), jobs.ReplyNew}, // in flight counts
			{"claim", claim("k3", "r", "job-3", t0.Add(20*time.Minute)), jobs.ReplyLimited},
			{"claim", claim("k3", "other", "job-3", t0.Add(20*time.Minute)), jobs.ReplyNew},
			{"claim", claim("k2", "r", "job-2", t0.Add(20*time.Minute)), jobs.ReplyResumed}, // no cap on a resume
			{"claim", claim("k4", "r", "job-4", t0.Add(61*time.Minute)), jobs.ReplyNew},     // k1 left the window
			{"claim", claim("k5", "r", "job-5", t0.Add(62*time.Minute)), jobs.ReplyLimited}, // k2 (re-claimed at +20m) and k4
			{"claim", claim("k5", "r", "job-5", t0.Add(81*time.Minute)), jobs.ReplyNew},     // k2 left the window
		}},
		{"the window starts inclusive", []step{
			{"claim", claim("k1", "r", "a", t0), jobs.ReplyNew},
			{"claim", claim("k2", "r", "b", t0), jobs.ReplyNew},
			{"claim", claim("k3", "r", "c", t0.Add(time.Hour)), jobs.ReplyLimited},
			{"claim", claim("k3", "r", "c", t0.Add(time.Hour+time.Nanosecond)), jobs.ReplyNew},
		}},
		{"a limited claim records nothing", []step{
			{"claim", claim("k1", "r", "a", t0), jobs.ReplyNew},
			{"claim", claim("k2", "r", "b", t0), jobs.ReplyNew},
			{"claim", claim("k3", "r", "c", t0), jobs.ReplyLimited},
			{"release", claim("k1", "r", "", t0), ""},
			{"claim", claim("k3", "r", "c", t0), jobs.ReplyNew},
		}},
		{"no cap", []step{
			{"claim", jobs.ReplyClaim{Key: "k1", Repo: "r", At: t0}, jobs.ReplyNew},
			{"claim", jobs.ReplyClaim{Key: "k2", Repo: "r", At: t0}, jobs.ReplyNew},
			{"claim", jobs.ReplyClaim{Key: "k3", Repo: "r", At: t0}, jobs.ReplyNew},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(t)
			for i, s := range tt.steps {
				switch s.do {
				case "claim":
					got, err := l.ClaimReply(t.Context(), s.c)
					if err != nil {
						t.Fatalf("step %d: claim %s: %v", i, s.c.Key, err)
					}
					if got != s.want {
						t.Errorf("step %d: claim %s as %s at +%s: got %s, want %s", i, s.c.Key, s.c.Owner, s.c.At.Sub(t0), got, s.want)
					}
				case "posted":
					if err := l.ReplyPosted(t.Context(), s.c.Key, s.c.At); err != nil {
						t.Fatalf("step %d: posted %s: %v", i, s.c.Key, err)
					}
				case "release":
					if err := l.ReleaseReply(t.Context(), s.c.Key); err != nil {
						t.Fatalf("step %d: release %s: %v", i, s.c.Key, err)
					}
				}
			}
		})
	}

	t.Run("concurrent claims of one key: exactly one wins", func(t *testing.T) {
		l := newLedger(t)
		const n = 16
		results := make(chan string, n)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := l.ClaimReply(t.Context(), jobs.ReplyClaim{Key: "k", Repo: "r", Owner: fmt.Sprintf("job-%d", i), At: t0, Cap: 1})
				if err != nil {
					errs <- err
					return
				}
				results <- got
			}()
		}
		wg.Wait()
		close(results)
		close(errs)
		for err := range errs {
			t.Fatalf("claim: %v", err)
		}
		count := map[string]int{}
		for r := range results {
			count[r]++
		}
		if count[jobs.ReplyNew] != 1 || count[jobs.ReplyBusy] != n-1 {
			t.Errorf("got %v, want one new and %d busy", count, n-1)
		}
	})

	t.Run("concurrent claims of one repo keep the cap", func(t *testing.T) {
		l := newLedger(t)
		const n, cap = 16, 3
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := l.ClaimReply(t.Context(), jobs.ReplyClaim{Key: fmt.Sprintf("k%d", i), Repo: "r", Owner: "o", At: t0,
					WindowStart: t0.Add(-time.Hour), Cap: cap})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if got == jobs.ReplyNew {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != cap {
			t.Errorf("%d claims won, want the cap of %d", won, cap)
		}
	})
}
