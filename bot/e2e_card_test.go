package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

const cardConfig = `
[[actions]]
name = "model-card"
uses = "modelcard"
on = ["push", "pull_request", "command", "schedule"]
paths = ["README.md"]
`

var brokenCard = strings.Replace(readme, "license: apache-2.0", "license: apache2", 1)

func (h *harness) discussions() []hubtest.Discussion {
	var out []hubtest.Discussion
	for n := 1; ; n++ {
		d, ok := h.hub.Discussion("alice/tiny", n)
		if !ok {
			return out
		}
		out = append(out, d)
	}
}

func comments(d hubtest.Discussion) []hubtest.Event {
	var out []hubtest.Event
	for _, e := range d.Events {
		if e.Type == "comment" {
			out = append(out, e)
		}
	}
	return out
}

func TestModelCardReportOnMain(t *testing.T) {
	h := newHarness(t, cardConfig)

	// A clean card opens nothing.
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"README.md": []byte(readme + "\nMore text.\n")}})
	require.NoError(t, err)
	h.waitJobs(1)
	h.idle()
	assert.Empty(t, h.discussions(), "a clean card needs no discussion")

	// A push that breaks the card opens one discussion.
	sha, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"README.md": []byte(brokenCard)}})
	require.NoError(t, err)
	list := h.waitJobs(2)
	assert.Equal(t, jobs.StateFailed, list[0].State)
	h.idle()
	ds := h.discussions()
	require.Len(t, ds, 1)
	d := ds[0]
	assert.Equal(t, "hubbot: model-card", d.Title)
	assert.Equal(t, "open", d.Status)
	body := comments(d)[0].Content
	assert.Contains(t, body, "❌")
	assert.Contains(t, body, "apache2")
	assert.Contains(t, body, sha[:7])

	// A second push with the same problem adds no comment and no discussion.
	_, err = h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"README.md": []byte(brokenCard + "\nMore words.\n")}})
	require.NoError(t, err)
	h.waitJobs(3)
	h.idle()
	ds = h.discussions()
	require.Len(t, ds, 1)
	assert.Len(t, comments(ds[0]), 1, "no comment spam")

	// A push that does not touch README.md does not run the check.
	_, err = h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"notes.txt": []byte("x")}})
	require.NoError(t, err)
	list = h.waitJobs(4)
	assert.Equal(t, jobs.StateSkipped, list[0].State)
	assert.Contains(t, list[0].Summary, "no changes to README.md")

	// A fix closes the discussion.
	fixSHA, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"README.md": []byte(readme)}})
	require.NoError(t, err)
	h.waitJobs(5)
	h.idle()
	ds = h.discussions()
	require.Len(t, ds, 1)
	assert.Equal(t, "closed", ds[0].Status)
	cs := comments(ds[0])
	assert.Contains(t, cs[0].Content, "✅", "the report shows the clean result")
	require.Len(t, cs, 2, "one closing comment")
	assert.Contains(t, cs[1].Content, fixSHA[:7])

	// Breaking it again reopens the same discussion.
	_, err = h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"README.md": []byte(brokenCard)}})
	require.NoError(t, err)
	h.waitJobs(6)
	h.idle()
	ds = h.discussions()
	require.Len(t, ds, 1)
	assert.Equal(t, "open", ds[0].Status)
}

func TestModelCardStickyCommentOnPullRequest(t *testing.T) {
	h := newHarness(t, cardConfig)
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Update card", "Updating the card", hubtest.Change{Files: map[string][]byte{"README.md": []byte(brokenCard)}})
	require.NoError(t, err)
	h.waitJobs(1)
	h.idle()
	cs := h.botComments(pr.Num)
	require.Len(t, cs, 1)
	assert.Contains(t, cs[0].Content, "<!-- hubbot:report:model-card -->")
	assert.Contains(t, cs[0].Content, "apache2")
	assert.Empty(t, func() []hubtest.Discussion {
		var branch []hubtest.Discussion
		for _, d := range h.discussions() {
			if !d.IsPullRequest {
				branch = append(branch, d)
			}
		}
		return branch
	}(), "a pull request's result goes to the pull request only")
}

func TestCheckOnRepoWithHugeWeightsDownloadsNothing(t *testing.T) {
	h := newHarness(t, cardConfig)
	// 10 GB of weights as LFS pointer files: the check needs none of them.
	files := map[string][]byte{"README.md": []byte(brokenCard)}
	ptr := "version https://git-lfs.github.com/spec/v1\noid sha256:" + strings.Repeat("ab", 32) + "\nsize 5000000000\n"
	files["model-00001-of-00002.safetensors"] = []byte(ptr)
	files["model-00002-of-00002.safetensors"] = []byte(strings.Replace(ptr, "ab", "cd", 32))
	start := time.Now()
	h.hub.ResetRequests()
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: files})
	require.NoError(t, err)
	h.waitJobs(1)
	h.idle()
	require.Len(t, h.discussions(), 1)
	t.Logf("push to posted report: %v (reported, not asserted)", time.Since(start))
	for _, r := range h.hub.Requests() {
		assert.NotContains(t, r.Path, "/resolve/", "no download")
	}
	assert.Empty(t, h.hub.CDNRequests(), "no LFS download")
}

func TestScheduleAndRecovery(t *testing.T) {
	h := newHarness(t, cardConfig+`
[repos]
allow = ["alice/tiny"]
`)
	// The bot is stopped; a push happens; nobody hears the webhook.
	h.stop()
	sha, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"README.md": []byte(brokenCard)}})
	require.NoError(t, err)
	h.idle()

	// Started again (same data dir would be kept on a real host; a new one
	// here), the recovery scan finds the missed push.
	h.start(cardConfig+"\n[repos]\nallow = [\"alice/tiny\"]\n", h.t.TempDir())
	list := h.waitJobs(1)
	assert.Equal(t, sha, list[0].Spec.SHA)
	assert.Equal(t, jobs.TriggerRecovery, list[0].Spec.Event)
	n, err := h.bot.Recover(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "recovery is idempotent")

	// A schedule fires the action on the main head.
	specs, err := h.bot.scheduleSpecs(context.Background(), "model-card", []string{"alice/*"})
	require.NoError(t, err)
	require.Len(t, specs, 1)
	assert.Equal(t, sha, specs[0].SHA)
}

func TestScheduleFiresAndReports(t *testing.T) {
	h := newHarness(t, cardConfig+`
[[schedules]]
cron = "@every 1s"
action = "model-card"
repos = ["alice/*"]
`)
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"README.md": []byte(brokenCard)}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		list, err := h.bot.queue.Jobs(context.Background(), jobs.JobFilter{})
		if err != nil {
			return false
		}
		for _, j := range list {
			if j.Spec.Trigger == "schedule" && jobs.Terminal(j.State) {
				return true
			}
		}
		return false
	}, 60*time.Second, 50*time.Millisecond, "the schedule never ran")
	h.idle()
	ds := h.discussions()
	require.Len(t, ds, 1, "one report discussion, however many runs")
	assert.Len(t, comments(ds[0]), 1)
}
