package reply_test

import (
	"testing"

	"github.com/hubbot/hubbot/bot/reply"
	"github.com/hubbot/hubbot/bot/reply/replytest"
)

func TestMemoryLedgerRules(t *testing.T) {
	replytest.LedgerRules(t, func(*testing.T) reply.Ledger { return reply.NewMemoryLedger() })
}
