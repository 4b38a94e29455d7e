package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// globConfig names no repo: only a namespace glob.
const globConfig = `
[repos]
allow = ["alice/*"]

[[actions]]
name = "tests"
uses = "run"
on = ["push"]
[actions.with]
command = ["sh", "-c", "echo ok"]
`

// TestRecoveryFindsAPushMissedOnAGlobRepo pushes to a repo matched only by
// "alice/*" while the bot is stopped: the Hub's delivery fails and is never
// retried, and the scan after the restart finds the push and runs it once.
func TestRecoveryFindsAPushMissedOnAGlobRepo(t *testing.T) {
	h := newHarness(t, globConfig)
	dataDir := h.bot.cfg.Store.DataDir
	first := h.waitJobs(1) // the start-up scan takes up the repo's head
	require.Len(t, first, 1)
	h.stop()

	sha, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"missed.txt": []byte("x")}})
	require.NoError(t, err)
	h.idle() // the delivery failed: nobody listens

	h.start(globConfig, dataDir)
	list := h.waitJobs(2)
	require.Len(t, list, 2, "the missed push runs once")
	var found *jobs.Job
	for _, j := range list {
		if j.Spec.SHA == sha {
			found = j
		}
	}
	require.NotNil(t, found, "the missed push was found")
	assert.Equal(t, jobs.TriggerRecovery, found.Spec.Event)
	assert.Equal(t, jobs.StateSucceeded, found.State, found.Summary)

	n, err := h.bot.Recover(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "a second scan queues nothing")
}
