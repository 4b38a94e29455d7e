package bot

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// The same conversion as TestShardedCheckpointBecomesOnePullRequest, on the
// streaming path: the bot reads the shards with range requests and the
// publisher uploads the files by sections, never written to disk; the pull
// request holds the same bytes.
func TestStreamedConversionThroughTheBot(t *testing.T) {
	h := newHarness(t, convertConfig+`
[actions.with]
stream = "always"
`)
	files := readDir(t, "../actions/safetensors/testdata/repos/sharded")
	files["README.md"] = []byte(readme)
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: files, Message: "Add a sharded checkpoint"})
	require.NoError(t, err)
	list := h.waitJobs(1)
	require.Equal(t, jobs.StateSucceeded, list[0].State, "%s\n%s", list[0].Summary, h.logs.String())
	h.idle()

	prs := h.pullRequests()
	require.Len(t, prs, 1)
	ref := "refs/pr/" + strconv.Itoa(prs[0].Num)
	for name, content := range readDir(t, "../actions/safetensors/testdata/want-repos/sharded") {
		got, err := h.hub.File("alice/tiny", ref, name)
		require.NoError(t, err, name)
		if strings.HasSuffix(name, ".json") {
			assert.JSONEq(t, string(content), string(got), name)
			continue
		}
		assert.True(t, bytes.Equal(content, got), "%s: the streamed bytes are the converted ones", name)
	}
	// Ranges were read from storage; no whole-object download was made.
	ranged := 0
	for _, r := range h.hub.CDNRequests() {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/lfs/") {
			assert.NotEmpty(t, r.Header.Get("Range"), "a storage download without a range")
			ranged++
		}
	}
	assert.Positive(t, ranged)
}
