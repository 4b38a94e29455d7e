// Package builtin is the table of hubbot's built-in actions: for each value
// of `uses`, how the action is built, whether it writes to the repo, when
// its branch report is opened, and which chat command runs every action of
// its kind. Configuration checks, chat-ops and publishing all read it, so
// adding an action is adding one row.
package builtin

import (
	"slices"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/modelcard"
	"github.com/hubbot/hubbot/actions/run"
	"github.com/hubbot/hubbot/actions/safetensors"
)

// Env is what the bot gives constructors.
type Env struct {
	// Run is the environment of `run` commands.
	Run run.Env
	// Prior finds the pull requests the bot already opened for the action
	// of that name, so a conversion is not done again.
	Prior func(action string) safetensors.PriorProposals
}

// ReportPolicy says when a branch's report discussion is opened.
type ReportPolicy string

// Report policies.
const (
	// ReportFailures opens it only when something is wrong: checks need
	// attention then and only then.
	ReportFailures ReportPolicy = "failure"
	// ReportAlways opens it for every result: a custom command's output is
	// the point of running it.
	ReportAlways ReportPolicy = "always"
)

// Shortcut is a chat command that runs every command-enabled action of a
// kind, such as "/hubbot check".
type Shortcut struct {
	Command string // the command's name
	Help    string // one line: what it does
}

// Kind is one built-in action.
type Kind struct {
	Uses string // the value of `uses` in config.toml
	// New builds the action named name from its options; the action
	// reports its own option errors (as *actions.OptionError).
	New func(name string, opts actions.Options, env Env) (actions.Action, error)
	// Writes reports whether an action with these options proposes files
	// to the repo or holds the bot's secrets, which asks more of whoever
	// starts it by command.
	Writes func(opts actions.Options) bool
	// Report is when its branch report discussion is opened.
	Report ReportPolicy
	// Shortcut is its chat command; zero for none.
	Shortcut Shortcut
}

// Kinds returns the built-in actions, in the order help lists them. Each
// call returns a new table, so no caller can change another's.
func Kinds() []Kind {
	return []Kind{
		{
			Uses: "modelcard",
			New: func(_ string, opts actions.Options, _ Env) (actions.Action, error) {
				return modelcard.New(opts)
			},
			Writes:   never,
			Report:   ReportFailures,
			Shortcut: Shortcut{Command: "check", Help: "Check the model card."},
		},
		{
			Uses: "safetensors",
			New: func(name string, opts actions.Options, env Env) (actions.Action, error) {
				var prior safetensors.PriorProposals
				if env.Prior != nil {
					prior = env.Prior(name)
				}
				return safetensors.New(opts, prior)
			},
			Writes: func(actions.Options) bool { return true },
			Report: ReportFailures,
			Shortcut: Shortcut{Command: "convert",
				Help: "Convert PyTorch weights to safetensors and propose them in a pull request."},
		},
		{
			Uses: "run",
			New: func(_ string, opts actions.Options, env Env) (actions.Action, error) {
				return run.New(opts, env.Run)
			},
			// A privileged command (the Hub token, secrets passed
			// through, outputs to propose) counts as a write: starting
			// it asks as much as writing to the repo. Options it
			// cannot read count too; config validation reports them.
			Writes: func(opts actions.Options) bool {
				a, err := run.New(opts, run.Env{})
				return err != nil || a.IsPrivileged()
			},
			Report: ReportAlways,
		},
	}
}

func never(actions.Options) bool { return false }

// Lookup returns the built-in action that `uses` names.
func Lookup(uses string) (Kind, bool) {
	kinds := Kinds()
	i := slices.IndexFunc(kinds, func(k Kind) bool { return k.Uses == uses })
	if i < 0 {
		return Kind{}, false
	}
	return kinds[i], true
}

// Names lists the values `uses` may take.
func Names() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Uses)
	}
	return out
}
