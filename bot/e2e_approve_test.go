package bot

// End-to-end tests of approval: a `run` action runs a pull request's code by
// itself only for authors in its allow rules; a stranger's pull request
// waits for an allowed user's /hubbot approve, which holds for the head it
// was given on; privileged actions never run a stranger's code.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// approvalConfig has two actions that run the pull request's ci.sh, which
// appends a line to the file named by MARK: tests, unprivileged, and
// deploy, which gets the Hub token. slow holds the pull request's ref
// (run jobs of a ref run one at a time) until the file GATE exists.
func approvalConfig(dir string) string {
	return fmt.Sprintf(`
[[actions]]
name = "tests"
uses = "run"
on = ["pull_request", "command"]
[actions.with]
command = ["sh", "ci.sh"]
env = { MARK = %[1]q }

[[actions]]
name = "deploy"
uses = "run"
on = ["pull_request", "command"]
[actions.with]
command = ["sh", "ci.sh"]
env = { MARK = %[2]q }
token = true

[[actions]]
name = "slow"
uses = "run"
on = ["command"]
[actions.with]
command = ["sh", "-c", "while [ ! -e \"$GATE\" ]; do sleep 0.02; done"]
env = { GATE = %[3]q }
`, filepath.Join(dir, "tests.log"), filepath.Join(dir, "deploy.log"), filepath.Join(dir, "gate"))
}

// ciScript is the pull request's script: it records that version ran.
func ciScript(version string) hubtest.Change {
	return hubtest.Change{Files: map[string][]byte{"ci.sh": []byte("echo " + version + " >> \"$MARK\"\n")}}
}

// ran returns the lines ci.sh wrote for an action ("" when it never ran).
func ran(t *testing.T, dir, action string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, action+".log"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	require.NoError(t, err)
	return string(b)
}

// sticky returns the bot's report of action in pull request num.
func (h *harness) sticky(num int, action string) string {
	h.t.Helper()
	for _, c := range h.botComments(num) {
		if strings.HasPrefix(c.Content, "<!-- hubbot:report:"+action+" -->") {
			return c.Content
		}
	}
	return ""
}

// runJobs returns the run jobs of an action, oldest first.
func runJobs(list []*jobs.Job, action string) []*jobs.Job {
	var out []*jobs.Job
	for i := len(list) - 1; i >= 0; i-- {
		if j := list[i]; j.Spec.Kind == jobs.KindRun && j.Spec.Action == action {
			out = append(out, j)
		}
	}
	return out
}

// waitAllDone waits until the webhooks are delivered and every job is
// finished, and returns the jobs.
func (h *harness) waitAllDone() []*jobs.Job {
	h.t.Helper()
	h.idle()
	return h.waitJobs(0)
}

func TestStrangerPullRequestWaitsForApproval(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, approvalConfig(dir))
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Add CI", "Please run my script", ciScript("v1"))
	require.NoError(t, err)
	list := h.waitAllDone()

	// Nothing ran: tests waits for approval, deploy is refused outright.
	tests, deploy := runJobs(list, "tests"), runJobs(list, "deploy")
	require.Len(t, tests, 1)
	require.Len(t, deploy, 1)
	assert.Equal(t, jobs.StateSkipped, tests[0].State)
	assert.Equal(t, conclusionApproval, tests[0].Conclusion, tests[0].Summary)
	assert.Equal(t, conclusionNotAllowed, deploy[0].Conclusion, deploy[0].Summary)
	assert.Empty(t, ran(t, dir, "tests"), "a stranger's script never runs before approval")
	assert.Empty(t, ran(t, dir, "deploy"))
	waiting := h.sticky(pr.Num, "tests")
	assert.Contains(t, waiting, "`/hubbot approve`", "the sticky names the exact comment that approves")
	h.golden("approve-waiting-sticky", waiting)
	h.golden("approve-privileged-sticky", h.sticky(pr.Num, "deploy"))

	// The stranger cannot approve their own pull request.
	_, err = h.hub.Comment(h.bob, "alice/tiny", pr.Num, "/hubbot approve")
	require.NoError(t, err)
	list = h.waitAllDone()
	assert.Len(t, runJobs(list, "tests"), 1, "nothing queued")
	h.golden("approve-denied", h.lastBotComment(pr.Num))
	assert.Empty(t, ran(t, dir, "tests"))

	// The owner approves: tests runs once, on the head it was approved on.
	commentID, err := h.hub.Comment(h.alice, "alice/tiny", pr.Num, "Looks harmless.\n\n/hubbot approve")
	require.NoError(t, err)
	list = h.waitAllDone()
	tests = runJobs(list, "tests")
	require.Len(t, tests, 2)
	approved := tests[1]
	assert.Equal(t, jobs.StateSucceeded, approved.State, approved.Summary)
	assert.Equal(t, pr.SHA, approved.Spec.SHA, "the approval pins the head")
	assert.Equal(t, commentID, approved.Spec.Approval)
	assert.Equal(t, h.alice.ID, approved.Spec.AuthorID)
	assert.Equal(t, "v1\n", ran(t, dir, "tests"))
	assert.Empty(t, ran(t, dir, "deploy"), "approval does not unlock a privileged action")
	assert.Len(t, runJobs(list, "deploy"), 1, "approval queues no privileged run")
	h.golden("approve-ack", h.lastBotComment(pr.Num))
	assert.Contains(t, h.sticky(pr.Num, "tests"), "✅")
	full, err := h.bot.queue.Job(t.Context(), approved.ID)
	require.NoError(t, err)
	assert.Contains(t, full.Log, "approved by comment "+commentID)

	// Approving the same head again runs nothing more.
	_, err = h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot approve")
	require.NoError(t, err)
	list = h.waitAllDone()
	assert.Len(t, runJobs(list, "tests"), 2)
	assert.Contains(t, h.lastBotComment(pr.Num), "is approved on `"+pr.SHA[:7]+"` already")
	assert.Equal(t, "v1\n", ran(t, dir, "tests"), "once per approved head")

	// A new push by the stranger needs a new approval.
	v2, err := h.hub.Push(h.bob, "alice/tiny", pr.Ref, ciScript("v2"))
	require.NoError(t, err)
	list = h.waitAllDone()
	tests = runJobs(list, "tests")
	require.Len(t, tests, 3)
	assert.Equal(t, v2, tests[2].Spec.SHA)
	assert.Equal(t, conclusionApproval, tests[2].Conclusion)
	assert.Equal(t, "v1\n", ran(t, dir, "tests"), "the new head did not run")
	again := h.sticky(pr.Num, "tests")
	assert.Contains(t, again, "waiting for approval")
	assert.Contains(t, again, v2[:7])

	_, err = h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot approve tests")
	require.NoError(t, err)
	h.waitAllDone()
	assert.Equal(t, "v1\nv2\n", ran(t, dir, "tests"))

	// Not even the owner's run command runs a privileged action on it.
	_, err = h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot run deploy")
	require.NoError(t, err)
	list = h.waitAllDone()
	deploy = runJobs(list, "deploy")
	last := deploy[len(deploy)-1]
	assert.Equal(t, "command", last.Spec.Trigger)
	assert.Equal(t, conclusionNotAllowed, last.Conclusion, last.Summary)
	assert.Empty(t, ran(t, dir, "deploy"), "the privileged action never ran the stranger's code")
}

func TestOwnerPullRequestRunsWithoutApproval(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, approvalConfig(dir))
	pr, err := h.hub.OpenPR(h.alice, "alice/tiny", "Add CI", "My own script", ciScript("v1"))
	require.NoError(t, err)
	list := h.waitAllDone()
	for _, action := range []string{"tests", "deploy"} {
		jl := runJobs(list, action)
		require.Len(t, jl, 1, action)
		assert.Equal(t, jobs.StateSucceeded, jl[0].State, "%s: %s", action, jl[0].Summary)
		assert.Empty(t, jl[0].Spec.Approval)
		assert.Equal(t, "v1\n", ran(t, dir, action), "the owner's code runs, privileged actions included")
	}
	assert.Contains(t, h.sticky(pr.Num, "tests"), "✅")
}

func TestRunCommandApprovesForAnAllowedUserOnly(t *testing.T) {
	dir := t.TempDir()
	cfg := approvalConfig(dir) + "\n[commands]\nallow = [\"anyone\"]\n"
	h := newHarness(t, cfg)
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Add CI", "Please run my script", ciScript("v1"))
	require.NoError(t, err)
	h.waitAllDone()

	// "anyone" may use commands, so the stranger's run is queued, but
	// the stranger is not someone who may approve their own code.
	_, err = h.hub.Comment(h.bob, "alice/tiny", pr.Num, "/hubbot run tests")
	require.NoError(t, err)
	list := h.waitAllDone()
	tests := runJobs(list, "tests")
	require.Len(t, tests, 2)
	assert.Equal(t, conclusionApproval, tests[1].Conclusion, tests[1].Summary)
	assert.Empty(t, ran(t, dir, "tests"))

	_, err = h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot run tests")
	require.NoError(t, err)
	list = h.waitAllDone()
	tests = runJobs(list, "tests")
	require.Len(t, tests, 3)
	assert.Equal(t, jobs.StateSucceeded, tests[2].State, tests[2].Summary)
	assert.Equal(t, "v1\n", ran(t, dir, "tests"), "the owner's run command approves the head")
}

// hookGate stands between the fake Hub and the bot: it passes webhooks on,
// or holds them until released.
type hookGate struct {
	target  string
	mu      sync.Mutex
	held    bool
	release chan struct{}
	dropped bool
}

func (g *hookGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	held, release, drop := g.held, g.release, g.dropped
	g.mu.Unlock()
	if drop {
		http.Error(w, "gone", http.StatusServiceUnavailable)
		return
	}
	if held {
		<-release
	}
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, g.target, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// hold makes deliveries wait until the returned func is called.
func (g *hookGate) hold() func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.release = true, make(chan struct{})
	ch := g.release
	return func() {
		g.mu.Lock()
		g.held = false
		g.mu.Unlock()
		close(ch)
	}
}

// drop makes deliveries fail (the Hub does not retry them) while on.
func (g *hookGate) drop(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropped = on
}

// waitStartScan waits a while for the recovery scan the bot runs soon
// after it starts to list the repo's refs (it lists none when it runs
// before the first delivery); the next one is an interval away.
func (h *harness) waitStartScan() {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range h.hub.Requests() {
			if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/alice/tiny/refs") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newGatedHarness is newHarness with the webhooks going through a gate.
func newGatedHarness(t *testing.T, cfg string) (*harness, *hookGate) {
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	h := &harness{t: t, hub: hub, alice: hub.AddUser("alice"), bob: hub.AddUser("bob"), botUsr: hub.AddUser("hubbot-ci")}
	_, err := hub.CreateRepo(h.alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte(readme)}})
	require.NoError(t, err)
	h.hookID = "gated" // start adds no webhook of its own
	h.start(cfg, t.TempDir())
	g := &hookGate{target: h.url}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	h.hookID, err = hub.AddWebhook(hubtest.Webhook{URL: srv.URL, Secret: testSecret})
	require.NoError(t, err)
	return h, g
}

// TestApprovalHoldsForTheHeadAtTheComment delays the approve comment's
// webhook until the stranger has pushed again: the approval was for a head
// that is gone, so nothing runs and the reply says why.
func TestApprovalHoldsForTheHeadAtTheComment(t *testing.T) {
	dir := t.TempDir()
	h, gate := newGatedHarness(t, approvalConfig(dir))
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Add CI", "Please run my script", ciScript("v1"))
	require.NoError(t, err)
	h.waitAllDone()

	release := gate.hold()
	_, err = h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot approve")
	require.NoError(t, err)
	v2, err := h.hub.Push(h.bob, "alice/tiny", pr.Ref, ciScript("v2"))
	require.NoError(t, err)
	release()
	list := h.waitAllDone()

	assert.Empty(t, ran(t, dir, "tests"), "neither head ran")
	tests := runJobs(list, "tests")
	require.Len(t, tests, 2, "the push's job, no approved one")
	assert.Equal(t, v2, tests[1].Spec.SHA)
	assert.Equal(t, conclusionApproval, tests[1].Conclusion)
	reply := h.lastBotComment(pr.Num)
	h.golden("approve-moved-before-handling", reply)
	assert.Contains(t, reply, v2[:7])
}

// TestApprovedHeadThatMovedBeforeTheRun approves a head, then lets the
// stranger push while the approved job waits for the ref (a slow command
// holds it) and the push's webhook is lost: when the approved job starts,
// the head is not the one approved, so nothing runs and the report says why.
func TestApprovedHeadThatMovedBeforeTheRun(t *testing.T) {
	dir := t.TempDir()
	h, gate := newGatedHarness(t, approvalConfig(dir))
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Add CI", "Please run my script", ciScript("v1"))
	require.NoError(t, err)
	h.waitAllDone()
	// The recovery scan at start would find the lost push below and
	// supersede the approved job (also not running it): let it pass first.
	h.waitStartScan()

	_, err = h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot run slow")
	require.NoError(t, err)
	h.idle()
	require.Eventually(t, func() bool {
		list, err := h.bot.queue.Jobs(t.Context(), jobs.JobFilter{Limit: 100})
		require.NoError(t, err)
		s := runJobs(list, "slow")
		return len(s) == 1 && s[0].State == jobs.StateRunning
	}, 30*time.Second, 10*time.Millisecond, "slow holds the ref")

	_, err = h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot approve tests")
	require.NoError(t, err)
	h.idle()
	var approved *jobs.Job
	require.Eventually(t, func() bool {
		list, err := h.bot.queue.Jobs(t.Context(), jobs.JobFilter{Limit: 100})
		require.NoError(t, err)
		for _, j := range runJobs(list, "tests") {
			if j.Spec.Approval != "" {
				approved = j
			}
		}
		return approved != nil
	}, 30*time.Second, 10*time.Millisecond, "the approval queued a run")
	assert.Equal(t, pr.SHA, approved.Spec.SHA)

	gate.drop(true)
	v2, err := h.hub.Push(h.bob, "alice/tiny", pr.Ref, ciScript("v2"))
	require.NoError(t, err)
	h.idle()
	gate.drop(false)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "gate"), nil, 0o644))
	h.waitJobs(0)

	done, err := h.bot.queue.Job(t.Context(), approved.ID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateSkipped, done.State)
	assert.Contains(t, done.Summary, "the approval was for `"+pr.SHA[:7]+"`")
	assert.Contains(t, done.Summary, v2[:7])
	assert.Empty(t, ran(t, dir, "tests"), "the moved head did not run")
	h.golden("approve-moved-before-run-sticky", h.sticky(pr.Num, "tests"))
}

// TestApprovalIsNeitherLostNorRepeated restarts the bot after an approval
// and a new push, then handles the approving comment again (as after a
// crash of its command job): the approval still names the first head and
// queues nothing, and the new head stays unapproved.
func TestApprovalIsNeitherLostNorRepeated(t *testing.T) {
	dir := t.TempDir()
	cfg := approvalConfig(dir)
	h := newHarness(t, cfg)
	dataDir := h.bot.cfg.Store.DataDir
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Add CI", "Please run my script", ciScript("v1"))
	require.NoError(t, err)
	h.waitAllDone()
	_, err = h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot approve tests")
	require.NoError(t, err)
	list := h.waitAllDone()
	var command *jobs.Job
	for _, j := range list {
		if j.Spec.Kind == jobs.KindCommand {
			command = j
		}
	}
	require.NotNil(t, command)
	require.Equal(t, "v1\n", ran(t, dir, "tests"))
	v2, err := h.hub.Push(h.bob, "alice/tiny", pr.Ref, ciScript("v2"))
	require.NoError(t, err)
	h.waitAllDone()

	h.stop()
	h.start(cfg, dataDir)
	before := len(runJobs(h.waitAllDone(), "tests"))
	again, err := h.bot.queue.Retry(t.Context(), command.ID)
	require.NoError(t, err)
	list = h.waitAllDone()
	redo, err := h.bot.queue.Job(t.Context(), again)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateSucceeded, redo.State, redo.Summary)
	tests := runJobs(list, "tests")
	assert.Len(t, tests, before, "the approval queued nothing twice")
	for _, j := range tests {
		if j.Spec.SHA == v2 {
			assert.NotEqual(t, jobs.StateSucceeded, j.State, "the new head was never approved")
		}
	}
	assert.Equal(t, "v1\n", ran(t, dir, "tests"))
	assert.Contains(t, h.lastBotComment(pr.Num), "Approved `"+pr.SHA[:7]+"`", "the comment's approval still names the first head")
}
