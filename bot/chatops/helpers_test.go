package chatops

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testConfig is a bot with every kind of action: a model card check and a
// conversion that commands may start, a custom command they may not, and one
// with its own allow list.
func testConfig() Config {
	return Config{
		BotName: "hubbot",
		Actions: []ActionConfig{
			{Name: "model-card", Shortcut: "check", ShortcutHelp: "Check the model card.", Command: true},
			{Name: "convert", Shortcut: "convert", ShortcutHelp: "Convert PyTorch weights to safetensors and propose them in a pull request.", Writes: true, Command: true},
			{Name: "lint", Approval: true},
			{Name: "eval", Command: true, Allow: []string{"org:evaluators"}},
		},
	}
}

func newTestRegistry(t *testing.T) *Registry {
	t.Helper()
	r, err := New(testConfig())
	require.NoError(t, err)
	return r
}

// summary writes invocations as "command arg... --flag=value...", flags
// sorted, so tables can compare them as strings.
func summary(invs []Invocation) []string {
	var out []string
	for _, inv := range invs {
		parts := append([]string{inv.Command}, inv.Args...)
		var flags []string
		for k, v := range inv.Flags {
			flags = append(flags, "--"+k+"="+v)
		}
		slices.Sort(flags)
		out = append(out, strings.Join(append(parts, flags...), " "))
	}
	return out
}
