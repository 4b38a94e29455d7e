package chatops

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// builtins returns the built-in commands this configuration calls for:
//   - help, always;
//   - run, when some action may be started by a command;
//   - approve, when some action may wait for approval;
//   - the shortcut of each kind of action that a command may start
//     (check, convert);
//   - rerun and cancel, when any action is configured.
func (r *Registry) builtins() []Command {
	cmds := []Command{r.helpCommand()}
	runnable := r.commandActions("")
	if len(runnable) > 0 {
		cmds = append(cmds, Command{
			Name:     "run",
			Args:     "<action>...",
			Help:     "Run actions on the pull request's current head (on main in a discussion).",
			MinArgs:  1,
			MaxArgs:  r.max,
			Validate: r.validateActions(true),
			Targets:  func(_ context.Context, c *Call) ([]string, error) { return c.Invocation.Args, nil },
			Run:      enqueue,
		})
	}
	if len(r.approvable()) > 0 {
		cmds = append(cmds, r.approveCommand())
	}
	cmds = append(cmds, r.shortcuts()...)
	if len(r.actions) > 0 {
		cmds = append(cmds, Command{
			Name:    "rerun",
			Aliases: []string{"retry"},
			Args:    "[action]...",
			Help:    "Run again the actions that last ran on the current head, or the ones named.",
			Flags: []Flag{{
				Name: "failed", Short: "f", Bool: true,
				Help: "Only the actions whose last run on the current head failed.",
			}},
			MaxArgs:  r.max,
			Validate: r.validateActions(false),
			Targets:  r.rerunTargets,
			Run:      enqueue,
		}, Command{
			Name:     "cancel",
			Aliases:  []string{"stop"},
			Args:     "[action]...",
			Help:     "Cancel the queued and running jobs of this pull request (of main in a discussion), or of the actions named.",
			MaxArgs:  r.max,
			Validate: r.validateActions(false),
			Run:      cancel,
		})
	}
	return cmds
}

func (r *Registry) helpCommand() Command {
	return Command{
		Name:    "help",
		Args:    "[command]",
		Help:    "List the commands, or explain one.",
		MaxArgs: 1,
		Public:  true,
		Validate: func(inv *Invocation) error {
			if len(inv.Args) == 0 {
				return nil
			}
			c, ok := r.Lookup(inv.Args[0])
			if !ok {
				return &usageError{
					msg:     fmt.Sprintf("%s is not a command.", code(inv.Args[0])),
					suggest: suggest(inv.Args[0], r.allNames()),
				}
			}
			inv.Args[0] = c.Name
			return nil
		},
		Run: func(_ context.Context, c *Call) (string, error) {
			if len(c.Invocation.Args) == 1 {
				return r.HelpFor(c.Invocation.Args[0]), nil
			}
			return r.Help(), nil
		},
	}
}

// commandActions lists the actions a command may start, all of them or
// those of one shortcut.
func (r *Registry) commandActions(shortcut string) []string {
	var out []string
	for _, a := range r.actions {
		if a.command && (shortcut == "" || a.shortcut == shortcut) {
			out = append(out, a.name)
		}
	}
	return out
}

// shortcuts returns one command per shortcut of the actions a command may
// start, in the order of the actions; it runs all of them, and writes to
// the repo when one of them does.
func (r *Registry) shortcuts() []Command {
	var cmds []Command
	seen := map[string]bool{}
	for _, a := range r.actions {
		if !a.command || a.shortcut == "" || seen[a.shortcut] {
			continue
		}
		seen[a.shortcut] = true
		names := r.commandActions(a.shortcut)
		writes := false
		for _, b := range r.actions {
			writes = writes || (b.shortcut == a.shortcut && b.command && b.writes)
		}
		cmds = append(cmds, Command{
			Name:    a.shortcut,
			Help:    fmt.Sprintf("%s (runs %s).", strings.TrimSuffix(a.shortcutHelp, "."), strings.Join(names, ", ")),
			Actions: names,
			Writes:  writes,
			Run:     enqueue,
		})
	}
	return cmds
}

// validateActions checks that every argument names a configured action (one
// that a command may start, when startable is set), rewrites it to the
// action's exact name and drops repeats.
func (r *Registry) validateActions(startable bool) func(inv *Invocation) error {
	return func(inv *Invocation) error {
		var known []string
		for _, a := range r.actions {
			if !startable || a.command {
				known = append(known, a.name)
			}
		}
		var out []string
		for _, arg := range inv.Args {
			a, ok := r.lookupAction(arg)
			if ok && startable && !a.command {
				return &usageError{msg: fmt.Sprintf("Action %s cannot be started by a command. Actions you can run: %s.", code(a.name), codeList(known))}
			}
			if !ok {
				return &usageError{
					msg:     fmt.Sprintf("%s is not an action here. Actions: %s.", code(arg), codeList(known)),
					suggest: suggest(arg, known),
				}
			}
			if !slices.Contains(out, a.name) {
				out = append(out, a.name)
			}
		}
		inv.Args = out
		return nil
	}
}

// rerunTargets picks the actions to run again: those named, or those that
// ran on the current head; with --failed, only the ones whose run failed.
func (r *Registry) rerunTargets(ctx context.Context, c *Call) ([]string, error) {
	sha, err := c.Head(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := c.Env.Queue.LastRuns(ctx, c.Event.Repo, c.Event.Ref(), sha)
	if err != nil {
		return nil, fmt.Errorf("list the runs at %s: %w", shortSHA(sha), err)
	}
	last := map[string]string{}
	var ran []string
	for _, p := range runs {
		if a, ok := r.lookupAction(p.Action); ok {
			if _, seen := last[a.name]; !seen {
				ran = append(ran, a.name)
			}
			last[a.name] = p.State
		}
	}
	failedOnly := c.Invocation.Bool("failed")

	want := c.Invocation.Args
	if len(want) == 0 {
		want = ran
	}
	var out []string
	for _, name := range want {
		state, hasRun := last[name]
		a, _ := r.lookupAction(name)
		switch {
		case !hasRun && !a.command:
			c.Notef("%s has not run on %s, and commands cannot start it.", code(name), code(shortSHA(sha)))
		case failedOnly && state != "failed":
			// Not failed: nothing to say unless it was asked for by name.
			if len(c.Invocation.Args) > 0 {
				c.Notef("%s did not fail on %s.", code(name), code(shortSHA(sha)))
			}
		default:
			out = append(out, name)
		}
	}
	if len(out) == 0 && len(c.notes) == 0 {
		if failedOnly {
			c.Notef("Nothing failed on %s.", code(shortSHA(sha)))
		} else {
			c.Notef("Nothing has run on %s yet.", code(shortSHA(sha)))
		}
	}
	return out, nil
}

// enqueue queues the call's actions on the current head.
func enqueue(ctx context.Context, c *Call) (string, error) {
	if len(c.Actions) == 0 {
		return "", nil
	}
	sha, err := c.Head(ctx)
	if err != nil {
		return "", err
	}
	var queued, dup []string
	for _, a := range c.Actions {
		q, err := c.Env.Queue.Enqueue(ctx, RunRequest{
			Repo:       c.Event.Repo,
			Ref:        c.Event.Ref(),
			SHA:        sha,
			Action:     a,
			Discussion: c.Event.Discussion,
			CommentID:  c.Event.CommentID,
			Requester:  c.Event.Author,
			Command:    c.Invocation.Line,
		})
		if err != nil {
			return "", fmt.Errorf("queue %s at %s: %w", a, shortSHA(sha), err)
		}
		if q.Duplicate {
			dup = append(dup, a)
		} else {
			queued = append(queued, a)
		}
	}
	var lines []string
	if len(queued) > 0 {
		lines = append(lines, fmt.Sprintf("Queued %s on %s.", andList(queued), code(shortSHA(sha))))
	}
	if len(dup) > 0 {
		verb := "is"
		if len(dup) > 1 {
			verb = "are"
		}
		lines = append(lines, fmt.Sprintf("%s %s already queued or running on %s.", andList(dup), verb, code(shortSHA(sha))))
	}
	return strings.Join(lines, " "), nil
}

// cancel cancels the jobs of the ref the command runs on.
func cancel(ctx context.Context, c *Call) (string, error) {
	ref := c.Event.Ref()
	n, err := c.Env.Queue.Cancel(ctx, c.Event.Repo, ref, c.Invocation.Args)
	if err != nil {
		return "", fmt.Errorf("cancel the jobs of %s: %w", ref, err)
	}
	if n == 0 {
		return "Nothing to cancel.", nil
	}
	return fmt.Sprintf("Cancelled %s.", plural(n, "job")), nil
}

// andList renders names as "`a`", "`a` and `b`", "`a`, `b` and `c`".
func andList(names []string) string {
	s := orList(names)
	if len(names) > 1 {
		i := strings.LastIndex(s, " or ")
		s = s[:i] + " and " + s[i+4:]
	}
	return s
}
