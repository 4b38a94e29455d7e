package chatops

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeDirectory answers from maps and counts the questions it is asked.
type fakeDirectory struct {
	names       map[string]string   // user id -> username
	members     map[string][]string // org -> usernames
	err         error
	nameCalls   int
	memberCalls int
}

func (f *fakeDirectory) UserName(_ context.Context, _ Repo, _ int, id string) (string, error) {
	f.nameCalls++
	if f.err != nil {
		return "", f.err
	}
	return f.names[id], nil
}

func (f *fakeDirectory) IsMember(_ context.Context, org, user string) (bool, error) {
	f.memberCalls++
	if f.err != nil {
		return false, f.err
	}
	for _, m := range f.members[strings.ToLower(org)] {
		if strings.EqualFold(m, user) {
			return true, nil
		}
	}
	return false, nil
}

func newFakeDirectory() *fakeDirectory {
	return &fakeDirectory{
		names: map[string]string{
			"id-alice": "alice", "id-bob": "bob", "id-eve": "eve", "id-ghost": "",
		},
		members: map[string][]string{
			"acme":       {"bob"},
			"evaluators": {"eve"},
		},
	}
}

func TestParseRule(t *testing.T) {
	valid := map[string]Rule{
		"repo-owner":   {Kind: RepoOwner},
		" Repo-Owner ": {Kind: RepoOwner},
		"anyone":       {Kind: Anyone},
		"user:alice":   {Kind: UserRule, Name: "alice"},
		"org:acme-ai":  {Kind: OrgRule, Name: "acme-ai"},
		"USER:Bob.B_1": {Kind: UserRule, Name: "Bob.B_1"},
	}
	for in, want := range valid {
		t.Run(in, func(t *testing.T) {
			got, err := ParseRule(in)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			again, err := ParseRule(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, again, "String round-trips")
		})
	}
	for _, in := range []string{"", "owner", "admins", "user:", "org:", "user:a b", "team:x", "user:-x", "user:ünï"} {
		t.Run("invalid "+in, func(t *testing.T) {
			_, err := ParseRule(in)
			assert.ErrorContains(t, err, "unknown allow rule")
		})
	}
	rules, err := ParseRules(nil)
	require.NoError(t, err)
	assert.Nil(t, rules, "nil stays not configured")
	rules, err = ParseRules([]string{})
	require.NoError(t, err)
	assert.Equal(t, []Rule{}, rules, "empty allows nobody")
	_, err = ParseRules([]string{"anyone", "nope"})
	assert.ErrorContains(t, err, "[1]: unknown allow rule")
}

func TestCheckerAllowed(t *testing.T) {
	orgRepo := Repo{ID: "acme/model", Type: "model", OwnerID: "id-acme"}
	userRepo := Repo{ID: "alice/model", Type: "model", OwnerID: "id-alice"}
	cases := []struct {
		name        string
		rules       []string
		repo        Repo
		author      User
		want        bool
		nameCalls   int
		memberCalls int
	}{
		{name: "anyone needs no lookup", rules: []string{"anyone"}, repo: userRepo, author: User{ID: "id-bob"}, want: true},
		{name: "owner by id needs no lookup", rules: []string{"user:x", "repo-owner"}, repo: userRepo, author: User{ID: "id-alice"}, want: true},
		{name: "not the owner of a user repo", rules: []string{"repo-owner"}, repo: userRepo, author: User{ID: "id-bob"}, want: false, nameCalls: 1, memberCalls: 1},
		{name: "member of the owning org", rules: []string{"repo-owner"}, repo: orgRepo, author: User{ID: "id-bob"}, want: true, nameCalls: 1, memberCalls: 1},
		{name: "not a member of the owning org", rules: []string{"repo-owner"}, repo: orgRepo, author: User{ID: "id-eve"}, want: false, nameCalls: 1, memberCalls: 1},
		{name: "named user", rules: []string{"user:ALICE"}, repo: orgRepo, author: User{ID: "id-alice"}, want: true, nameCalls: 1},
		{name: "other user", rules: []string{"user:alice"}, repo: orgRepo, author: User{ID: "id-bob"}, want: false, nameCalls: 1},
		{name: "name given by the caller", rules: []string{"user:alice"}, repo: orgRepo, author: User{ID: "id-x", Name: "alice"}, want: true},
		{name: "org member", rules: []string{"org:Evaluators"}, repo: orgRepo, author: User{ID: "id-eve"}, want: true, nameCalls: 1, memberCalls: 1},
		{name: "asked once per org", rules: []string{"org:evaluators", "org:EVALUATORS", "user:zed"}, repo: orgRepo, author: User{ID: "id-bob"}, want: false, nameCalls: 1, memberCalls: 1},
		{name: "nobody", rules: []string{}, repo: userRepo, author: User{ID: "id-alice"}, want: false},
		{name: "deleted account", rules: []string{"user:alice", "org:acme"}, repo: orgRepo, author: User{ID: "id-ghost"}, want: false, nameCalls: 1},
		{name: "no author id", rules: []string{"repo-owner", "user:alice"}, repo: Repo{ID: "acme/m"}, author: User{}, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := newFakeDirectory()
			rules, err := ParseRules(tc.rules)
			require.NoError(t, err)
			c := newChecker(dir, Event{Repo: tc.repo, Discussion: 1, Author: tc.author})
			got, err := c.allowed(t.Context(), rules)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			// Asking again is answered from what was learnt.
			again, err := c.allowed(t.Context(), rules)
			require.NoError(t, err)
			assert.Equal(t, got, again)
			assert.Equal(t, tc.nameCalls, dir.nameCalls, "username lookups")
			assert.Equal(t, tc.memberCalls, dir.memberCalls, "membership lookups")
		})
	}
}

func TestCheckerDirectoryError(t *testing.T) {
	dir := newFakeDirectory()
	dir.err = errors.New("hub down")
	c := newChecker(dir, Event{Repo: Repo{ID: "acme/m", OwnerID: "id-acme"}, Author: User{ID: "id-bob"}})
	rules, err := ParseRules([]string{"org:acme"})
	require.NoError(t, err)
	_, err = c.allowed(t.Context(), rules)
	assert.ErrorIs(t, err, dir.err)
	assert.ErrorContains(t, err, "find the username of id-bob")
}

func TestDescribeAndDenial(t *testing.T) {
	cases := []struct {
		rules  []string
		who    string
		denial string
	}{
		{[]string{"anyone", "user:x"}, "anyone", ""},
		{[]string{"repo-owner"}, "repo-owner", "Not run: `convert` needs repo-owner."},
		{[]string{"user:secret-admin", "org:secret-org", "repo-owner"}, "repo-owner or a member of an allowed org or an allowed user",
			"Not run: `convert` needs repo-owner or a member of an allowed org or an allowed user."},
		{[]string{"user:secret-admin"}, "an allowed user", "Not run: `convert` needs an allowed user."},
		{[]string{}, "no one", "Not run: `convert` is not enabled for anyone on this repo."},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.rules, ","), func(t *testing.T) {
			rules, err := ParseRules(tc.rules)
			require.NoError(t, err)
			assert.Equal(t, tc.who, describe(rules))
			if tc.denial != "" {
				d := denial(code("convert"), rules)
				assert.Equal(t, tc.denial, d)
				assert.NotContains(t, d, "secret", "a denial never shows the allow list")
			}
		})
	}
}

func TestRulesFor(t *testing.T) {
	cfg := testConfig()
	cfg.Allow = []string{"anyone"}
	cfg.CommandAllow = map[string][]string{"stop": {"user:ops"}, "run": {"org:acme"}}
	r, err := New(cfg)
	require.NoError(t, err)
	cmd := func(name string) *Command {
		c, ok := r.Lookup(name)
		require.True(t, ok, name)
		return c
	}
	act := func(name string) *action {
		a, ok := r.lookupAction(name)
		require.True(t, ok, name)
		return a
	}
	cases := []struct {
		name  string
		cmd   *Command
		act   *action
		rules string
	}{
		{"read-only command takes the global list", cmd("check"), act("model-card"), "anyone"},
		{"a write turns a global anyone into the owner", cmd("convert"), act("convert"), "repo-owner"},
		{"the action's own list wins", cmd("run"), act("eval"), "org:evaluators"},
		{"the command's own list, by alias", cmd("cancel"), nil, "user:ops"},
		{"the command's list for an action without one", cmd("run"), act("model-card"), "org:acme"},
		{"help is public", cmd("help"), nil, "anyone"},
		{"rerun of a writing action", cmd("rerun"), act("convert"), "repo-owner"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, rule := range r.rulesFor(tc.cmd, tc.act) {
				got = append(got, rule.String())
			}
			assert.Equal(t, tc.rules, strings.Join(got, ","))
		})
	}

	cfg.CommandAllow = map[string][]string{"help": {"repo-owner"}, "convert": {"anyone"}}
	r, err = New(cfg)
	require.NoError(t, err)
	assert.Equal(t, []Rule{{Kind: RepoOwner}}, r.rulesFor(cmd("help"), nil), "help can be restricted")
	assert.Equal(t, []Rule{{Kind: Anyone}}, r.rulesFor(cmd("convert"), act("convert")), "an explicit anyone opens a write")
}

func TestForWrites(t *testing.T) {
	parse := func(s ...string) []Rule {
		rules, err := ParseRules(s)
		require.NoError(t, err)
		return rules
	}
	assert.Equal(t, parse("repo-owner"), forWrites(parse("anyone")))
	assert.Equal(t, parse("user:a", "repo-owner"), forWrites(parse("user:a", "anyone", "repo-owner")))
	assert.Equal(t, parse("org:x"), forWrites(parse("org:x")))
	assert.Equal(t, []Rule{}, forWrites(parse()))
}
