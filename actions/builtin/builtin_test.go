package builtin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/run"
)

func TestKindsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	commands := map[string]bool{}
	for _, k := range Kinds() {
		t.Run(k.Uses, func(t *testing.T) {
			assert.False(t, seen[k.Uses], "uses %q twice", k.Uses)
			seen[k.Uses] = true
			require.NotNil(t, k.New)
			require.NotNil(t, k.Writes)
			assert.Contains(t, []ReportPolicy{ReportFailures, ReportAlways}, k.Report)
			if c := k.Shortcut.Command; c != "" {
				assert.False(t, commands[c], "shortcut %q twice", c)
				commands[c] = true
				assert.NotEmpty(t, k.Shortcut.Help)
			}
			got, ok := Lookup(k.Uses)
			assert.True(t, ok)
			assert.Equal(t, k.Uses, got.Uses)
		})
	}
	assert.Equal(t, len(Kinds()), len(Names()))
	_, ok := Lookup("docker")
	assert.False(t, ok)
}

func TestBuildAndWrites(t *testing.T) {
	cases := []struct {
		uses   string
		opts   actions.Options
		writes bool
	}{
		{"modelcard", nil, false},
		{"safetensors", nil, true},
		{"run", actions.Options{"command": []any{"true"}}, false},
		{"run", actions.Options{"command": []any{"true"}, "outputs": []any{"out/*.json"}}, true},
		{"run", actions.Options{"command": []any{"true"}, "token": true}, true},
		{"run", actions.Options{"command": []any{"true"}, "token": false}, false},
		{"run", actions.Options{"command": []any{"true"}, "pass_env": []any{"WANDB_API_KEY"}}, true},
	}
	for _, tc := range cases {
		k, ok := Lookup(tc.uses)
		require.True(t, ok)
		act, err := k.New("a", tc.opts, Env{Run: run.Env{TempDir: t.TempDir()}})
		require.NoError(t, err, tc.uses)
		assert.NotNil(t, act)
		assert.Equal(t, tc.writes, k.Writes(tc.opts), "%s %v", tc.uses, tc.opts)
	}
	runKind, _ := Lookup("run")
	assert.True(t, runKind.Writes(actions.Options{"command": "not a list"}), "unreadable options count as a write")
	_, err := Kinds()[0].New("a", actions.Options{"no_such_option": 1}, Env{})
	assert.Error(t, err, "an action reports its own option errors")
}
