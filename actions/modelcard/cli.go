package modelcard

import (
	"context"
	"fmt"
	"io"

	"github.com/hubbot/hubbot/actions"
)

// Output formats of RunCLI.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Exit codes of RunCLI, the contract of `hubbot check`.
const (
	ExitOK       = 0 // no errors (warnings and suggestions allowed)
	ExitFindings = 1 // the card has errors (or warnings, with fail_on = "warning")
	ExitUnusable = 2 // the folder cannot be read, or the arguments are wrong
)

// RunCLI is `hubbot check DIR`: it checks the card in dir with the rules of
// repoType ("model", "dataset", "space", or empty to detect it from the
// card), writes the report to stdout in format ("text" or "json"; empty
// means text) and returns the exit code. Problems that stop the check go to
// stderr as one line.
func RunCLI(ctx context.Context, dir, format, repoType string, opts Options, stdout, stderr io.Writer) int {
	if format == "" {
		format = FormatText
	}
	if format != FormatText && format != FormatJSON {
		fmt.Fprintf(stderr, "hubbot check: unknown format %q (want text or json)\n", format)
		return ExitUnusable
	}
	typ, err := ParseRepoType(repoType)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot check: %v\n", err)
		return ExitUnusable
	}
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(stderr, "hubbot check: %v\n", err)
		return ExitUnusable
	}
	readme, files, err := Load(ctx, &actions.Workspace{Dir: dir})
	if err != nil {
		fmt.Fprintf(stderr, "hubbot check: %v\n", err)
		return ExitUnusable
	}
	rep := CheckRepo(readme, files, typ, opts)
	if format == FormatJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hubbot check: write report: %v\n", err)
		return ExitUnusable
	}
	if rep.Failed() {
		return ExitFindings
	}
	return ExitOK
}
