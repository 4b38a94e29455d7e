package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/hubbot/hubbot/actions/modelcard"
)

const checkHelp = `
Check the model card (README.md and its YAML metadata) in a local folder, as
the model-card action does on the Hub. Exit 0 when the card has no errors,
1 when it has errors (or warnings, with --strict), 2 when DIR cannot be read.`

func checkCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	flags := newFlags("check", stderr)
	format := flags.String("format", "text", "report format: `text|json`")
	strict := flags.Bool("strict", false, "fail on warnings too, not only on errors")
	pos, err := parseArgs(flags, args, 1, 1)
	if err != nil {
		return usageError(stderr, "check", err)
	}
	dir := pos[0]
	if *format != modelcard.FormatText && *format != modelcard.FormatJSON {
		return usagef(stderr, "check", "--format %q: want text or json", *format)
	}
	// Said here, in the user's words, before the check's own messages.
	switch st, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stderr, "hubbot: check: %s: no such folder\n", dir)
		return modelcard.ExitUnusable
	case err != nil:
		fmt.Fprintf(stderr, "hubbot: check: %s\n", oneLine(err.Error()))
		return modelcard.ExitUnusable
	case !st.IsDir():
		fmt.Fprintf(stderr, "hubbot: check: %s is a file; give the folder that holds README.md\n", dir)
		return modelcard.ExitUnusable
	}
	opts := modelcard.Options{}
	if *strict {
		opts.FailOn = string(modelcard.Warning)
	}
	return modelcard.RunCLI(ctx, dir, *format, opts, stdout, stderr)
}
