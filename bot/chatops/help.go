package chatops

import (
	"fmt"
	"slices"
	"strings"
)

// Help is the answer to "help": every registered command, its usage, what it
// does and who may use it (described, never the allow lists themselves). It
// is generated from the registry, so it lists exactly what dispatches, and
// it is Safe: posting it never triggers this bot or another.
func (r *Registry) Help() string {
	var b strings.Builder
	b.WriteString("**Commands**\n\nWrite each command on its own line, starting with ")
	b.WriteString(code(r.syntax.Prefix))
	if r.syntax.Name != "" {
		b.WriteString(" or " + code("@"+r.syntax.Name))
	}
	fmt.Fprintf(&b, ", at most %d per comment. Lines in code blocks or quotes are not read.\n\n", r.max)
	b.WriteString("| command | what it does | who can use it |\n| --- | --- | --- |\n")
	for _, c := range r.cmds {
		what := c.Help
		if len(c.Aliases) > 0 {
			what += " Also " + orList(c.Aliases) + "."
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", code(r.syntax.Prefix+" "+c.Usage()), what, r.whoCanUse(c))
	}
	if names := r.commandActions(""); len(names) > 0 {
		fmt.Fprintf(&b, "\nActions that commands can run: %s.\n", codeList(names))
	}
	fmt.Fprintf(&b, "\nFor the flags of a command, comment %s.\n", code(r.syntax.Prefix+" help <command>"))
	return r.Safe(b.String())
}

// HelpFor explains one command (by name or alias): usage, flags, aliases and
// who may use it. It is empty for an unknown command.
func (r *Registry) HelpFor(name string) string {
	c, ok := r.Lookup(name)
	if !ok {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n%s\n", code(r.syntax.Prefix+" "+c.Usage()), c.Help)
	if len(c.Flags) > 0 {
		b.WriteString("\nFlags:\n\n")
		for _, f := range c.Flags {
			names := "--" + f.Name
			if f.Short != "" {
				names = "-" + f.Short + ", " + names
			}
			if !f.Bool {
				names += "=" + strings.ToUpper(f.Name)
			}
			fmt.Fprintf(&b, "- %s: %s", code(names), f.Help)
			if len(f.Values) > 0 {
				fmt.Fprintf(&b, " One of %s.", codeList(f.Values))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
	if len(c.Aliases) > 0 {
		fmt.Fprintf(&b, "Also %s. ", orList(c.Aliases))
	}
	fmt.Fprintf(&b, "Who can use it: %s.\n", r.whoCanUse(c))
	return r.Safe(b.String())
}

// whoCanUse describes the rules of a command. For a command with fixed
// actions it describes theirs; for one whose actions come from arguments it
// describes the command's and says when actions have their own.
func (r *Registry) whoCanUse(c *Command) string {
	if len(c.Actions) > 0 {
		var descs []string
		for _, name := range c.Actions {
			a, _ := r.lookupAction(name)
			if d := describe(r.rulesFor(c, a)); !slices.Contains(descs, d) {
				descs = append(descs, d)
			}
		}
		return strings.Join(descs, "; ")
	}
	d := describe(r.rulesFor(c, nil))
	if c.Targets != nil {
		for _, a := range r.actions {
			if a.allow != nil || a.writes {
				return d + " (some actions have their own rules)"
			}
		}
	}
	return d
}
