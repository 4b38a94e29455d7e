package reply

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryLedger(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	claim := func(key, repo, owner string, at time.Time) Claim {
		return Claim{Key: key, Repo: repo, Owner: owner, At: at,
			StaleBefore: at.Add(-10 * time.Minute), WindowStart: at.Add(-time.Hour), Cap: 2}
	}
	type step struct {
		do   string // claim, posted, release
		c    Claim
		want Claimed
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"new, then posted, then never again", []step{
			{"claim", claim("k1", "r", "job-1", t0), ClaimNew},
			{"posted", claim("k1", "r", "", t0), 0},
			{"claim", claim("k1", "r", "job-1", t0.Add(time.Minute)), ClaimPosted},
			{"claim", claim("k1", "r", "job-2", t0.Add(48*time.Hour)), ClaimPosted},
		}},
		{"in flight: busy for others, resumed by its own job", []step{
			{"claim", claim("k1", "r", "job-1", t0), ClaimNew},
			{"claim", claim("k1", "r", "job-2", t0.Add(time.Minute)), ClaimBusy},
			{"claim", claim("k1", "r", "job-1", t0.Add(time.Minute)), ClaimResumed},
		}},
		{"an empty owner never resumes a fresh claim", []step{
			{"claim", claim("k1", "r", "", t0), ClaimNew},
			{"claim", claim("k1", "r", "", t0.Add(time.Minute)), ClaimBusy},
		}},
		{"stale claims are taken over, and become fresh", []step{
			{"claim", claim("k1", "r", "dead", t0), ClaimNew},
			{"claim", claim("k1", "r", "job-2", t0.Add(11*time.Minute)), ClaimResumed},
			{"claim", claim("k1", "r", "job-3", t0.Add(12*time.Minute)), ClaimBusy},
		}},
		{"released claims can be made again", []step{
			{"claim", claim("k1", "r", "job-1", t0), ClaimNew},
			{"release", claim("k1", "r", "", t0), 0},
			{"claim", claim("k1", "r", "job-2", t0), ClaimNew},
		}},
		{"releasing a posted key keeps it", []step{
			{"claim", claim("k1", "r", "job-1", t0), ClaimNew},
			{"posted", claim("k1", "r", "", t0), 0},
			{"release", claim("k1", "r", "", t0), 0},
			{"claim", claim("k1", "r", "job-2", t0), ClaimPosted},
		}},
		{"cap per repo and window", []step{
			{"claim", claim("k1", "r", "job-1", t0), ClaimNew},
			{"posted", claim("k1", "r", "", t0), 0},
			{"claim", claim("k2", "r", "job-2", t0.Add(10*time.Minute)), ClaimNew}, // in flight counts
			{"claim", claim("k3", "r", "job-3", t0.Add(20*time.Minute)), ClaimLimited},
			{"claim", claim("k3", "other", "job-3", t0.Add(20*time.Minute)), ClaimNew},
			{"claim", claim("k2", "r", "job-2", t0.Add(20*time.Minute)), ClaimResumed}, // no cap on a resume
			{"claim", claim("k4", "r", "job-4", t0.Add(61*time.Minute)), ClaimNew},     // k1 left the window
			{"claim", claim("k5", "r", "job-5", t0.Add(62*time.Minute)), ClaimLimited}, // k2 (re-claimed at +20m) and k4
			{"claim", claim("k5", "r", "job-5", t0.Add(81*time.Minute)), ClaimNew},     // k2 left the window
		}},
		{"a limited claim records nothing", []step{
			{"claim", claim("k1", "r", "a", t0), ClaimNew},
			{"claim", claim("k2", "r", "b", t0), ClaimNew},
			{"claim", claim("k3", "r", "c", t0), ClaimLimited},
			{"release", claim("k1", "r", "", t0), 0},
			{"claim", claim("k3", "r", "c", t0), ClaimNew},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewMemoryLedger()
			for i, s := range tt.steps {
				switch s.do {
				case "claim":
					got, err := l.Claim(t.Context(), s.c)
					require.NoError(t, err)
					assert.Equal(t, s.want, got, "step %d: %s", i, got)
				case "posted":
					require.NoError(t, l.Posted(t.Context(), s.c.Key, s.c.At))
				case "release":
					require.NoError(t, l.Release(t.Context(), s.c.Key))
				}
			}
		})
	}
}

func TestMemoryLedgerErrors(t *testing.T) {
	l := NewMemoryLedger()
	_, err := l.Claim(t.Context(), Claim{Repo: "r"})
	assert.Error(t, err)
	_, err = l.Claim(t.Context(), Claim{Key: "k"})
	assert.Error(t, err)
	assert.Error(t, l.Posted(t.Context(), "never-claimed", time.Now()))
	assert.NoError(t, l.Release(t.Context(), "never-claimed"))
}

// Concurrent claims of one key: exactly one wins.
func TestMemoryLedgerConcurrentClaims(t *testing.T) {
	l := NewMemoryLedger()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const n = 32
	results := make(chan Claimed, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := l.Claim(t.Context(), Claim{Key: "k", Repo: "r", Owner: string(rune('a' + i)), At: at, Cap: 1})
			assert.NoError(t, err)
			results <- got
		}()
	}
	wg.Wait()
	close(results)
	count := map[Claimed]int{}
	for r := range results {
		count[r]++
	}
	assert.Equal(t, map[Claimed]int{ClaimNew: 1, ClaimBusy: n - 1}, count)
}

func TestClaimedString(t *testing.T) {
	for c, want := range map[Claimed]string{ClaimNew: "new", ClaimResumed: "resumed", ClaimBusy: "busy",
		ClaimPosted: "posted", ClaimLimited: "limited", Claimed(42): "Claimed(42)"} {
		assert.Equal(t, want, c.String())
	}
}
