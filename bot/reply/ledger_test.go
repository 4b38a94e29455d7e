package reply

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hubbot/hubbot/bot/jobs"
)

func TestMemoryLedgerErrors(t *testing.T) {
	l := NewMemoryLedger()
	_, err := l.ClaimReply(t.Context(), jobs.ReplyClaim{Repo: "r"})
	assert.Error(t, err)
	_, err = l.ClaimReply(t.Context(), jobs.ReplyClaim{Key: "k"})
	assert.Error(t, err)
	assert.Error(t, l.ReplyPosted(t.Context(), "never-claimed", time.Now()))
	assert.NoError(t, l.ReleaseReply(t.Context(), "never-claimed"))
}
