package reply

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestMemoryLedgerErrors(t *testing.T) {
	l := NewMemoryLedger()
	_, err := l.Claim(t.Context(), Claim{Repo: "r"})
	assert.Error(t, err)
	_, err = l.Claim(t.Context(), Claim{Key: "k"})
	assert.Error(t, err)
	assert.Error(t, l.Posted(t.Context(), "never-claimed", time.Now()))
	assert.NoError(t, l.Release(t.Context(), "never-claimed"))
}

func TestClaimedString(t *testing.T) {
	for c, want := range map[Claimed]string{ClaimNew: "new", ClaimResumed: "resumed", ClaimBusy: "busy",
		ClaimPosted: "posted", ClaimLimited: "limited", Claimed(42): "Claimed(42)"} {
		assert.Equal(t, want, c.String())
	}
}
