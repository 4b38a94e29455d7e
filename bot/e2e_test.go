package bot

// End-to-end tests: the real server on a loopback port, the real queue on a
// temporary SQLite store, against hubtest, the fake Hub, which sends its
// webhooks to the server exactly as the Hub would.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

const testSecret = "s3cret-for-tests"

type harness struct {
	t      *testing.T
	hub    *hubtest.Server
	alice  hubtest.User // owns the repos
	bob    hubtest.User // a stranger
	botUsr hubtest.User
	bot    *Bot
	url    string // the webhook URL
	base   string // the bot's base URL
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
	hookID string
	// prepare, when set, adjusts the bot before it serves (test-only actions).
	prepare func(*Bot)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// readme is a model card the modelcard action finds clean.
const readme = `---
license: apache-2.0
library_name: transformers
pipeline_tag: text-classification
language:
- en
---

# Tiny classifier

A tiny text classifier used in hubbot's tests. It labels short sentences as
positive or negative.

## Training

Trained for one epoch on a small sentiment dataset.
`

// newHarness starts hubtest with a repo alice/tiny, then the bot with the
// given config.toml body, wired to receive the fake Hub's webhooks.
func newHarness(t *testing.T, cfgTOML string) *harness {
	t.Helper()
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	h := &harness{t: t, hub: hub, alice: hub.AddUser("alice"), bob: hub.AddUser("bob"), botUsr: hub.AddUser("hubbot-ci")}
	_, err := hub.CreateRepo(h.alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{
		"README.md":   []byte(readme),
		"config.json": []byte(`{"architectures":["BertForSequenceClassification"]}`),
	}})
	require.NoError(t, err)
	h.start(cfgTOML, t.TempDir())
	return h
}

func (h *harness) start(cfgTOML, dataDir string) {
	t := h.t
	cfg, err := config.Parse("test.toml", []byte(cfgTOML))
	require.NoError(t, err)
	cfg.Hub.Endpoint = h.hub.URL
	cfg.Store.DataDir = dataDir
	cfg.Server.ShutdownGrace = config.Duration(2 * time.Second)
	cfg.Secrets = config.Secrets{HFToken: h.botUsr.Token, WebhookSecrets: []string{testSecret}}

	h.logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	b, err := New(ctx, Options{Config: cfg, Version: "test", Logger: slog.New(slog.NewTextHandler(h.logs, nil)), Out: io.Discard})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if h.prepare != nil {
		h.prepare(b)
	}
	h.bot, h.cancel, h.done = b, cancel, make(chan error, 1)
	h.base = "http://" + ln.Addr().String()
	h.url = h.base + cfg.Server.WebhookPath
	go func() { h.done <- b.Serve(ctx, ln) }()
	t.Cleanup(h.stop)
	require.Eventually(t, func() bool {
		resp, err := http.Get(h.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 10*time.Millisecond, "the bot never became ready")
	if h.hookID == "" {
		h.hookID, err = h.hub.AddWebhook(hubtest.Webhook{URL: h.url, Secret: testSecret})
		require.NoError(t, err)
	}
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("the bot stopped with: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Error("the bot did not stop")
	}
	h.cancel = nil
	if h.t.Failed() {
		h.t.Logf("bot log:\n%s", h.logs.String())
	}
}

// waitJobs waits until n jobs exist and every job is finished.
func (h *harness) waitJobs(n int) []*jobs.Job {
	h.t.Helper()
	var list []*jobs.Job
	require.Eventually(h.t, func() bool {
		var err error
		list, err = h.bot.queue.Jobs(context.Background(), jobs.JobFilter{Limit: 1000})
		if err != nil || len(list) < n {
			return false
		}
		for _, j := range list {
			if !jobs.Terminal(j.State) {
				return false
			}
		}
		return true
	}, 60*time.Second, 20*time.Millisecond, "waiting for %d finished jobs", n)
	return list
}

// idle waits until the fake Hub has delivered every webhook.
func (h *harness) idle() []hubtest.Delivery {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := h.hub.WaitIdle(ctx)
	require.NoError(h.t, err)
	return d
}

// botComments returns the bot's comments in a discussion.
func (h *harness) botComments(num int) []hubtest.Event {
	d, ok := h.hub.Discussion("alice/tiny", num)
	require.True(h.t, ok)
	var out []hubtest.Event
	for _, e := range d.Events {
		if e.Type == "comment" && e.Author == h.botUsr.Name {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) post(body []byte, header map[string]string) (int, map[string]any) {
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(body))
	require.NoError(h.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

const runConfig = `
[[actions]]
name = "tests"
uses = "run"
on = ["push", "pull_request", "command"]
allow = ["repo-owner", "user:bob"] # bob's pull requests run without approval
[actions.with]
command = ["sh", "-c", "echo checking $HUBBOT_REF at $HUBBOT_SHA; ls; test -f README.md"]
`

func TestPushToMainOpensOneDiscussion(t *testing.T) {
	h := newHarness(t, runConfig)
	sha, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"notes.txt": []byte("one\n")}})
	require.NoError(t, err)
	list := h.waitJobs(1)
	require.Len(t, list, 1)
	job := list[0]
	assert.Equal(t, jobs.StateSucceeded, job.State, job.Summary)
	assert.Equal(t, sha, job.Spec.SHA)

	full, err := h.bot.queue.Job(t.Context(), job.ID)
	require.NoError(t, err)
	assert.Contains(t, full.Log, "checking refs/heads/main at "+sha)
	assert.Contains(t, full.Log, "notes.txt")

	// The result lands in one discussion for the action on main.
	h.idle()
	d, ok := h.hub.Discussion("alice/tiny", 1)
	require.True(t, ok, "a report discussion was opened")
	assert.Equal(t, "hubbot: tests", d.Title)
	assert.Equal(t, h.botUsr.Name, d.Author)
	require.NotEmpty(t, d.Events)
	h.golden("push-main-report", d.Events[0].Content)
	assert.Contains(t, d.Events[0].Content, sha[:7])

	// A second push with the same result edits nothing and opens nothing.
	_, err = h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"notes.txt": []byte("two\n")}})
	require.NoError(t, err)
	h.waitJobs(2)
	h.idle()
	_, second := h.hub.Discussion("alice/tiny", 2)
	assert.False(t, second, "no second discussion")
	d, _ = h.hub.Discussion("alice/tiny", 1)
	comments := 0
	for _, e := range d.Events {
		if e.Type == "comment" {
			comments++
		}
	}
	assert.Equal(t, 1, comments, "no comment spam on the report discussion")

	// The bot's own discussion webhooks were ignored as its own.
	var own int
	for _, dl := range h.hub.Deliveries() {
		if dl.Scope == "discussion" && bytes.Contains(dl.Response, []byte("authored by hubbot")) {
			own++
		}
	}
	assert.Positive(t, own)
}

func TestPullRequestStickyComment(t *testing.T) {
	h := newHarness(t, runConfig)
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Add notes", "Adding notes", hubtest.Change{Files: map[string][]byte{"notes.txt": []byte("x\n")}})
	require.NoError(t, err)
	h.waitJobs(1)
	h.idle()
	comments := h.botComments(pr.Num)
	require.Len(t, comments, 1, "one sticky comment")
	first := comments[0]
	assert.True(t, strings.HasPrefix(first.Content, "<!-- hubbot:report:tests -->"))
	assert.Contains(t, first.Content, pr.SHA[:7])
	assert.Contains(t, first.Content, "✅")

	// A second push to the pull request edits the same comment.
	sha2, err := h.hub.Push(h.bob, "alice/tiny", pr.Ref, hubtest.Change{Files: map[string][]byte{"notes.txt": []byte("y\n")}})
	require.NoError(t, err)
	// Wait for the report of the new head: a recovery scan may add a job of
	// its own for main, so the job count alone does not say the push ran.
	require.Eventually(t, func() bool {
		c := h.botComments(pr.Num)
		return len(c) == 1 && strings.Contains(c[0].Content, sha2[:7]) && strings.Contains(c[0].Content, "✅")
	}, 30*time.Second, 20*time.Millisecond, "the sticky comment shows the second push")
	h.idle()
	comments = h.botComments(pr.Num)
	require.Len(t, comments, 1, "still one sticky comment")
	assert.Equal(t, first.ID, comments[0].ID)
	assert.True(t, comments[0].Edited)
	assert.Contains(t, comments[0].Content, sha2[:7])
	assert.NotContains(t, comments[0].Content, pr.SHA[:7])
}

func TestReplayedDeliveryCreatesNoJob(t *testing.T) {
	h := newHarness(t, runConfig)
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	h.waitJobs(1)
	var content []byte
	for _, d := range h.idle() {
		if d.Scope == "repo.content" {
			content = d.Payload
			assert.Equal(t, http.StatusAccepted, d.Status)
		}
	}
	require.NotNil(t, content)
	status, body := h.post(content, map[string]string{"X-Webhook-Secret": testSecret})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "duplicate", body["status"])
	list, err := h.bot.queue.Jobs(t.Context(), jobs.JobFilter{})
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestNewPushSupersedesRunningJob(t *testing.T) {
	h := newHarness(t, `
[[actions]]
name = "slow"
uses = "run"
on = ["pull_request"]
allow = ["repo-owner", "user:bob"] # bob opens the pull request
[actions.with]
command = ["sh", "-c", "if [ -f slow ]; then sleep 60; fi; echo done"]
`)
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Slow", "slow one", hubtest.Change{Files: map[string][]byte{"slow": []byte("1")}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		list, _ := h.bot.queue.Jobs(context.Background(), jobs.JobFilter{State: jobs.StateRunning})
		return len(list) == 1
	}, 30*time.Second, 10*time.Millisecond)
	_, err = h.hub.Push(h.bob, "alice/tiny", pr.Ref, hubtest.Change{Delete: []string{"slow"}})
	require.NoError(t, err)
	list := h.waitJobs(2)
	byState := map[jobs.State]int{}
	for _, j := range list {
		byState[j.State]++
	}
	assert.Equal(t, 1, byState[jobs.StateSkipped], "the running job was superseded")
	assert.Equal(t, 1, byState[jobs.StateSucceeded])
	h.idle()
	comments := h.botComments(pr.Num)
	require.Len(t, comments, 1)
	assert.Contains(t, comments[0].Content, "✅", "the sticky comment shows the newest run")
}

func TestBadDeliveries(t *testing.T) {
	h := newHarness(t, runConfig)
	fixture, err := os.ReadFile("webhook/testdata/payloads/repo-content-push-main-and-tag.json")
	require.NoError(t, err)
	v2, err := os.ReadFile("webhook/testdata/payloads/legacy-v2-repo-content.json")
	require.NoError(t, err)
	ok := map[string]string{"X-Webhook-Secret": testSecret}
	tests := []struct {
		name   string
		body   []byte
		header map[string]string
		status int
		check  func(t *testing.T, body map[string]any)
	}{
		{"no secret", fixture, nil, http.StatusUnauthorized, nil},
		{"wrong secret", fixture, map[string]string{"X-Webhook-Secret": "guess"}, http.StatusForbidden, func(t *testing.T, b map[string]any) {
			assert.NotContains(t, fmt.Sprint(b), "guess")
			assert.NotContains(t, fmt.Sprint(b), testSecret)
		}},
		{"not json", []byte("hello"), ok, http.StatusBadRequest, func(t *testing.T, b map[string]any) {
			assert.Contains(t, b["error"], "not a JSON object")
		}},
		{"missing event", []byte(`{"repo":{"name":"a/b","type":"model"},"webhook":{"version":3}}`), ok, http.StatusBadRequest, func(t *testing.T, b map[string]any) {
			assert.Contains(t, b["error"], "event.scope")
		}},
		{"missing repo name", []byte(`{"event":{"scope":"repo","action":"update"},"repo":{"type":"model"},"webhook":{"version":3}}`), ok, http.StatusBadRequest, func(t *testing.T, b map[string]any) {
			assert.Contains(t, b["error"], "repo.name")
		}},
		{"version 2", v2, ok, http.StatusOK, func(t *testing.T, b map[string]any) {
			assert.Equal(t, "ignored", b["status"])
			assert.Contains(t, b["reason"], "version 2")
		}},
		{"unknown scope", []byte(`{"event":{"scope":"space.hardware","action":"update"},"repo":{"name":"alice/tiny","type":"model"},"webhook":{"version":3}}`), ok, http.StatusOK, func(t *testing.T, b map[string]any) {
			assert.Equal(t, "ignored", b["status"])
		}},
		{"narrower scope as update of the broader one", []byte(`{"event":{"scope":"repo.config.dois","action":"create"},"repo":{"name":"alice/tiny","type":"model"},"webhook":{"version":3}}`), ok, http.StatusOK, func(t *testing.T, b map[string]any) {
			assert.Equal(t, "repo configuration changed", b["reason"])
		}},
		{"secret in the query", fixture, nil, http.StatusAccepted, nil},
		{"oversized", bytes.Repeat([]byte(" "), 5<<20), ok, http.StatusRequestEntityTooLarge, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := h.url
			if tt.name == "secret in the query" {
				h.url += "?secret=" + testSecret
				defer func() { h.url = url }()
			}
			status, body := h.post(tt.body, tt.header)
			assert.Equal(t, tt.status, status, "%v", body)
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodGet, h.url, nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.NotContains(t, h.logs.String(), testSecret, "the secret never reaches the logs")
}

func TestOperatorAPI(t *testing.T) {
	h := newHarness(t, runConfig)
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	list := h.waitJobs(1)

	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(h.base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	status, body := get(fmt.Sprintf("/api/jobs/%d", list[0].ID))
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body["job"].(map[string]any)["log"], "checking refs/heads/main")
	status, body = get("/api/deliveries")
	require.Equal(t, http.StatusOK, status)
	assert.NotEmpty(t, body["deliveries"])
	status, _ = get("/api/jobs/999999")
	assert.Equal(t, http.StatusNotFound, status)

	resp, err := http.Post(fmt.Sprintf("%s/api/jobs/%d/retry", h.base, list[0].ID), "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	h.waitJobs(2)

	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		status, _ := get(p)
		assert.Equal(t, http.StatusOK, status, p)
	}
	resp, err = http.Get(h.base + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(metrics), `hubbot_deliveries_total{action="update",outcome="queued",scope="repo.content"}`)
	assert.Contains(t, string(metrics), `hubbot_jobs_total{action="tests",state="succeeded"}`)
	assert.Contains(t, string(metrics), "hubbot_hub_requests_total")
	assert.Contains(t, string(metrics), "hubbot_queue_depth")
}

func TestShutdownDrainsAndRunsInterruptedJobsAgain(t *testing.T) {
	mark := t.TempDir() + "/started"
	cfg := fmt.Sprintf(`
[[actions]]
name = "slow"
uses = "run"
on = ["push"]
[actions.with]
command = ["sh", "-c", "if [ -f \"$MARK\" ]; then echo second run; else touch \"$MARK\"; sleep 60; fi"]
env = { MARK = %q }
`, mark)
	h := newHarness(t, cfg)
	dataDir := h.bot.cfg.Store.DataDir
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := os.Stat(mark)
		return err == nil
	}, 30*time.Second, 10*time.Millisecond, "the job never started")

	// SIGTERM: deliveries get 503 while running jobs get their grace.
	h.cancel()
	require.Eventually(t, func() bool {
		status, _ := h.post([]byte(`{}`), map[string]string{"X-Webhook-Secret": testSecret})
		return status == http.StatusServiceUnavailable
	}, 2*time.Second, 5*time.Millisecond, "no 503 while draining")
	select {
	case err := <-h.done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the bot did not stop after its grace period")
	}
	h.cancel = nil

	// After the restart, the interrupted job runs again and completes.
	h.start(cfg, dataDir)
	list := h.waitJobs(1)
	assert.Equal(t, jobs.StateSucceeded, list[0].State, list[0].Summary)
	job, err := h.bot.queue.Job(context.Background(), list[0].ID)
	require.NoError(t, err)
	assert.Contains(t, job.Log, "interrupted by shutdown")
	assert.Contains(t, job.Log, "second run")
}

func TestActionTimeoutKillsAndReports(t *testing.T) {
	h := newHarness(t, `
[[actions]]
name = "hangs"
uses = "run"
on = ["pull_request"]
allow = ["repo-owner", "user:bob"] # bob opens the pull request
timeout = "1s"
[actions.with]
command = ["sh", "-c", "sleep 300 & sleep 300"]
kill_grace = "100ms"
`)
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Hang", "hangs", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	list := h.waitJobs(1)
	assert.Equal(t, jobs.StateFailed, list[0].State)
	h.idle()
	cs := h.botComments(pr.Num)
	require.Len(t, cs, 1)
	assert.Contains(t, cs[0].Content, "❌")
	assert.Regexp(t, "(?i)time", cs[0].Content)
}

func TestDryRunRecordsWritesInTheJobLog(t *testing.T) {
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	h := &harness{t: t, hub: hub, alice: hub.AddUser("alice"), bob: hub.AddUser("bob"), botUsr: hub.AddUser("hubbot-ci")}
	_, err := hub.CreateRepo(h.alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte(readme)}})
	require.NoError(t, err)
	h.botUsr.Token = "" // no HF_TOKEN: dry-run
	h.start(runConfig, t.TempDir())
	require.True(t, h.bot.dryRun)

	pr, err := hub.OpenPR(h.bob, "alice/tiny", "Notes", "notes", hubtest.Change{Files: map[string][]byte{"n.txt": []byte("n")}})
	require.NoError(t, err)
	list := h.waitJobs(1)
	assert.Equal(t, jobs.StateSucceeded, list[0].State, list[0].Summary)
	job, err := h.bot.queue.Job(context.Background(), list[0].ID)
	require.NoError(t, err)
	assert.Contains(t, job.Log, fmt.Sprintf("dry-run: would comment on alice/tiny#%d", pr.Num))
	h.idle()
	d, ok := hub.Discussion("alice/tiny", pr.Num)
	require.True(t, ok)
	for _, e := range d.Events {
		assert.NotEqual(t, h.botUsr.Name, e.Author, "nothing was written to the Hub")
	}
	for _, r := range hub.Requests() {
		if strings.HasSuffix(r.Path, "/git-upload-pack") {
			continue // a fetch, in git's protocol
		}
		assert.NotEqual(t, http.MethodPost, r.Method, "no write reached the Hub: %s", r.Path)
	}
}
