package bot

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// pubFixture is a publisher on a real store and the fake Hub, with a repo
// alice/tiny and the bot's account.
type pubFixture struct {
	t     *testing.T
	hub   *hubtest.Server
	alice hubtest.User
	bot   hubtest.User
	queue *jobs.Queue
	pub   *publisher
	logs  *bytes.Buffer
	repo  hubclient.Repo
	head  string // main's commit
}

func newPubFixture(t *testing.T, dryRun bool, alwaysReport bool) *pubFixture {
	t.Helper()
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	f := &pubFixture{t: t, hub: hub, alice: hub.AddUser("alice"), bot: hub.AddUser("hubbot-ci"), logs: &bytes.Buffer{},
		repo: hubclient.Repo{Type: hubclient.Model, ID: "alice/tiny"}}
	created, err := hub.CreateRepo(f.alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte(readme)}})
	require.NoError(t, err)
	f.head = created.Head
	client, err := hubclient.New(hubclient.Options{Endpoint: hub.URL, Token: f.bot.Token})
	require.NoError(t, err)
	f.queue, err = jobs.New(t.Context(), jobs.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { f.queue.Close() })
	f.pub = &publisher{hub: client, store: f.queue, me: client.WhoAmI, dryRun: dryRun,
		log: slog.New(slog.NewTextHandler(f.logs, nil)), now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC) },
		safe:         chatops.Syntax{Prefix: "/hubbot", Name: f.bot.Name}.Safe,
		alwaysReport: func(string) bool { return alwaysReport }}
	return f
}

// job stores a run job for spec and returns it as the store has it.
func (f *pubFixture) job(s jobs.Spec) *jobs.Job {
	f.t.Helper()
	s.Kind, s.Repo = jobs.KindRun, f.repo
	ids, err := f.queue.Enqueue(f.t.Context(), "test", []jobs.Spec{s})
	require.NoError(f.t, err)
	require.Len(f.t, ids, 1)
	j, err := f.queue.Job(f.t.Context(), ids[0])
	require.NoError(f.t, err)
	return j
}

func (f *pubFixture) discussion(num int) hubtest.Discussion {
	f.t.Helper()
	d, ok := f.hub.Discussion("alice/tiny", num)
	require.True(f.t, ok, "discussion %d exists", num)
	return d
}

// botEvents returns the bot's events of one type in a discussion.
func botEvents(d hubtest.Discussion, bot, typ string) []hubtest.Event {
	var out []hubtest.Event
	for _, e := range d.Events {
		if e.Author == bot && e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestPublisherStickyQueuedRunningFinal(t *testing.T) {
	f := newPubFixture(t, false, false)
	pr, err := f.hub.OpenPR(f.alice, "alice/tiny", "Update", "please", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	job := f.job(jobs.Spec{Action: "card", Trigger: "pull_request", Ref: pr.Ref, SHA: pr.SHA, Discussion: pr.Num})
	ctx := t.Context()

	steps := []struct {
		name  string
		do    func() error
		shows string
	}{
		{"queued", func() error { return f.pub.queued(ctx, job) }, "⏳ card: queued"},
		{"running", func() error {
			running := *job
			running.State = jobs.StateRunning
			return f.pub.sticky(ctx, &running, refs.Main, nil)
		}, "🔄 card: running"},
		{"final", func() error {
			return f.pub.final(ctx, job, jobs.Outcome{State: jobs.StateFailed, Conclusion: "failure",
				Summary: "card broken", Details: "/hubbot convert\n@hubbot-ci hi"}, refs.Main, nil)
		}, "❌ card: card broken"},
	}
	for _, step := range steps {
		require.NoError(t, step.do(), step.name)
		comments := botEvents(f.discussion(pr.Num), f.bot.Name, "comment")
		require.Len(t, comments, 1, "%s: one sticky comment, edited in place", step.name)
		assert.Contains(t, comments[0].Content, step.shows, step.name)
		assert.True(t, strings.HasPrefix(comments[0].Content, "<!-- hubbot:report:card -->"), step.name)
	}
	final := botEvents(f.discussion(pr.Num), f.bot.Name, "comment")[0].Content
	assert.Contains(t, final, "`"+pr.Ref+"` into `main`")
	assert.Contains(t, final, "\\/hubbot convert", "the details went through the loop guard")
	assert.Contains(t, final, "\\@hubbot-ci hi")

	// A newer job owns the comment from now on.
	newer := f.job(jobs.Spec{Action: "card", Trigger: "pull_request", Ref: pr.Ref, SHA: strings.Repeat("b", 40), Discussion: pr.Num})
	require.NoError(t, f.pub.queued(ctx, newer))
	require.NoError(t, f.pub.sticky(ctx, job, "", nil), "an older job shows the newest one's state")
	comments := botEvents(f.discussion(pr.Num), f.bot.Name, "comment")
	require.Len(t, comments, 1)
	assert.Contains(t, comments[0].Content, "⏳ card: queued")
}

func TestPublisherBranchDiscussionLifecycle(t *testing.T) {
	f := newPubFixture(t, false, false)
	ctx := t.Context()
	failing := func(summary string) jobs.Outcome {
		return jobs.Outcome{State: jobs.StateFailed, Conclusion: "failure", Summary: summary}
	}
	passing := jobs.Outcome{State: jobs.StateSucceeded, Conclusion: "success", Summary: "all good"}
	steps := []struct {
		name     string
		out      jobs.Outcome
		status   string // of discussion 1; "" when none exists
		edits    bool   // the description was edited by this step
		statuses int    // status changes by the bot so far
		says     string // the latest status change comment contains
	}{
		{"clean first result opens nothing", passing, "", false, 0, ""},
		{"a failure opens the discussion", failing("license missing"), "open", false, 0, ""},
		{"same findings change nothing", failing("license missing"), "open", false, 0, ""},
		{"new findings edit the description", failing("license and language missing"), "open", true, 0, ""},
		{"resolved closes it", passing, "closed", true, 1, "Resolved in"},
		{"clean again changes nothing", passing, "closed", false, 1, "Resolved in"},
		{"back again reopens it", failing("license missing"), "open", true, 2, "Failing again in"},
	}
	last := ""
	for i, step := range steps {
		job := f.job(jobs.Spec{Action: "card", Trigger: "push", Ref: refs.Main, SHA: strings.Repeat(string(rune('a'+i)), 40)})
		require.NoError(t, f.pub.final(ctx, job, step.out, "", nil), step.name)
		d, ok := f.hub.Discussion("alice/tiny", 1)
		if step.status == "" {
			assert.False(t, ok, step.name)
			continue
		}
		require.True(t, ok, step.name)
		assert.Equal(t, "hubbot: card", d.Title)
		assert.Equal(t, step.status, d.Status, step.name)
		desc := d.Events[0].Content
		assert.Equal(t, step.edits, desc != last && last != "", "%s: edited", step.name)
		last = desc
		assert.Contains(t, desc, step.out.Summary, step.name)
		changes := botEvents(d, f.bot.Name, "status-change")
		assert.Len(t, changes, step.statuses, step.name)
		if step.says != "" {
			comments := botEvents(d, f.bot.Name, "comment")
			assert.Contains(t, comments[len(comments)-1].Content, step.says, step.name)
		}
	}
	_, second := f.hub.Discussion("alice/tiny", 2)
	assert.False(t, second, "one discussion for the action and branch")
}

func TestPublisherAlwaysReportOpensAndClosesOnSuccess(t *testing.T) {
	f := newPubFixture(t, false, true)
	job := f.job(jobs.Spec{Action: "tests", Trigger: "push", Ref: refs.BranchRef("dev"), SHA: strings.Repeat("a", 40)})
	require.NoError(t, f.pub.final(t.Context(), job, jobs.Outcome{State: jobs.StateSucceeded, Conclusion: "success", Summary: "ok"}, "", nil))
	d := f.discussion(1)
	assert.Equal(t, "hubbot: tests on dev", d.Title)
	assert.Equal(t, "closed", d.Status, "a clean result is shown, in a closed discussion")
}

func TestPublisherFindsItsReportWhenTheStoreForgot(t *testing.T) {
	f := newPubFixture(t, false, false)
	ctx := t.Context()
	job := f.job(jobs.Spec{Action: "card", Trigger: "push", Ref: refs.Main, SHA: strings.Repeat("a", 40)})
	require.NoError(t, f.pub.final(ctx, job, jobs.Outcome{State: jobs.StateFailed, Conclusion: "failure", Summary: "bad"}, "", nil))

	// A fresh store: the discussion is found on the Hub, not opened again.
	q, err := jobs.New(ctx, jobs.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	defer q.Close()
	f.pub.store, f.queue = q, q
	job = f.job(jobs.Spec{Action: "card", Trigger: "push", Ref: refs.Main, SHA: strings.Repeat("b", 40)})
	require.NoError(t, f.pub.final(ctx, job, jobs.Outcome{State: jobs.StateFailed, Conclusion: "failure", Summary: "worse"}, "", nil))
	_, second := f.hub.Discussion("alice/tiny", 2)
	assert.False(t, second)
	assert.Contains(t, f.discussion(1).Events[0].Content, "worse")
}

func TestPublisherDryRunWritesNothing(t *testing.T) {
	f := newPubFixture(t, true, false)
	ctx := t.Context()
	pr, err := f.hub.OpenPR(f.alice, "alice/tiny", "Update", "please", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	prJob := f.job(jobs.Spec{Action: "card", Trigger: "pull_request", Ref: pr.Ref, SHA: pr.SHA, Discussion: pr.Num})
	require.NoError(t, f.pub.queued(ctx, prJob))
	require.NoError(t, f.pub.final(ctx, prJob, jobs.Outcome{State: jobs.StateFailed, Conclusion: "failure", Summary: "bad"}, refs.Main, nil))
	branchJob := f.job(jobs.Spec{Action: "card", Trigger: "push", Ref: refs.Main, SHA: strings.Repeat("a", 40)})
	require.NoError(t, f.pub.final(ctx, branchJob, jobs.Outcome{State: jobs.StateFailed, Conclusion: "failure", Summary: "bad"}, "", nil))

	assert.Empty(t, botEvents(f.discussion(pr.Num), f.bot.Name, "comment"), "no comment reached the Hub")
	_, opened := f.hub.Discussion("alice/tiny", pr.Num+1)
	assert.False(t, opened, "no discussion reached the Hub")
	assert.Contains(t, f.logs.String(), "dry-run: would comment on")
	assert.Contains(t, f.logs.String(), "dry-run: would open a discussion")
}

func TestPriorProposalsLooksForTheActionsMarker(t *testing.T) {
	f := newPubFixture(t, false, false)
	ctx := t.Context()
	sha := f.head
	botClient, err := hubclient.New(hubclient.Options{Endpoint: f.hub.URL, Token: f.bot.Token})
	require.NoError(t, err)
	_, err = botClient.CreateCommit(ctx, f.repo, hubclient.CommitRequest{CreatePR: true, Summary: "Convert",
		Description: "files\n\n" + proposalMarker("convert", sha),
		Files:       []hubclient.CommitFile{{PathInRepo: "model.safetensors", Content: []byte("x")}}})
	require.NoError(t, err)

	for _, tc := range []struct {
		action, sha string
		found       bool
	}{
		{"convert", sha, true},
		{"other", sha, false},
		{"convert", strings.Repeat("0", 40), false},
	} {
		_, found, err := newPriorProposals(botClient, botClient.WhoAmI, tc.action).find(ctx, f.repo, tc.sha)
		require.NoError(t, err)
		assert.Equal(t, tc.found, found, "%s at %s", tc.action, tc.sha)
	}
}

// countingStore counts the publisher's calls to the store.
type countingStore struct {
	reportStore
	calls []string
}

func (c *countingStore) LockReport(ctx context.Context, s jobs.Spec, owner int64, ttl time.Duration) (*jobs.Report, error) {
	c.calls = append(c.calls, "LockReport")
	return c.reportStore.LockReport(ctx, s, owner, ttl)
}

func (c *countingStore) UnlockReport(ctx context.Context, s jobs.Spec, owner int64) {
	c.calls = append(c.calls, "UnlockReport")
	c.reportStore.UnlockReport(ctx, s, owner)
}

func (c *countingStore) SaveReportLocation(ctx context.Context, s jobs.Spec, l jobs.ReportLocation) error {
	c.calls = append(c.calls, "SaveReportLocation")
	return c.reportStore.SaveReportLocation(ctx, s, l)
}

// TestPublisherStickyStoreCalls: a sticky edit takes the lease and reads
// the report in one store call and releases it in another; only the first
// post, or a comment found on the Hub, is saved. (It was five calls for the
// first post and four for each edit: lock, newest job, location, unlock.)
func TestPublisherStickyStoreCalls(t *testing.T) {
	f := newPubFixture(t, false, false)
	ctx := t.Context()
	c := &countingStore{reportStore: f.queue}
	f.pub.store = c
	pr, err := f.hub.OpenPR(f.alice, "alice/tiny", "Update", "please", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	job := f.job(jobs.Spec{Action: "card", Trigger: "pull_request", Ref: pr.Ref, SHA: pr.SHA, Discussion: pr.Num})

	require.NoError(t, f.pub.queued(ctx, job))
	assert.Equal(t, []string{"LockReport", "SaveReportLocation", "UnlockReport"}, c.calls, "the first post")

	c.calls = nil
	running := *job
	running.State = jobs.StateRunning
	require.NoError(t, f.pub.sticky(ctx, &running, refs.Main, nil))
	require.NoError(t, f.pub.final(ctx, job, jobs.Outcome{State: jobs.StateFailed, Conclusion: "failure", Summary: "bad"}, refs.Main, nil))
	assert.Equal(t, []string{"LockReport", "UnlockReport", "LockReport", "UnlockReport"}, c.calls, "a run: running, then final")
	comments := botEvents(f.discussion(pr.Num), f.bot.Name, "comment")
	require.Len(t, comments, 1)
	assert.Contains(t, comments[0].Content, "❌ card: bad")

	// The store forgot the comment: it is found on the Hub once, then remembered.
	q, err := jobs.New(ctx, jobs.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	defer q.Close()
	f.queue, c.reportStore, c.calls = q, q, nil
	job = f.job(jobs.Spec{Action: "card", Trigger: "pull_request", Ref: pr.Ref, SHA: pr.SHA, Discussion: pr.Num})
	require.NoError(t, f.pub.queued(ctx, job))
	require.NoError(t, f.pub.queued(ctx, job))
	assert.Equal(t, []string{"LockReport", "SaveReportLocation", "UnlockReport", "LockReport", "UnlockReport"}, c.calls)
	require.Len(t, botEvents(f.discussion(pr.Num), f.bot.Name, "comment"), 1, "edited in place, not posted again")
}
