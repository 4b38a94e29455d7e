package chatops

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeApprovals records approval requests and answers what it is set to.
type fakeApprovals struct {
	reqs   []ApproveRequest
	answer func(req ApproveRequest) Approved
}

func (f *fakeApprovals) Approve(_ context.Context, req ApproveRequest) (Approved, error) {
	f.reqs = append(f.reqs, req)
	if f.answer != nil {
		return f.answer(req), nil
	}
	return Approved{SHA: req.SHA, Queued: req.Actions}, nil
}

func approvalConfig() Config {
	cfg := testConfig()
	cfg.Actions = append(cfg.Actions, ActionConfig{Name: "tests", Approval: true},
		ActionConfig{Name: "bench", Approval: true, Allow: []string{"user:eve"}})
	return cfg
}

func TestApproveCommand(t *testing.T) {
	cases := []struct {
		name    string
		cfg     func(*Config)
		comment string
		ev      Event
		answer  func(ApproveRequest) Approved
		asked   []string // the actions the bot was asked to approve; nil: not asked
		reply   string
	}{
		{
			name: "owner approves every action that may wait", comment: "/hubbot approve", ev: prEvent(aliceRepo(), "id-alice"),
			asked: []string{"lint", "tests"},
			reply: "> /hubbot approve\n\nApproved `3f2a9c1`: queued `lint` and `tests`.\n\nNot run: `bench` needs an allowed user.",
		},
		{
			name: "an action's own allow list decides who approves it", comment: "/hubbot approve bench", ev: prEvent(aliceRepo(), "id-eve"),
			asked: []string{"bench"},
			reply: "> /hubbot approve bench\n\nApproved `3f2a9c1`: queued `bench`.",
		},
		{
			name: "a stranger cannot approve", comment: "/hubbot approve", ev: prEvent(aliceRepo(), "id-bob"),
			reply: "> /hubbot approve\n\nNot run: `lint` needs repo-owner.\n\nNot run: `tests` needs repo-owner.\n\nNot run: `bench` needs an allowed user.",
		},
		{
			name: "a global anyone does not let anyone approve", cfg: func(c *Config) { c.Allow = []string{"anyone"} },
			comment: "/hubbot approve tests", ev: prEvent(aliceRepo(), "id-bob"),
			reply: "> /hubbot approve tests\n\nNot run: `tests` needs repo-owner.",
		},
		{
			name: "org members of an org-owned repo approve", comment: "/hubbot approve tests", ev: prEvent(acmeRepo(), "id-bob"),
			asked: []string{"tests"},
			reply: "> /hubbot approve tests\n\nApproved `3f2a9c1`: queued `tests`.",
		},
		{
			name: "not in a discussion", comment: "/hubbot approve", ev: Event{Repo: aliceRepo(), Discussion: 2, CommentID: "c1", Author: User{ID: "id-alice"}},
			reply: "> /hubbot approve\n\n`approve` works in a pull request: it approves running actions on its head.",
		},
		{
			name: "the head moved after the comment", comment: "/hubbot approve tests", ev: prEvent(aliceRepo(), "id-alice"),
			answer: func(ApproveRequest) Approved { return Approved{Moved: "bbbbbbbbbb"} },
			asked:  []string{"tests"},
			reply:  "> /hubbot approve tests\n\nNot approved: the pull request changed after this comment (its head is now `bbbbbbb`). Review the new changes and approve again.",
		},
		{
			name: "what needs no approval or cannot have it", comment: "/hubbot approve", ev: prEvent(aliceRepo(), "id-alice"),
			answer: func(r ApproveRequest) Approved {
				return Approved{SHA: r.SHA, Already: []string{"lint"}, NotNeeded: []string{"tests"}, Privileged: []string{"bench"}}
			},
			asked: []string{"lint", "tests"},
			reply: "> /hubbot approve\n\n`lint` is approved on `3f2a9c1` already; `rerun` runs it again. " +
				"`tests` needs no approval: the author of this pull request may run it. " +
				"`bench` never runs on this pull request: it is privileged (the Hub token, secrets from the bot's environment, or outputs that open a pull request) and its author is not allowed to run it. Approval does not change that." +
				"\n\nNot run: `bench` needs an allowed user.",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := approvalConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			r, err := New(cfg)
			require.NoError(t, err)
			bot, dir, ap := newFakeBot(), newFakeDirectory(), &fakeApprovals{answer: tc.answer}
			res := r.Parse(tc.comment)
			require.Equal(t, Run, res.Kind, "reply: %s", res.Reply)
			_, err = r.Execute(t.Context(), Env{Directory: dir, Heads: bot, Queue: bot, Replier: bot, Approvals: ap}, tc.ev, res.Invocations)
			require.NoError(t, err)
			if tc.asked == nil {
				assert.Empty(t, ap.reqs)
			} else {
				require.Len(t, ap.reqs, 1)
				req := ap.reqs[0]
				assert.Equal(t, tc.asked, req.Actions)
				assert.Equal(t, "3f2a9c1d00000000000000000000000000000000", req.SHA, "the head read when the comment is handled")
				assert.Equal(t, "c1", req.CommentID)
				assert.Equal(t, tc.ev.Author.ID, req.Approver.ID)
			}
			assert.Empty(t, bot.queued, "approve queues through Approvals only")
			require.Len(t, bot.replies, 1)
			assert.Equal(t, tc.reply, bot.replies[0])
		})
	}
}

func TestApproveNamesOnlyActionsThatWait(t *testing.T) {
	r, err := New(approvalConfig())
	require.NoError(t, err)
	res := r.Parse("/hubbot approve model-card")
	require.Equal(t, Reply, res.Kind)
	assert.Contains(t, res.Reply, "`model-card` does not wait for approval. Actions that may: `lint`, `tests`, `bench`.")
}

func TestTrustRules(t *testing.T) {
	cases := []struct {
		action, commands []string
		want             string
	}{
		{nil, nil, "repo-owner"},
		{nil, []string{"anyone"}, "repo-owner"},
		{nil, []string{"org:acme", "anyone"}, "org:acme repo-owner"},
		{[]string{"anyone"}, []string{"repo-owner"}, "anyone"},
		{[]string{"user:eve"}, nil, "user:eve"},
		{[]string{}, nil, ""},
	}
	for _, tc := range cases {
		rules, err := TrustRules(tc.action, tc.commands)
		require.NoError(t, err)
		var got []string
		for _, r := range rules {
			got = append(got, r.String())
		}
		assert.Equal(t, tc.want, joinWords(got), "action %v, commands %v", tc.action, tc.commands)
	}
	_, err := TrustRules([]string{"admins"}, nil)
	assert.Error(t, err)
}

func joinWords(s []string) string {
	out := ""
	for i, w := range s {
		if i > 0 {
			out += " "
		}
		out += w
	}
	return out
}

func TestAllowedKnowsTheOwnerByName(t *testing.T) {
	dir := newFakeDirectory()
	owner := []Rule{{Kind: RepoOwner}}
	// A job made from a push knows no owner id: the namespace is the
	// owner's name.
	repo := Repo{ID: "alice/model", Type: "model"}
	ok, err := Allowed(t.Context(), dir, repo, 3, User{ID: "id-alice"}, owner)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = Allowed(t.Context(), dir, repo, 3, User{ID: "id-bob"}, owner)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = Allowed(t.Context(), dir, Repo{ID: "acme/model"}, 3, User{ID: "id-bob"}, owner)
	require.NoError(t, err)
	assert.True(t, ok, "a member of the owning org")
	ok, err = Allowed(t.Context(), dir, repo, 3, User{}, owner)
	require.NoError(t, err)
	assert.False(t, ok, "an unknown author is nobody")
}

func TestApproverRules(t *testing.T) {
	r, err := New(approvalConfig())
	require.NoError(t, err)
	assert.Equal(t, []Rule{{Kind: RepoOwner}}, r.ApproverRules("tests"))
	assert.Equal(t, []Rule{{Kind: UserRule, Name: "eve"}}, r.ApproverRules("bench"))
	assert.Equal(t, []Rule{}, r.ApproverRules("nope"))
	cfg := approvalConfig()
	cfg.CommandAllow = map[string][]string{"approve": {"org:acme"}}
	r, err = New(cfg)
	require.NoError(t, err)
	assert.Equal(t, []Rule{{Kind: OrgRule, Name: "acme"}}, r.ApproverRules("tests"))
}
