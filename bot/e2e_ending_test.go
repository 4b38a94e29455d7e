package bot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// panicky is an action with a bug.
type panicky struct{}

func (panicky) Run(context.Context, *actions.Workspace, io.Writer) (actions.Result, error) {
	var m map[string]int
	m["boom"]++ // a nil map write: the kind of bug that panics
	return actions.Result{}, nil
}

// endingConfig has one pull request action whose command is given.
func endingConfig(command, extra string) string {
	return fmt.Sprintf(`
[server]
public_url = "https://bot.example"

[[actions]]
name = "job"
uses = "run"
on = ["pull_request", "command"]
allow = ["repo-owner", "user:bob"] # bob opens the pull requests here
%s
[actions.with]
command = ["sh", "-c", %q]
kill_grace = "100ms"
`, extra, command)
}

// TestEveryJobEndsVisibly drives each way a job can end and checks that the
// pull request's sticky comment ends in a final state, with the reason and
// a link to the full log, never at queued or running.
func TestEveryJobEndsVisibly(t *testing.T) {
	const slow = "if [ -f slow ]; then sleep 60; fi; echo done"
	running := func(h *harness) {
		require.Eventually(h.t, func() bool {
			list, _ := h.bot.queue.Jobs(context.Background(), jobs.JobFilter{State: jobs.StateRunning})
			return len(list) == 1
		}, 30*time.Second, 10*time.Millisecond, "the job never started")
	}
	tests := []struct {
		name    string
		command string
		extra   string
		prepare func(*Bot)
		before  func(h *harness) // before the pull request is opened
		during  func(h *harness, pr hubtest.PR)
		icon    string
		reason  string
		state   jobs.State
	}{
		{name: "success", command: "echo fine", icon: "✅", reason: "exit status 0|passed|fine", state: jobs.StateSucceeded},
		{name: "failure", command: "echo broken; exit 3", icon: "❌", reason: "failed with exit code 3", state: jobs.StateFailed},
		{name: "attempts exhausted", command: "echo never", icon: "⚠️", reason: "gave up after 2 attempts", state: jobs.StateFailed,
			prepare: func(b *Bot) { b.attempts = 2 },
			before: func(h *harness) {
				// The Hub keeps refusing to say where the pull request's head is.
				h.hub.Fail(hubtest.Fault{Path: "/api/models/alice/tiny/revision/", Times: -1, Status: http.StatusBadRequest, Message: "refused"})
			}},
		{name: "timeout", command: "sleep 300 & sleep 300", extra: `timeout = "1s"`, icon: "❌", reason: "timed out", state: jobs.StateFailed},
		{name: "cancel", command: slow, icon: "🚫", reason: "cancelled by a command", state: jobs.StateCancelled,
			during: func(h *harness, pr hubtest.PR) {
				running(h)
				_, err := h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot cancel")
				require.NoError(h.t, err)
			}},
		{name: "supersede", command: slow, icon: "✅", reason: "passed|done", state: jobs.StateSucceeded,
			during: func(h *harness, pr hubtest.PR) {
				running(h)
				_, err := h.hub.Push(h.bob, "alice/tiny", pr.Ref, hubtest.Change{Delete: []string{"slow"}})
				require.NoError(h.t, err)
			}},
		{name: "panic", command: "echo unused", icon: "⚠️", reason: `crashed \(panic: assignment to entry in nil map\)`, state: jobs.StateFailed,
			prepare: func(b *Bot) { b.actions["job"] = panicky{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := hubtest.NewServer()
			t.Cleanup(hub.Close)
			h := &harness{t: t, hub: hub, alice: hub.AddUser("alice"), bob: hub.AddUser("bob"), botUsr: hub.AddUser("hubbot-ci"), prepare: tt.prepare}
			_, err := hub.CreateRepo(h.alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte(readme)}})
			require.NoError(t, err)
			h.start(endingConfig(tt.command, tt.extra), t.TempDir())
			if tt.before != nil {
				tt.before(h)
			}
			pr, err := hub.OpenPR(h.bob, "alice/tiny", "Change", "a change", hubtest.Change{Files: map[string][]byte{"slow": []byte("1")}})
			require.NoError(t, err)
			if tt.during != nil {
				tt.during(h, pr)
			}
			list := h.waitJobs(1)
			var newest *jobs.Job
			for _, j := range list {
				if j.Spec.Kind == jobs.KindRun && (newest == nil || j.ID > newest.ID) {
					newest = j
				}
			}
			require.NotNil(t, newest)
			assert.Equal(t, tt.state, newest.State, newest.Summary)
			h.idle()
			assertFinalSticky(t, h, pr.Num, tt.icon, tt.reason)
		})
	}
}

// TestShutdownBeyondGraceShowsTheInterruption stops the bot while a job
// runs longer than the grace period: the sticky comment says it was
// interrupted and runs again, and after the restart it shows the result.
func TestShutdownBeyondGraceShowsTheInterruption(t *testing.T) {
	mark := t.TempDir() + "/started"
	cfg := endingConfig(`if [ -f "$MARK" ]; then echo second run; else touch "$MARK"; sleep 60; fi`, "")
	cfg = strings.Replace(cfg, `kill_grace = "100ms"`, fmt.Sprintf("kill_grace = \"100ms\"\nenv = { MARK = %q }", mark), 1)
	h := newHarness(t, cfg)
	dataDir := h.bot.cfg.Store.DataDir
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Change", "a change", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := os.Stat(mark)
		return err == nil
	}, 30*time.Second, 10*time.Millisecond, "the job never started")
	h.stop()
	h.idle()
	assertFinalSticky(t, h, pr.Num, "🚫", "interrupted: hubbot shut down before it finished; it runs again when hubbot restarts")

	h.start(cfg, dataDir)
	list := h.waitJobs(1)
	assert.Equal(t, jobs.StateSucceeded, list[0].State, list[0].Summary)
	h.idle()
	assertFinalSticky(t, h, pr.Num, "✅", "passed|second run")
}

// assertFinalSticky checks the one sticky comment of a pull request: a
// final icon, the reason, the link to the log, and no queued or running
// state.
func assertFinalSticky(t *testing.T, h *harness, num int, icon, reason string) {
	t.Helper()
	var cs []hubtest.Event
	for _, c := range h.botComments(num) {
		if strings.HasPrefix(c.Content, "<!-- hubbot:report:") {
			cs = append(cs, c)
		}
	}
	require.Len(t, cs, 1, "one sticky comment")
	body := cs[0].Content
	head, _, _ := strings.Cut(body, "<details>")
	assert.Contains(t, head, icon, body)
	assert.Regexp(t, reason, body)
	assert.Regexp(t, `\[full log\]\(https://bot\.example/jobs/\d+\)`, head)
	for _, notFinal := range []string{"⏳", "🔄"} {
		assert.NotContains(t, head, notFinal, body)
	}
}
