package bot

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/report"
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

// commandJobs returns the command jobs of one comment.
func (h *harness) commandJobs(commentID string) []*jobs.Job {
	h.t.Helper()
	list, err := h.bot.queue.Jobs(context.Background(), jobs.JobFilter{Limit: 1000})
	require.NoError(h.t, err)
	var out []*jobs.Job
	for _, j := range list {
		if j.Spec.Kind == jobs.KindCommand && j.Spec.CommentID == commentID {
			out = append(out, j)
		}
	}
	return out
}

// answers returns the bot's answers to one comment in discussion num.
func (h *harness) answers(num int, commentID string) []hubtest.Event {
	var out []hubtest.Event
	for _, c := range h.botComments(num) {
		if id, ok := answered(c.Content); ok && id == commentID {
			out = append(out, c)
		}
	}
	return out
}

// waitScanned waits until a recovery scan that started after since read
// discussion num of alice/tiny.
func (h *harness) waitScanned(num int, since time.Time) {
	h.t.Helper()
	require.Eventually(h.t, func() bool {
		cursors, err := h.bot.queue.Cursors(context.Background(), "alice/tiny")
		return err == nil && !cursors[num].ScannedAt.Before(since.Truncate(time.Millisecond))
	}, 60*time.Second, 20*time.Millisecond, "no recovery scan read discussion #%d", num)
}

// TestRecoveryRunsACommentCommandPostedWhileStopped posts `/hubbot check` on
// a pull request while the bot is stopped: the Hub's delivery fails and is
// never retried, and the scan at the next start runs the command once. A
// command delivered live before is not run again, and neither is the
// recovered one at a second start.
func TestRecoveryRunsACommentCommandPostedWhileStopped(t *testing.T) {
	h := newHarness(t, chatopsConfig)
	dataDir := h.bot.cfg.Store.DataDir
	pr, err := h.hub.OpenPR(h.alice, "alice/tiny", "Fix card", "Fixing the card", hubtest.Change{Files: map[string][]byte{"README.md": []byte(brokenCard)}})
	require.NoError(t, err)
	live, err := h.hub.Comment(h.alice, "alice/tiny", pr.Num, "/hubbot check")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(h.answers(pr.Num, live)) == 1 }, 60*time.Second, 20*time.Millisecond,
		"the live command was never answered")
	h.stop()

	missed, err := h.hub.Comment(h.alice, "alice/tiny", pr.Num, "Fixed the license.\n\n/hubbot check")
	require.NoError(t, err)
	h.idle() // the delivery failed: nobody listens

	started := time.Now()
	h.start(chatopsConfig, dataDir)
	require.Eventually(t, func() bool { return len(h.answers(pr.Num, missed)) == 1 }, 60*time.Second, 20*time.Millisecond,
		"the command posted while hubbot was stopped was never answered")
	h.waitScanned(pr.Num, started)
	recovered := h.commandJobs(missed)
	require.Len(t, recovered, 1, "the missed command runs once")
	assert.Equal(t, jobs.TriggerRecovery, recovered[0].Spec.Event)
	assert.Len(t, h.commandJobs(live), 1, "the command delivered live is not run again")
	list := h.waitJobs(4) // two commands, each with its run
	var runs int
	for _, j := range list {
		if j.Spec.Kind == jobs.KindRun {
			runs++
			assert.Equal(t, "command", j.Spec.Trigger)
			assert.Equal(t, pr.SHA, j.Spec.SHA)
		}
	}
	assert.Equal(t, 2, runs, "one run per command")
	cursors, err := h.bot.queue.Cursors(t.Context(), "alice/tiny")
	require.NoError(t, err)
	assert.False(t, cursors[pr.Num].SeenAt.IsZero(), "how far the comments were read is kept")

	// A second start reads the same comments again and runs nothing.
	h.stop()
	started = time.Now()
	h.start(chatopsConfig, dataDir)
	h.waitScanned(pr.Num, started)
	n, err := h.bot.Recover(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Len(t, h.commandJobs(missed), 1)
	assert.Len(t, h.commandJobs(live), 1)
	h.idle()
	assert.Len(t, h.answers(pr.Num, missed), 1, "answered once")
	assert.Len(t, h.answers(pr.Num, live), 1, "answered once")
}

// failingGlobConfig names only a namespace glob; its check fails on every
// revision with output naming the revision, so each push changes the
// findings and edits the branch's report discussion.
const failingGlobConfig = `
[repos]
allow = ["alice/*"]

[[actions]]
name = "tests"
uses = "run"
on = ["push"]
[actions.with]
command = ["sh", "-c", "echo checking $HUBBOT_SHA; exit 1"]
`

// reportDiscussion returns the bot's report discussion of "tests" on main
// in repo, and the revision its marker names.
func (h *harness) reportDiscussion(repo string) (hubtest.Discussion, report.Revision, bool) {
	for n := 1; ; n++ {
		d, ok := h.hub.Discussion(repo, n)
		if !ok {
			return hubtest.Discussion{}, report.Revision{}, false
		}
		if d.Author != h.botUsr.Name || d.Title != report.Title("tests", "refs/heads/main") || len(d.Events) == 0 {
			continue
		}
		rev, ok := report.ParseRevision(d.Events[0].Content)
		return d, rev, ok
	}
}

// waitReported waits until repo's report discussion shows a final result
// for sha.
func (h *harness) waitReported(repo, sha string) hubtest.Discussion {
	h.t.Helper()
	var d hubtest.Discussion
	require.Eventually(h.t, func() bool {
		var rev report.Revision
		var ok bool
		d, rev, ok = h.reportDiscussion(repo)
		return ok && rev.SHA == sha && rev.State.Final()
	}, 60*time.Second, 20*time.Millisecond, "%s never reported %s", repo, sha)
	return d
}

// hubWrites counts the requests that changed discussions of repo on the
// fake Hub: new discussions, comments, edits and status changes.
func (h *harness) hubWrites(repo string) int {
	n := 0
	for _, r := range h.hub.Requests() {
		if r.Method == "POST" && strings.Contains(r.Path, "/"+repo+"/discussions") {
			n++
		}
	}
	return n
}

// TestRecoveryAfterTheDataDirIsLost deletes the data dir while the bot is
// stopped, as a Space restart does, and pushes to a repo matched only by
// "alice/*": at the next start the new push is run once and reported,
// and the push reported before the loss is neither run nor reported again,
// since its report on the Hub names the revision it covers.
func TestRecoveryAfterTheDataDirIsLost(t *testing.T) {
	h := newHarness(t, failingGlobConfig)
	dataDir := h.bot.cfg.Store.DataDir
	sha, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"notes.txt": []byte("n")}})
	require.NoError(t, err)
	before := h.waitReported("alice/tiny", sha)
	// A command answered before the loss: its answer names it.
	num, err := h.hub.OpenDiscussion(h.bob, "alice/tiny", "How does this work?", "Hello")
	require.NoError(t, err)
	help, err := h.hub.Comment(h.bob, "alice/tiny", num, "/hubbot help")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(h.answers(num, help)) == 1 }, 60*time.Second, 20*time.Millisecond)
	h.stop()

	require.NoError(t, os.RemoveAll(dataDir))
	_, err = h.hub.CreateRepo(h.alice, hubtest.RepoSpec{ID: "alice/second", Files: map[string][]byte{"README.md": []byte(readme)}})
	require.NoError(t, err)
	missed, err := h.hub.Push(h.alice, "alice/second", "main", hubtest.Change{Files: map[string][]byte{"missed.txt": []byte("x")}})
	require.NoError(t, err)
	h.idle() // the deliveries failed: nobody listens
	h.hub.ResetRequests()

	h.start(failingGlobConfig, dataDir)
	h.waitReported("alice/second", missed)
	require.Eventually(t, func() bool {
		list, err := h.bot.queue.Jobs(t.Context(), jobs.JobFilter{Repo: "alice/tiny"})
		return err == nil && len(list) > 0
	}, 60*time.Second, 20*time.Millisecond, "recovery never looked at alice/tiny")
	n, err := h.bot.Recover(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "a second scan queues nothing")

	tiny, err := h.bot.queue.Jobs(t.Context(), jobs.JobFilter{Repo: "alice/tiny"})
	require.NoError(t, err)
	for _, j := range tiny {
		assert.Equal(t, rebuiltOrigin, j.DeliveryKey, "alice/tiny ran again: %+v", j)
		assert.Equal(t, sha, j.Spec.SHA)
		assert.Equal(t, jobs.StateFailed, j.State, "rebuilt as the report shows it")
		assert.True(t, j.StartedAt.IsZero())
	}
	second := h.waitJobs(1)
	var runs []*jobs.Job
	for _, j := range second {
		if j.Spec.Repo.ID == "alice/second" {
			runs = append(runs, j)
		}
	}
	require.Len(t, runs, 1, "the push missed while stopped runs once")
	assert.Equal(t, missed, runs[0].Spec.SHA)
	assert.Equal(t, jobs.TriggerRecovery, runs[0].Spec.Event)

	h.idle()
	assert.Zero(t, h.hubWrites("alice/tiny"), "nothing posted or edited on what was already reported")
	after, _, _ := h.reportDiscussion("alice/tiny")
	assert.Equal(t, before.Events, after.Events)
	assert.Len(t, h.answers(num, help), 1, "the command answered before the loss is not answered again")
	assert.Equal(t, 1, h.hubWrites("alice/second"), "one report discussion opened for the new push")
}

// TestRecoveryReadsCommentsWithinItsBudget misses commands in three
// discussions with a budget that lets a scan read one discussion: each
// scan reads the discussion read longest ago, so three scans answer all
// three commands, each once.
func TestRecoveryReadsCommentsWithinItsBudget(t *testing.T) {
	h := newHarness(t, chatopsConfig)
	dataDir := h.bot.cfg.Store.DataDir
	var nums []int
	for i := range 3 {
		num, err := h.hub.OpenDiscussion(h.bob, "alice/tiny", fmt.Sprintf("Question %d", i+1), "Hello")
		require.NoError(t, err)
		nums = append(nums, num)
	}
	h.idle() // alice/tiny is in recovery's scope: it had deliveries
	h.stop()
	var ids []string
	for _, num := range nums {
		id, err := h.hub.Comment(h.bob, "alice/tiny", num, "/hubbot help")
		require.NoError(t, err)
		ids = append(ids, id)
	}
	h.idle()

	// Listing the refs and the discussions, then one discussion.
	h.prepare = func(b *Bot) { b.budget = 3 }
	h.start(chatopsConfig, dataDir)
	scanned := func() int {
		cursors, err := h.bot.queue.Cursors(t.Context(), "alice/tiny")
		require.NoError(t, err)
		return len(cursors)
	}
	require.Eventually(t, func() bool { return scanned() == 1 }, 60*time.Second, 20*time.Millisecond, "the start-up scan read nothing")
	for want := 2; want <= 3; want++ {
		_, err := h.bot.Recover(t.Context())
		require.NoError(t, err)
		assert.Equal(t, want, scanned(), "one more discussion a scan")
	}
	for i, num := range nums {
		require.Eventually(t, func() bool { return len(h.answers(num, ids[i])) > 0 }, 60*time.Second, 20*time.Millisecond,
			"the command in #%d was never answered", num)
	}
	_, err := h.bot.Recover(t.Context())
	require.NoError(t, err)
	h.waitJobs(3)
	h.idle()
	for i, num := range nums {
		assert.Len(t, h.commandJobs(ids[i]), 1)
		assert.Len(t, h.answers(num, ids[i]), 1, "answered once")
	}
}
