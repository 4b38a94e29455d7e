package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/hubbot/hubbot/actions/modelcard"
)

const checkHelp = `
Check the model card (README.md and its YAML metadata) in a local folder, as
the model-card action does on the Hub. Exit 0 when the card has no errors,
1 when it has errors (or warnings, with --strict), 2 when DIR cannot be read.`

func checkCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	flags := newFlags("check", stderr)
	format := flags.String("format", "text", "print the report as `text|json`")
	strict := flags.Bool("strict", false, "fail on warnings too, not only on errors")
	repoType := flags.String("type", "", "the rules to apply: `model|dataset|space` (default: detected from the card)")
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
	if *format == modelcard.FormatText {
		return modelcard.RunCLI(ctx, dir, *format, *repoType, opts, stdout, stderr)
	}
	var report bytes.Buffer
	code := modelcard.RunCLI(ctx, dir, *format, *repoType, opts, &report, stderr)
	if report.Len() == 0 {
		return code
	}
	withFile, err := addFindingFile(report.Bytes(), filepath.ToSlash(filepath.Join(dir, "README.md")))
	if err != nil {
		return fail(stderr, "check: write the report: %v", err)
	}
	stdout.Write(withFile)
	return code
}

// addFindingFile names the file of every finding in a JSON report, so that
// a tool reading the reports of several folders can point at each one.
// Every finding of the card check is about the card, README.md. The rest of
// the report is kept as written, in its order.
func addFindingFile(report []byte, file string) ([]byte, error) {
	var top struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(report, &top); err != nil {
		return nil, err
	}
	name, err := json.Marshal(file)
	if err != nil {
		return nil, err
	}
	findings := make([]json.RawMessage, len(top.Findings))
	for i, f := range top.Findings {
		body := bytes.TrimPrefix(bytes.TrimSpace(f), []byte("{"))
		findings[i] = slices.Concat([]byte(`{"file":`), name, []byte(","), body)
	}
	list, err := json.Marshal(findings)
	if err != nil {
		return nil, err
	}
	// Replace the findings array in place: decode the top level key by key.
	dec := json.NewDecoder(bytes.NewReader(report))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for first := true; dec.More(); first = false {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		if key == "findings" {
			value = list
		}
		k, _ := json.Marshal(key)
		if !first {
			out.WriteByte(',')
		}
		out.Write(k)
		out.WriteByte(':')
		out.Write(value)
	}
	out.WriteByte('}')
	var indented bytes.Buffer
	if err := json.Indent(&indented, out.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	indented.WriteByte('\n')
	return indented.Bytes(), nil
}
