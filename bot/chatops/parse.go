package chatops

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kind is what to do with a comment.
type Kind uint8

// The three outcomes of Parse, as Atlantis's comment parser has them.
const (
	// Ignore: the comment is not addressed to the bot. Say nothing.
	Ignore Kind = iota
	// Reply: the comment is addressed to the bot but cannot run (an
	// unknown command, a bad flag, too many commands). Post Result.Reply.
	Reply
	// Run: execute Result.Invocations.
	Run
)

func (k Kind) String() string {
	switch k {
	case Ignore:
		return "ignore"
	case Reply:
		return "reply"
	case Run:
		return "run"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Result is the outcome of parsing one comment.
type Result struct {
	Kind Kind
	// Reply is the markdown to post when Kind is Reply, already Safe.
	Reply string
	// Invocations are the commands to run when Kind is Run: between one
	// and the configured maximum, duplicates removed, in comment order.
	Invocations []Invocation
}

// maxProblems is how many mistakes one reply explains.
const maxProblems = 5

// Parse reads a comment's markdown and decides whether it holds commands for
// the bot. A command is a line that starts with the prefix or "@name",
// after at most three spaces of indentation and an optional list marker, or
// such a line wrapped whole in backticks. Lines in code (fenced, indented or
// inline), in block quotes and in HTML comments are not read; so a comment
// that quotes a command, or the bot's own help, is ignored.
//
// A comment with any line that cannot run gets a Reply and runs nothing, so
// a typo never leaves half of a comment's commands done.
func (r *Registry) Parse(comment string) Result {
	d := analyze(normalize(comment))
	var (
		invs     []Invocation
		seen     = map[string]bool{}
		problems []string
		more     int // problems not shown
	)
	for _, t := range r.syntax.find(d) {
		line := r.display(t)
		inv, err := r.parseLine(t, line)
		if err == nil {
			if inv != nil && !seen[inv.key()] {
				seen[inv.key()] = true
				invs = append(invs, *inv)
			}
			continue
		}
		if t.form == byMention && (r.chat || (err.unknown && !r.typo(err.word))) {
			// "@bot something" that is no command is conversation: the
			// reply bot's, or nobody's. Only an obvious typo of a
			// command gets an answer.
			continue
		}
		if len(problems) == maxProblems {
			more++
			continue
		}
		problems = append(problems, quoted(line)+err.text())
	}

	if len(problems) > 0 {
		text := strings.Join(problems, "\n\n")
		if more > 0 {
			text += fmt.Sprintf("\n\n(%s not shown.)", plural(more, "more problem"))
		}
		return Result{Kind: Reply, Reply: r.Safe(text +
			fmt.Sprintf("\n\nNothing was run. Comment %s for the list of commands.", code(r.syntax.Prefix+" help")))}
	}
	if len(invs) > r.max {
		return Result{Kind: Reply, Reply: r.Safe(fmt.Sprintf(
			"This comment has %d commands; the limit is %d per comment. Nothing was run.", len(invs), r.max))}
	}
	if len(invs) == 0 {
		return Result{Kind: Ignore}
	}
	return Result{Kind: Run, Invocations: invs}
}

// display is the command line as the commenter wrote it, without markdown
// decoration: the prefix or mention, then the rest with hidden text dropped.
func (r *Registry) display(t trigger) string {
	head := r.syntax.Prefix
	if t.form == byMention {
		head = "@" + r.syntax.Name
	}
	rest := strings.TrimSpace(strings.ReplaceAll(t.rest, string(filler), ""))
	if rest == "" {
		return head
	}
	return head + " " + rest
}

// parseLine turns one addressed line into an invocation. It returns a nil
// invocation and no error for a line that is only the mention.
func (r *Registry) parseLine(t trigger, line string) (*Invocation, *usageError) {
	words, err := splitArgs(t.rest)
	if err != nil {
		return nil, &usageError{msg: err.Error() + "."}
	}
	if len(words) == 0 {
		if t.form == byMention {
			return nil, nil
		}
		return &Invocation{Command: "help", Line: line}, nil
	}
	name := strings.ToLower(words[0])
	if name == "--help" || name == "-h" {
		return &Invocation{Command: "help", Line: line}, nil
	}
	cmd, ok := r.byName[name]
	if !ok {
		return nil, &usageError{
			msg:     fmt.Sprintf("%s is not a command.", code(words[0])),
			unknown: true,
			word:    words[0],
			suggest: suggest(name, r.allNames()),
		}
	}
	args, flags, help, err := parseFlags(cmd, words[1:])
	if err != nil {
		var ue *usageError
		if !errors.As(err, &ue) {
			ue = &usageError{msg: err.Error()}
		}
		ue.msg += " Usage: " + code(r.syntax.Prefix+" "+cmd.Usage()) + "."
		return nil, ue
	}
	if help {
		return &Invocation{Command: "help", Args: []string{cmd.Name}, Line: line}, nil
	}
	inv := &Invocation{Command: cmd.Name, Args: args, Flags: flags, Line: line}
	if ue := r.check(cmd, inv); ue != nil {
		return nil, ue
	}
	return inv, nil
}

// check validates an invocation's arguments: their number, then the
// command's own Validate.
func (r *Registry) check(cmd *Command, inv *Invocation) *usageError {
	usage := " Usage: " + code(r.syntax.Prefix+" "+cmd.Usage()) + "."
	n := len(inv.Args)
	switch {
	case n < cmd.MinArgs:
		return &usageError{msg: fmt.Sprintf("%s needs %s.%s", code(cmd.Name), plural(cmd.MinArgs, "argument"), usage)}
	case cmd.MaxArgs == 0 && n > 0:
		return &usageError{msg: fmt.Sprintf("%s takes no arguments (got %s).%s", code(cmd.Name), code(strings.Join(inv.Args, " ")), usage)}
	case cmd.MaxArgs >= 0 && n > cmd.MaxArgs:
		return &usageError{msg: fmt.Sprintf("%s takes at most %s.%s", code(cmd.Name), plural(cmd.MaxArgs, "argument"), usage)}
	}
	if cmd.Validate != nil {
		if err := cmd.Validate(inv); err != nil {
			if ue, ok := err.(*usageError); ok {
				return ue
			}
			return &usageError{msg: err.Error()}
		}
	}
	return nil
}

// typo reports whether word is one edit away from a command name: the only
// unknown word after "@bot" that is taken as a mistyped command rather than
// conversation.
func (r *Registry) typo(word string) bool {
	return len(suggestWithin(word, r.allNames(), 1, false)) > 0
}

// key identifies an invocation, so a comment that repeats a command runs it
// once.
func (inv Invocation) key() string {
	var b strings.Builder
	b.WriteString(inv.Command)
	for _, a := range inv.Args {
		b.WriteString("\x00a" + a)
	}
	for _, k := range slices.Sorted(maps.Keys(inv.Flags)) {
		b.WriteString("\x00f" + k + "=" + inv.Flags[k])
	}
	return b.String()
}
