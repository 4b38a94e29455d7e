package bot

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
	"github.com/hubbot/hubbot/lfs"
)

const convertConfig = `
[[actions]]
name = "convert"
uses = "safetensors"
on = ["push", "command"]
branches = ["main"]
`

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)], err = os.ReadFile(path)
		return err
	}))
	return files
}

func (h *harness) pullRequests() []hubtest.Discussion {
	var out []hubtest.Discussion
	for _, d := range h.discussions() {
		if d.IsPullRequest {
			out = append(out, d)
		}
	}
	return out
}

func TestShardedCheckpointBecomesOnePullRequest(t *testing.T) {
	h := newHarness(t, convertConfig)
	files := readDir(t, "../actions/safetensors/testdata/repos/sharded")
	files["README.md"] = []byte(readme)
	sha, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: files, Message: "Add a sharded checkpoint"})
	require.NoError(t, err)
	list := h.waitJobs(1)
	require.Equal(t, jobs.StateSucceeded, list[0].State, "%s\n%s", list[0].Summary, h.logs.String())
	assert.Contains(t, list[0].Summary, "pull request")
	deliveries := h.idle()

	prs := h.pullRequests()
	require.Len(t, prs, 1, "one pull request")
	pr := prs[0]
	assert.Equal(t, h.botUsr.Name, pr.Author)
	assert.Equal(t, "open", pr.Status)
	desc := pr.Events[0].Content
	h.golden("convert-sharded-pr", desc)
	assert.Contains(t, desc, "<!-- hubbot:proposal:convert:"+sha+" -->")

	// Every shard and the index, as the converter wrote them, in one commit.
	want := readDir(t, "../actions/safetensors/testdata/want-repos/sharded")
	ref := "refs/pr/" + strconv.Itoa(pr.Num)
	for name, content := range want {
		got, err := h.hub.File("alice/tiny", ref, name)
		require.NoError(t, err, name)
		if strings.HasSuffix(name, ".json") {
			assert.JSONEq(t, string(content), string(got), name)
			continue
		}
		assert.True(t, bytes.Equal(content, got), "%s: the served bytes are the converted ones", name)
		raw, err := h.hub.RawFile("alice/tiny", ref, name)
		require.NoError(t, err)
		p, ok := lfs.Parse(raw)
		require.True(t, ok, "%s is an LFS pointer in git", name)
		assert.Equal(t, int64(len(content)), p.Size)
		stored, err := h.hub.LFSObject(p.OID)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(content, stored))
	}
	commits := 0
	for _, e := range pr.Events {
		if e.Type == "commit" {
			commits++
		}
	}
	assert.LessOrEqual(t, commits, 1, "all files in one commit")

	// The pull request's own repo.content webhook was not taken for work.
	for _, d := range deliveries {
		if d.Scope == "repo.content" && strings.Contains(string(d.Payload), ref) {
			assert.NotEqual(t, http.StatusAccepted, d.Status, "%s", d.Response)
		}
	}

	// Replaying the push, or running the job again, opens no second PR.
	var push []byte
	for _, d := range deliveries {
		if d.Scope == "repo.content" && strings.Contains(string(d.Payload), "refs/heads/main") {
			push = d.Payload
		}
	}
	require.NotNil(t, push)
	status, body := h.post(push, map[string]string{"X-Webhook-Secret": testSecret})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "duplicate", body["status"])
	id, err := h.bot.queue.Retry(context.Background(), list[0].ID)
	require.NoError(t, err)
	h.waitJobs(2)
	first, err := h.bot.queue.Job(context.Background(), list[0].ID)
	require.NoError(t, err)
	require.Contains(t, first.Log, "converting ", "the first run converted")
	again, err := h.bot.queue.Job(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateSkipped, again.State, again.Summary)
	assert.Contains(t, again.Summary, "already exists")
	assert.NotContains(t, again.Log, "converting ", "the retry found the proposal before converting:\n%s", again.Log)
	h.idle()
	assert.Len(t, h.pullRequests(), 1)
}

func TestConvertSkipsWhenSafetensorsExist(t *testing.T) {
	h := newHarness(t, convertConfig)
	files := readDir(t, "../actions/safetensors/testdata/repos/single")
	for k, v := range readDir(t, "../actions/safetensors/testdata/want-repos/single") {
		files[k] = v
	}
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: files})
	require.NoError(t, err)
	list := h.waitJobs(1)
	assert.Equal(t, jobs.StateSkipped, list[0].State, list[0].Summary)
	h.idle()
	assert.Empty(t, h.pullRequests())
	assert.Empty(t, h.discussions(), "a skip opens nothing")
}

func TestLostCommitAnswerOpensNoSecondPullRequest(t *testing.T) {
	h := newHarness(t, convertConfig)
	h.hub.Fail(hubtest.Fault{Method: http.MethodPost, Path: "/api/models/alice/tiny/commit/", DropResponse: true})
	files := readDir(t, "../actions/safetensors/testdata/repos/single")
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: files})
	require.NoError(t, err)
	list := h.waitJobs(1)
	assert.Equal(t, jobs.StateSucceeded, list[0].State, "%s\n%s", list[0].Summary, h.logs.String())
	job, err := h.bot.queue.Job(context.Background(), list[0].ID)
	require.NoError(t, err)
	assert.Contains(t, job.Log, "answer was lost")
	h.idle()
	assert.Len(t, h.pullRequests(), 1, "the lost answer was looked up, not retried")
}
