package main

// How every command parses its arguments and reports usage errors: flags
// may follow positional arguments, -h prints the command's help on stdout,
// and a usage error is one line on stderr with exit code 2.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
)

// newFlags returns the flag set of a command ("check", or "dev pr" for a
// subcommand). Its -h prints the command's help with every flag, and a
// flag error is one line naming the flag.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hubbot "+name, flag.ContinueOnError)
	out := &flagOutput{w: stderr, name: name}
	fs.SetOutput(out)
	fs.Usage = func() {
		if !out.failed {
			printHelp(stderr, name, fs)
		}
	}
	return fs
}

// flagOutput turns the flag package's error line into hubbot's one-line
// form; the flag package writes each error in one call.
type flagOutput struct {
	w      io.Writer
	name   string
	failed bool
}

func (o *flagOutput) Write(p []byte) (int, error) {
	o.failed = true
	msg := strings.TrimSpace(string(p))
	msg = strings.Replace(msg, "flag provided but not defined: ", "unknown flag ", 1)
	// People type --name; the flag package names flags with one dash.
	msg = dashFlag.ReplaceAllString(msg, "$1--$2")
	fmt.Fprintf(o.w, "hubbot: %s: %s; see 'hubbot %s -h'\n", o.name, msg, o.name)
	return len(p), nil
}

var dashFlag = regexp.MustCompile(`(flag |needs an argument: )-([A-Za-z])`)

// usageErr is a wrong number or kind of arguments.
type usageErr struct {
	msg   string
	extra []string // the arguments beyond the most a command takes
}

func (e *usageErr) Error() string { return e.msg }

// parseArgs parses args with flags allowed anywhere before a "--", and
// checks that between min and max positional arguments remain (max < 0:
// no limit). It returns the positional arguments. flag.ErrHelp means the
// help was printed.
func parseArgs(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	var pos, after []string
	for i, a := range args {
		if a == "--" {
			args, after = args[:i], args[i+1:]
			break
		}
	}
	for {
		// fs.Parse stops at the first positional argument; take it and go on.
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	pos = append(pos, after...)
	switch {
	case len(pos) < min:
		return nil, &usageErr{msg: "missing arguments"}
	case max >= 0 && len(pos) > max:
		return nil, &usageErr{fmt.Sprintf("too many arguments (%s)", strings.Join(pos[max:], " ")), pos[max:]}
	}
	return pos, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// usageError reports a parseArgs error: nothing more for a flag error
// (the flag set printed it) or the help (which is not an error), one line
// for a wrong argument count.
func usageError(stderr io.Writer, name string, err error) int {
	var ue *usageErr
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "hubbot: %s: %s; usage: hubbot %s %s\n", name, ue.msg, name, argsOf(name))
	}
	return 2
}

// fail prints a failure as hubbot's one-line error and returns 1.
func fail(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "hubbot: %s\n", oneLine(fmt.Sprintf(format, args...)))
	return 1
}

// usagef prints a usage error as one line and returns 2.
func usagef(stderr io.Writer, name, format string, args ...any) int {
	fmt.Fprintf(stderr, "hubbot: %s: %s; see 'hubbot %s -h'\n", name, fmt.Sprintf(format, args...), name)
	return 2
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--help", "-help":
			return true
		}
	}
	return false
}

// helpRow finds the table row of a command or subcommand.
func helpRow(name string) (command, bool) {
	if c, ok := lookup(name); ok {
		return c, true
	}
	for _, c := range devSubcommands() {
		if "dev "+c.name == name {
			c.name = name
			return c, true
		}
	}
	// A subcommand without a row of its own shows its command's text.
	if first, _, ok := strings.Cut(name, " "); ok {
		if c, ok := lookup(first); ok {
			c.name = name
			return c, true
		}
	}
	return command{}, false
}

func argsOf(name string) string {
	c, _ := helpRow(name)
	return c.args
}

// printHelp writes a command's usage, what it does, every flag and an example.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	c, _ := helpRow(name)
	fmt.Fprintf(w, "usage: hubbot %s %s\n", name, c.args)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(strings.TrimLeft(c.help, "\n"), " \n"))
	}
	fmt.Fprint(w, "\nflags:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		kind, text := flag.UnquoteUsage(f)
		if kind != "" {
			kind = " " + kind
		}
		if def := f.DefValue; def != "" && def != "false" && def != "0" {
			text += fmt.Sprintf(" (default %s)", def)
		}
		fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, kind, text)
	})
	fmt.Fprint(tw, "  -h, --help\tshow this help\n")
	tw.Flush()
	if c.example != "" {
		fmt.Fprint(w, "\nexample:\n")
		for _, line := range strings.Split(strings.TrimSpace(c.example), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

// didYouMean suggests the closest command to a mistyped name.
func didYouMean(name string) string {
	best, bestDist := "", 3
	for _, c := range commands() {
		d := editDistance(name, c.name)
		if strings.HasPrefix(c.name, name) && len(name) >= 2 {
			d = 1
		}
		if d < bestDist {
			best, bestDist = c.name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
