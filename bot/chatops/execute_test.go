package chatops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/refs"
)

// fakeBot is the rest of the bot: a Hub that knows ref heads and takes
// replies, and a queue that records what it is asked.
type fakeBot struct {
	heads     map[string]string // ref -> sha
	headCalls int
	headErr   error

	queued   []RunRequest
	running  map[string]bool // action names already queued or running
	queueErr error
	past     []PastRun
	pastAt   []string // "ref@sha" LastRuns was asked about
	canceled [][]string
	cancelN  int

	replies  []string
	replyErr error
}

func newFakeBot() *fakeBot {
	return &fakeBot{
		heads:   map[string]string{"refs/pr/3": "3f2a9c1d00000000000000000000000000000000", refs.Main: "aaaaaaa1111111111111111111111111111111111"},
		running: map[string]bool{},
	}
}

func (f *fakeBot) Head(_ context.Context, _ Repo, ref string) (string, error) {
	f.headCalls++
	return f.heads[ref], f.headErr
}

func (f *fakeBot) Enqueue(_ context.Context, req RunRequest) (Enqueued, error) {
	if f.queueErr != nil {
		return Enqueued{}, f.queueErr
	}
	if f.running[req.Action] {
		return Enqueued{Duplicate: true}, nil
	}
	f.queued = append(f.queued, req)
	return Enqueued{ID: fmt.Sprint(len(f.queued))}, nil
}

func (f *fakeBot) LastRuns(_ context.Context, _ Repo, ref, sha string) ([]PastRun, error) {
	f.pastAt = append(f.pastAt, ref+"@"+sha)
	return f.past, f.queueErr
}

func (f *fakeBot) Cancel(_ context.Context, _ Repo, ref string, actions []string) (int, error) {
	f.canceled = append(f.canceled, append([]string{ref}, actions...))
	return f.cancelN, f.queueErr
}

func (f *fakeBot) Reply(_ context.Context, _ Repo, _ int, markdown string) error {
	if f.replyErr != nil {
		return f.replyErr
	}
	f.replies = append(f.replies, markdown)
	return nil
}

func (f *fakeBot) queuedActions() []string {
	var out []string
	for _, q := range f.queued {
		out = append(out, q.Action)
	}
	return out
}

// Commenters: alice owns the user repo alice/model; bob is a member of acme,
// which owns acme/model; eve is in evaluators; mallory is nobody.
func aliceRepo() Repo { return Repo{ID: "alice/model", Type: "model", OwnerID: "id-alice"} }
func acmeRepo() Repo  { return Repo{ID: "acme/model", Type: "model", OwnerID: "id-acme"} }

func prEvent(repo Repo, authorID string) Event {
	return Event{Repo: repo, Discussion: 3, IsPR: true, CommentID: "c1", Author: User{ID: authorID}}
}

// execute parses a comment and executes what it asks for.
func execute(t *testing.T, r *Registry, bot *fakeBot, dir *fakeDirectory, ev Event, comment string) (Report, error) {
	t.Helper()
	res := r.Parse(comment)
	require.Equal(t, Run, res.Kind, "reply: %s", res.Reply)
	return r.Execute(t.Context(), Env{Directory: dir, Heads: bot, Queue: bot, Replier: bot}, ev, res.Invocations)
}

func TestExecute(t *testing.T) {
	cases := []struct {
		name    string
		comment string
		ev      Event
		setup   func(*fakeBot)
		queued  []string
		reply   string
		ran     int
		denied  int
	}{
		{
			name: "owner checks the card", comment: "/hubbot check", ev: prEvent(aliceRepo(), "id-alice"),
			queued: []string{"model-card"}, ran: 1,
			reply: "> /hubbot check\n\nQueued `model-card` on `3f2a9c1`.",
		},
		{
			name: "org member converts", comment: "@hubbot convert", ev: prEvent(acmeRepo(), "id-bob"),
			queued: []string{"convert"}, ran: 1,
			reply: "> @hubbot convert\n\nQueued `convert` on `3f2a9c1`.",
		},
		{
			name: "a stranger may not convert", comment: "/hubbot convert", ev: prEvent(acmeRepo(), "id-mallory"),
			denied: 1,
			reply:  "> /hubbot convert\n\nNot run: `convert` needs repo-owner.",
		},
		{
			name: "anyone gets help", comment: "/hubbot help cancel", ev: prEvent(acmeRepo(), "id-mallory"), ran: 1,
			reply: "> /hubbot help cancel\n\n**`/hubbot cancel [action]...`**\n\nCancel the queued and running jobs of this pull request (of main in a discussion), or of the actions named.\n\nAlso `stop`. Who can use it: repo-owner.\n",
		},
		{
			name: "the action's own list lets an evaluator run it", comment: "/hubbot run eval", ev: prEvent(acmeRepo(), "id-eve"),
			queued: []string{"eval"}, ran: 1,
			reply: "> /hubbot run eval\n\nQueued `eval` on `3f2a9c1`.",
		},
		{
			name: "part allowed, part refused", comment: "/hubbot run eval model-card", ev: prEvent(acmeRepo(), "id-eve"),
			queued: []string{"eval"}, ran: 1, denied: 1,
			reply: "> /hubbot run eval model-card\n\nQueued `eval` on `3f2a9c1`.\n\nNot run: `model-card` needs repo-owner.",
		},
		{
			name: "the owner is not an evaluator", comment: "/hubbot run eval", ev: prEvent(acmeRepo(), "id-bob"),
			denied: 1,
			reply:  "> /hubbot run eval\n\nNot run: `eval` needs a member of an allowed org.",
		},
		{
			name: "in a discussion commands run on main", comment: "/hubbot check",
			ev:     Event{Repo: aliceRepo(), Discussion: 7, Author: User{ID: "id-alice"}},
			queued: []string{"model-card"}, ran: 1,
			reply: "> /hubbot check\n\nQueued `model-card` on `aaaaaaa`.",
		},
		{
			name: "already queued", comment: "/hubbot run model-card convert", ev: prEvent(aliceRepo(), "id-alice"),
			setup:  func(b *fakeBot) { b.running["model-card"] = true; b.running["convert"] = true },
			ran:    1,
			reply:  "> /hubbot run model-card convert\n\n`model-card` and `convert` are already queued or running on `3f2a9c1`.",
			queued: nil,
		},
		{
			name: "two commands, one reply", comment: "/hubbot check\n/hubbot convert", ev: prEvent(aliceRepo(), "id-alice"),
			queued: []string{"model-card", "convert"}, ran: 2,
			reply: "> /hubbot check\n\nQueued `model-card` on `3f2a9c1`.\n\n> /hubbot convert\n\nQueued `convert` on `3f2a9c1`.",
		},
		{
			name: "rerun what ran", comment: "/hubbot rerun", ev: prEvent(aliceRepo(), "id-alice"),
			setup: func(b *fakeBot) {
				b.past = []PastRun{{"model-card", "succeeded"}, {"lint", "failed"}, {"gone", "failed"}}
			},
			queued: []string{"model-card", "lint"}, ran: 1,
			reply: "> /hubbot rerun\n\nQueued `model-card` and `lint` on `3f2a9c1`.",
		},
		{
			name: "rerun the failed ones", comment: "/hubbot retry --failed", ev: prEvent(aliceRepo(), "id-alice"),
			setup:  func(b *fakeBot) { b.past = []PastRun{{"model-card", "succeeded"}, {"lint", "failed"}} },
			queued: []string{"lint"}, ran: 1,
			reply: "> /hubbot retry --failed\n\nQueued `lint` on `3f2a9c1`.",
		},
		{
			name: "rerun with nothing run", comment: "/hubbot rerun", ev: prEvent(aliceRepo(), "id-alice"), ran: 1,
			reply: "> /hubbot rerun\n\nNothing has run on `3f2a9c1` yet.",
		},
		{
			name: "rerun --failed with nothing failed", comment: "/hubbot rerun -f", ev: prEvent(aliceRepo(), "id-alice"),
			setup: func(b *fakeBot) { b.past = []PastRun{{"model-card", "succeeded"}} }, ran: 1,
			reply: "> /hubbot rerun -f\n\nNothing failed on `3f2a9c1`.",
		},
		{
			name: "rerun named actions", comment: "/hubbot rerun lint model-card", ev: prEvent(aliceRepo(), "id-alice"),
			queued: []string{"model-card"}, ran: 1,
			reply: "> /hubbot rerun lint model-card\n\nQueued `model-card` on `3f2a9c1`.\n\n`lint` has not run on `3f2a9c1`, and commands cannot start it.",
		},
		{
			name: "rerun is authorized per action", comment: "/hubbot rerun", ev: prEvent(acmeRepo(), "id-eve"),
			setup:  func(b *fakeBot) { b.past = []PastRun{{"model-card", "failed"}, {"eval", "failed"}} },
			queued: []string{"eval"}, ran: 1, denied: 1,
			reply: "> /hubbot rerun\n\nQueued `eval` on `3f2a9c1`.\n\nNot run: `model-card` needs repo-owner.",
		},
		{
			name: "cancel", comment: "/hubbot stop", ev: prEvent(aliceRepo(), "id-alice"),
			setup: func(b *fakeBot) { b.cancelN = 2 }, ran: 1,
			reply: "> /hubbot stop\n\nCancelled 2 jobs.",
		},
		{
			name: "cancel nothing", comment: "/hubbot cancel convert", ev: prEvent(aliceRepo(), "id-alice"), ran: 1,
			reply: "> /hubbot cancel convert\n\nNothing to cancel.",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRegistry(t)
			bot, dir := newFakeBot(), newFakeDirectory()
			if tc.setup != nil {
				tc.setup(bot)
			}
			rep, err := execute(t, r, bot, dir, tc.ev, tc.comment)
			require.NoError(t, err)
			assert.Equal(t, tc.queued, bot.queuedActions())
			require.Len(t, bot.replies, 1)
			assert.Equal(t, tc.reply, bot.replies[0])
			assert.Equal(t, tc.reply, rep.Reply)
			assert.Len(t, rep.Ran, tc.ran)
			assert.Len(t, rep.Denied, tc.denied)
			assert.Equal(t, Ignore, r.Parse(rep.Reply).Kind, "a reply is never a command")
			assert.LessOrEqual(t, bot.headCalls, 1, "the head is read once per comment")
		})
	}
}

func TestExecuteLeavesInvocationsAlone(t *testing.T) {
	r := newTestRegistry(t)
	bot, dir := newFakeBot(), newFakeDirectory()
	invs := []Invocation{
		{Command: "help", Args: []string{"RETRY"}, Line: "/hubbot help RETRY"},
		{Command: "run", Args: []string{"Model-Card", "model-card"}, Line: "/hubbot run Model-Card model-card"},
	}
	rep, err := r.Execute(t.Context(), Env{Directory: dir, Heads: bot, Queue: bot, Replier: bot}, prEvent(aliceRepo(), "id-alice"), invs)
	require.NoError(t, err)
	assert.Contains(t, rep.Reply, "**`/hubbot rerun [--failed] [action]...`**")
	assert.Equal(t, []string{"model-card"}, bot.queuedActions())
	assert.Equal(t, []string{"RETRY"}, invs[0].Args, "the caller's invocations are not modified")
	assert.Equal(t, []string{"Model-Card", "model-card"}, invs[1].Args)
}

func TestExecuteRunRequest(t *testing.T) {
	r := newTestRegistry(t)
	bot, dir := newFakeBot(), newFakeDirectory()
	ev := prEvent(acmeRepo(), "id-bob")
	_, err := execute(t, r, bot, dir, ev, "- `/hubbot check`")
	require.NoError(t, err)
	require.Len(t, bot.queued, 1)
	assert.Equal(t, RunRequest{
		Repo: acmeRepo(), Ref: "refs/pr/3", SHA: "3f2a9c1d00000000000000000000000000000000", Action: "model-card",
		Discussion: 3, CommentID: "c1", Requester: User{ID: "id-bob"}, Command: "/hubbot check",
	}, bot.queued[0])
	assert.Equal(t, 1, dir.nameCalls)
	assert.Equal(t, 1, dir.memberCalls)
}

func TestExecuteFailures(t *testing.T) {
	hubDown := errors.New("hub down")
	cases := []struct {
		name    string
		comment string
		ev      Event
		break_  func(*fakeBot, *fakeDirectory)
		err     string
	}{
		{"directory", "/hubbot check", prEvent(acmeRepo(), "id-bob"), func(_ *fakeBot, d *fakeDirectory) { d.err = hubDown }, "find the username of id-bob"},
		{"head", "/hubbot check", prEvent(aliceRepo(), "id-alice"), func(b *fakeBot, _ *fakeDirectory) { b.headErr = hubDown }, "read the head of alice/model refs/pr/3"},
		{"no head", "/hubbot check", prEvent(aliceRepo(), "id-alice"), func(b *fakeBot, _ *fakeDirectory) { delete(b.heads, "refs/pr/3") }, "no commit"},
		{"queue", "/hubbot check", prEvent(aliceRepo(), "id-alice"), func(b *fakeBot, _ *fakeDirectory) { b.queueErr = hubDown }, "queue model-card at 3f2a9c1"},
		{"last runs", "/hubbot rerun", prEvent(aliceRepo(), "id-alice"), func(b *fakeBot, _ *fakeDirectory) { b.queueErr = hubDown }, "list the runs at 3f2a9c1"},
		{"cancel", "/hubbot cancel", prEvent(aliceRepo(), "id-alice"), func(b *fakeBot, _ *fakeDirectory) { b.queueErr = hubDown }, "cancel the jobs of refs/pr/3"},
		{"reply", "/hubbot help", prEvent(aliceRepo(), "id-alice"), func(b *fakeBot, _ *fakeDirectory) { b.replyErr = hubDown }, "reply on alice/model#3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRegistry(t)
			bot, dir := newFakeBot(), newFakeDirectory()
			tc.break_(bot, dir)
			rep, err := execute(t, r, bot, dir, tc.ev, tc.comment)
			require.Error(t, err)
			if tc.name != "no head" {
				assert.ErrorIs(t, err, hubDown, "the cause is kept")
			}
			assert.ErrorContains(t, err, tc.err)
			assert.Empty(t, bot.replies, "nothing is posted when the comment must be retried")
			assert.Equal(t, Report{}, rep)
		})
	}
}

func TestExecuteStoredInvocations(t *testing.T) {
	cfg := testConfig()
	cfg.MaxCommands = 4
	r, err := New(cfg)
	require.NoError(t, err)
	bot, dir := newFakeBot(), newFakeDirectory()
	env := Env{Directory: dir, Heads: bot, Queue: bot, Replier: bot}
	ev := prEvent(aliceRepo(), "id-alice")
	// Invocations stored in a job before the configuration changed.
	invs := []Invocation{
		{Command: "deploy", Line: "/hubbot deploy"},
		{Command: "retry", Line: "/hubbot retry"},
		{Command: "run", Args: []string{"removed"}, Line: "/hubbot run removed"},
		{Command: "rerun", Flags: map[string]string{"force": "true"}, Line: "/hubbot rerun --force"},
	}
	rep, err := r.Execute(t.Context(), env, ev, invs)
	require.NoError(t, err)
	assert.Empty(t, bot.queued)
	assert.Empty(t, rep.Ran)
	for _, want := range []string{
		"`deploy` is not a command any more.",
		"`retry` is not a command any more.",
		"`removed` is not an action here.",
		"`rerun` has no flag `--force` any more.",
	} {
		assert.Contains(t, rep.Reply, want)
	}

	rep, err = r.Execute(t.Context(), env, ev, []Invocation{
		{Command: "help", Args: []string{"run"}, Line: "/hubbot help run"},
		{Command: "help", Args: []string{"check"}, Line: "/hubbot help check"},
		{Command: "help", Args: []string{"cancel"}, Line: "/hubbot help cancel"},
		{Command: "help", Line: "/hubbot help"},
		{Command: "check", Line: "/hubbot check"},
	})
	require.NoError(t, err)
	assert.Len(t, rep.Ran, 4)
	assert.Contains(t, rep.Reply, "Only the first 4 commands were read.")
	assert.Empty(t, bot.queued)

	_, err = r.Execute(t.Context(), Env{Heads: bot}, ev, invs)
	assert.ErrorContains(t, err, "Env needs")

	rep, err = r.Execute(t.Context(), env, ev, nil)
	require.NoError(t, err)
	assert.Equal(t, Report{}, rep)
	assert.Len(t, bot.replies, 2, "no invocations, no reply")
}

// TestExecuteReplyIsSafe runs a handler whose answer would trigger bots; the
// posted reply is escaped.
func TestExecuteReplyIsSafe(t *testing.T) {
	echo := Command{
		Name: "echo", Args: "<text>...", Help: "Say it back.", MaxArgs: -1, Public: true,
		Run: func(_ context.Context, c *Call) (string, error) {
			return "/hubbot convert\n@hubbot check\n/retest", nil
		},
	}
	r, err := New(testConfig(), echo)
	require.NoError(t, err)
	bot, dir := newFakeBot(), newFakeDirectory()
	rep, err := execute(t, r, bot, dir, prEvent(aliceRepo(), "id-mallory"), "/hubbot echo hi")
	require.NoError(t, err)
	assert.Equal(t, "> /hubbot echo hi\n\n\\/hubbot convert\n\\@hubbot check\n\\/retest", rep.Reply)
	assert.Equal(t, Ignore, r.Parse(rep.Reply).Kind)
	assert.False(t, slices.Contains(bot.replies, "/hubbot convert"))
}
