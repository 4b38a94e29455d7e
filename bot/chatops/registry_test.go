package chatops

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	goldenfile "github.com/hubbot/hubbot/internal/golden"
)

func TestNewCommandSet(t *testing.T) {
	cases := []struct {
		name    string
		actions []ActionConfig
		want    []string
	}{
		{"no actions: help only", nil, []string{"help"}},
		{"actions commands cannot start", []ActionConfig{{Name: "lint"}}, []string{"help", "rerun", "cancel"}},
		{"a custom command action", []ActionConfig{{Name: "lint", Command: true}}, []string{"help", "run", "rerun", "cancel"}},
		{"model card only", []ActionConfig{{Name: "card", Shortcut: "check", ShortcutHelp: "Check the model card.", Command: true}}, []string{"help", "run", "check", "rerun", "cancel"}},
		{"model card not by command", []ActionConfig{{Name: "card", Shortcut: "check", ShortcutHelp: "Check the model card."}, {Name: "x", Command: true}},
			[]string{"help", "run", "rerun", "cancel"}},
		{"a run action on pull requests", []ActionConfig{{Name: "tests", Approval: true}}, []string{"help", "approve", "rerun", "cancel"}},
		{"everything", testConfig().Actions, []string{"help", "run", "approve", "check", "convert", "rerun", "cancel"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(Config{Actions: tc.actions})
			require.NoError(t, err)
			assert.Equal(t, tc.want, r.Names())
		})
	}
}

func TestNewErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"prefix without punctuation", Config{Prefix: "hubbot"}, "commands.prefix: command prefix \"hubbot\" must start with one of"},
		{"prefix with a space", Config{Prefix: "/hub bot"}, "may only continue with"},
		{"prefix that is a mention", Config{Prefix: "@bot"}, "must start with one of"},
		{"bad bot name", Config{BotName: "bad name"}, `bot name "bad name" is not a Hub username`},
		{"too many commands", Config{MaxCommands: 11}, "commands.max_commands: 11 is not between 1 and 10"},
		{"bad global rule", Config{Allow: []string{"repo-owner", "admins"}}, `commands.allow[1]: unknown allow rule "admins"`},
		{"bad action rule", Config{Actions: []ActionConfig{{Name: "a", Allow: []string{"team:x"}}}}, `actions[0].allow[0]: unknown allow rule "team:x"`},
		{"bad action name", Config{Actions: []ActionConfig{{Name: "a b"}}}, `actions[0].name: "a b" is not a valid action name`},
		{"duplicate action", Config{Actions: []ActionConfig{{Name: "a"}, {Name: "A"}}}, `actions[1].name: "A" is used twice`},
		{"rules for an unknown command", Config{CommandAllow: map[string][]string{"chek": {"anyone"}}}, `commands allow list for "chek": no such command`},
		{"rules for a near miss", Config{Actions: testConfig().Actions, CommandAllow: map[string][]string{"chek": {"anyone"}}}, `(did you mean "check"?)`},
		{"bad command rule", Config{CommandAllow: map[string][]string{"help": {"x"}}}, `commands allow list for "help"[0]: unknown allow rule`},
		{"two lists for one command", Config{Actions: testConfig().Actions, CommandAllow: map[string][]string{"cancel": {"anyone"}, "stop": {"anyone"}}}, "has another list already"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			assert.ErrorContains(t, err, tc.err)
		})
	}

	// Rules for a built-in that this configuration does not enable are
	// kept for when it is.
	_, err := New(Config{CommandAllow: map[string][]string{"convert": {"anyone"}}, Shortcuts: []string{"check", "convert"}})
	assert.NoError(t, err)
}

func TestNewExtraCommands(t *testing.T) {
	noop := func(context.Context, *Call) (string, error) { return "", nil }
	cases := []struct {
		name string
		cmd  Command
		err  string
	}{
		{"no handler", Command{Name: "x", Help: "x"}, "no handler"},
		{"no help", Command{Name: "x", Run: noop}, "no help text"},
		{"upper-case name", Command{Name: "X", Help: "x", Run: noop}, "use lower-case"},
		{"taken name", Command{Name: "help", Help: "x", Run: noop}, `name "help" is taken`},
		{"taken alias", Command{Name: "again", Aliases: []string{"retry"}, Help: "x", Run: noop}, `name "retry" is taken`},
		{"pipe in help", Command{Name: "x", Help: "a | b", Run: noop}, "may not contain"},
		{"reserved flag", Command{Name: "x", Help: "x", Run: noop, Flags: []Flag{{Name: "help"}}}, "invalid or repeated"},
		{"repeated short flag", Command{Name: "x", Help: "x", Run: noop, Flags: []Flag{{Name: "a", Short: "v"}, {Name: "b", Short: "v"}}}, "invalid or repeated"},
		{"bad arity", Command{Name: "x", Help: "x", Run: noop, MinArgs: 2, MaxArgs: 1}, "MinArgs 2 exceeds MaxArgs 1"},
		{"unknown action", Command{Name: "x", Help: "x", Run: noop, Actions: []string{"nope"}}, `unknown action "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(testConfig(), tc.cmd)
			assert.ErrorContains(t, err, tc.err)
		})
	}
}

// TestExtraCommandFlags drives the flag grammar through a command with
// every kind of flag, as the lead might register one.
func TestExtraCommandFlags(t *testing.T) {
	deploy := Command{
		Name: "deploy", Args: "<space>", Help: "Deploy to a Space.", MinArgs: 1, MaxArgs: 1,
		Flags: []Flag{
			{Name: "hardware", Short: "w", Help: "Hardware to use.", Values: []string{"cpu-basic", "t4-small"}},
			{Name: "note", Help: "A note for the log."},
			{Name: "dry-run", Short: "n", Bool: true, Help: "Only print what would happen."},
		},
		Run: func(context.Context, *Call) (string, error) { return "", nil },
	}
	r, err := New(testConfig(), deploy)
	require.NoError(t, err)
	assert.Equal(t, "deploy [--hardware=HARDWARE] [--note=NOTE] [--dry-run] <space>", deploy.Usage())

	cases := []struct {
		line  string
		run   string
		reply string
	}{
		{line: "deploy demo", run: "deploy demo"},
		{line: "deploy demo --hardware t4-small", run: "deploy demo --hardware=t4-small"},
		{line: "deploy --hardware=cpu-basic demo", run: "deploy demo --hardware=cpu-basic"},
		{line: "deploy -w cpu-basic -n demo", run: "deploy demo --dry-run=true --hardware=cpu-basic"},
		{line: "deploy demo --HARDWARE=cpu-basic", run: "deploy demo --hardware=cpu-basic"},
		{line: `deploy demo --note "two words"`, run: "deploy demo --note=two words"},
		{line: "deploy demo --note=", reply: "Flag `--note` needs a value."},
		{line: "deploy demo --note", reply: "Flag `--note` needs a value."},
		{line: "deploy demo --hardware a100", reply: "Flag `--hardware` does not take `a100`; it takes `cpu-basic`, `t4-small`."},
		{line: "deploy demo --hardware t4-smal", reply: "Did you mean `t4-small`?"},
		{line: "deploy demo --hardwar cpu-basic", reply: "Did you mean `--hardware`?"},
		{line: "deploy", reply: "`deploy` needs 1 argument. Usage: `/hubbot deploy [--hardware=HARDWARE] [--note=NOTE] [--dry-run] <space>`."},
		{line: "deploy a b", reply: "`deploy` takes at most 1 argument."},
		{line: "deploy -- -demo", run: "deploy -demo"},
		{line: "deploy - ", run: "deploy -"},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			res := r.Parse("/hubbot " + tc.line)
			if tc.run != "" {
				require.Equal(t, Run, res.Kind, res.Reply)
				assert.Equal(t, []string{tc.run}, summary(res.Invocations))
				return
			}
			require.Equal(t, Reply, res.Kind)
			assert.Contains(t, res.Reply, tc.reply)
		})
	}
	assert.Contains(t, r.HelpFor("deploy"), "- `-w, --hardware=HARDWARE`: Hardware to use. One of `cpu-basic`, `t4-small`.")
	assert.Contains(t, r.HelpFor("deploy"), "- `-n, --dry-run`: Only print what would happen.")
}

// helpRow matches a row of the help table and captures the command name.
var helpRow = regexp.MustCompile("(?m)^\\| `/hubbot ([a-z-]+)[^`]*` \\|")

func TestHelpListsExactlyTheRegisteredCommands(t *testing.T) {
	noop := func(context.Context, *Call) (string, error) { return "", nil }
	for _, cfg := range []Config{{}, {Actions: []ActionConfig{{Name: "lint"}}}, testConfig()} {
		r, err := New(cfg, Command{Name: "ping", Help: "Answer pong.", Run: noop})
		require.NoError(t, err)
		var listed []string
		for _, m := range helpRow.FindAllStringSubmatch(r.Help(), -1) {
			listed = append(listed, m[1])
		}
		assert.Equal(t, r.Names(), listed)
		for _, name := range r.Names() {
			assert.NotEmpty(t, r.HelpFor(name), name)
			c, ok := r.Lookup(name)
			require.True(t, ok)
			for _, alias := range c.Aliases {
				assert.Equal(t, r.HelpFor(name), r.HelpFor(alias))
			}
		}
	}
	r := newTestRegistry(t)
	assert.Empty(t, r.HelpFor("nope"))
}

func TestHelpGolden(t *testing.T) {
	cfg := testConfig()
	cfg.CommandAllow = map[string][]string{"cancel": {"anyone"}}
	r, err := New(cfg)
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString(r.Help())
	for _, name := range r.Names() {
		b.WriteString("\n---\n\n" + r.HelpFor(name))
	}
	goldenfile.Assert(t, filepath.Join("testdata", "help.golden.md"), b.String())
	want := b.String()
	assert.NotContains(t, b.String(), "evaluators", "help never shows an allow list")
	assert.Equal(t, Ignore, r.Parse(want).Kind)
}
