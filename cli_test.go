package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	goldenfile "github.com/hubbot/hubbot/internal/golden"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Assert(t, filepath.Join("testdata", name), got)
}

// TestHelp: every command's -h, --help and `hubbot help CMD` print the same
// usage with every flag and an example on stdout, and exit 0.
func TestHelp(t *testing.T) {
	names := []string{"dev pr", "dev comment"}
	for _, c := range commands() {
		names = append(names, c.name)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			argv := strings.Fields(name)
			var first string
			for _, help := range [][]string{append(argv, "-h"), append(argv, "--help"), append([]string{"help"}, argv...)} {
				var out, errOut bytes.Buffer
				code := run(t.Context(), help, &out, &errOut, noEnv)
				require.Equal(t, 0, code, "%v: %s", help, errOut.String())
				assert.Empty(t, errOut.String())
				assert.Contains(t, out.String(), "usage: hubbot "+name)
				_, example, ok := strings.Cut(out.String(), "\nexample:\n  ")
				assert.True(t, ok && strings.Contains(example, "hubbot "), "an example")
				if first == "" {
					first = out.String()
				}
				assert.Equal(t, first, out.String(), "%v", help)
			}
			golden(t, "help/"+strings.ReplaceAll(name, " ", "-")+".txt", first)
		})
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"help"}, &out, &errOut, noEnv))
	for _, c := range commands() {
		assert.Contains(t, out.String(), "\n  "+c.name+" ")
	}
	golden(t, "help/hubbot.txt", out.String())
}

// TestHelpListsEveryFlag: the help is made from the flag set, so a flag
// added to a command shows up in its help.
func TestHelpListsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"convert", "-h"}, &out, &out, noEnv))
	for _, f := range []string{"--force", "--format text|json", "-h, --help"} {
		assert.Contains(t, out.String(), "  "+f)
	}
	out.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"check", "--help"}, &out, &out, noEnv))
	for _, f := range []string{"--strict", "--format text|json"} {
		assert.Contains(t, out.String(), "  "+f)
	}
}

// TestErrors: usage errors and failures are one line starting with
// "hubbot:", naming the flag or file at fault; exit 2 for usage, 1 for
// failures.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(file, []byte("not a checkpoint"), 0o644))
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, 2},
		{"unknown command", []string{"chek"}, 2},
		{"unknown command far from any", []string{"frobnicate"}, 2},
		{"unknown flag", []string{"check", "--bogus", "x"}, 2},
		{"flag without value", []string{"replay", "--url"}, 2},
		{"bad flag value", []string{"dev", "--port", "x"}, 2},
		{"check without folder", []string{"check"}, 2},
		{"check two folders", []string{"check", "a", "b"}, 2},
		{"check bad format", []string{"check", "testdata", "--format", "yaml"}, 2},
		{"check missing folder", []string{"check", "testdata/no-such-folder"}, 2},
		{"check a file", []string{"check", "testdata/payloads/README.md"}, 2},
		{"convert one argument", []string{"convert", "model.bin"}, 2},
		{"convert missing source", []string{"convert", "testdata/no-such.bin", "OUT"}, 1},
		{"convert not a checkpoint", []string{"convert", file, filepath.Join(dir, "out")}, 1},
		{"replay no files", []string{"replay"}, 2},
		{"replay local missing file", []string{"replay", "--local", "--config", "config.toml", "testdata/no-such.json"}, 1},
		{"completion unknown shell", []string{"completion", "tcsh"}, 2},
		{"dev unknown subcommand", []string{"dev", "start"}, 2},
		{"dev comment without num", []string{"dev", "comment", "hello"}, 2},
		{"check-config missing file", []string{"check-config", "--config", "testdata/no-such.toml"}, 1},
		{"jobs extra argument", []string{"jobs", "extra"}, 2},
		{"jobs bad url", []string{"jobs", "--url", "ftp://x"}, 2},
		{"logs without id", []string{"logs"}, 2},
		{"logs bad id", []string{"logs", "x"}, 2},
		{"logs bad interval", []string{"logs", "3", "--interval", "0s"}, 2},
		{"convert from the hub, two revisions", []string{"convert", "hf://alice/tiny@v1", "--revision", "v2", "out"}, 2},
	}
	var all strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), tt.args, &out, &errOut, noEnv)
			assert.Equal(t, tt.code, code)
			msg := strings.ReplaceAll(errOut.String(), dir, "$TMP")
			if tt.args == nil {
				assert.Contains(t, msg, "usage: hubbot COMMAND")
				return
			}
			assert.Empty(t, out.String())
			assert.Regexp(t, `^hubbot: [^\n]+\n$`, msg, "one line starting with hubbot:")
			all.WriteString(strings.ReplaceAll("$ hubbot "+strings.Join(tt.args, " ")+"\n", dir, "$TMP") + msg)
		})
	}
	golden(t, "errors.txt", all.String())
	_, err := os.Stat(filepath.Join(dir, "out"))
	assert.True(t, os.IsNotExist(err), "a refused conversion leaves nothing")
}

func TestDidYouMean(t *testing.T) {
	tests := map[string]string{"chek": "check", "convrt": "convert", "serv": "serve", "check-conf": "check-config",
		"completions": "completion", "xyzzy": ""}
	for typed, want := range tests {
		got := didYouMean(typed)
		if want == "" {
			assert.Empty(t, got, typed)
			continue
		}
		assert.Equal(t, ` (did you mean "`+want+`"?)`, got, typed)
	}
}

// TestFlagsAfterArguments: `hubbot check DIR --format json` reads the flag.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("---\nlicense: apache-2.0\n---\n# m\n"), 0o644))
	var out, errOut bytes.Buffer
	run(t.Context(), []string{"check", dir, "--format", "json"}, &out, &errOut, noEnv)
	assert.Empty(t, errOut.String())
	assert.True(t, strings.HasPrefix(out.String(), "{"), out.String())

	// After "--" everything is an argument, even what looks like a flag.
	out.Reset()
	errOut.Reset()
	code := run(t.Context(), []string{"check", "--", "--format"}, &out, &errOut, noEnv)
	assert.Equal(t, 2, code)
	assert.Equal(t, "hubbot: check: --format: no such folder\n", errOut.String())
}

// TestCheckStrict: warnings fail the check only with --strict.
func TestCheckStrict(t *testing.T) {
	dir := t.TempDir()
	card := "---\nlicense: apache-2.0\nlibrary_name: transformers\npipeline_tag: text-classification\n---\n# m\n\nA model.\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte(card), 0o644))
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"check", dir}, &out, &errOut, noEnv), out.String())
	require.Contains(t, out.String(), "warning", "the card has a warning (no config.json)")
	assert.Equal(t, 1, run(t.Context(), []string{"check", "--strict", dir}, &out, &errOut, noEnv))
}

// TestCompletion: the scripts name every command and its flags, and the
// bash one is valid bash.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out, errOut bytes.Buffer
		require.Equal(t, 0, run(t.Context(), []string{"completion", shell}, &out, &errOut, noEnv), errOut.String())
		for _, c := range commands() {
			assert.Contains(t, out.String(), c.name, shell)
		}
		assert.Contains(t, out.String(), "strict", shell)
		assert.Contains(t, out.String(), "comment", shell) // dev's subcommands
		if shell == "bash" {
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = &out
			b, err := cmd.CombinedOutput()
			assert.NoError(t, err, "%s", b)
		}
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"completion", "bash"}, &out, &errOut, noEnv))
	assert.Contains(t, out.String(), `check) flags="--format --strict --type --help"`)
}

// TestCheckJSONNamesTheFile: every JSON finding carries the card's path,
// and the rest of the report is as the check wrote it.
func TestCheckJSONNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("---\nlicense: apache2\n---\n# m\n"), 0o644))
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"check", dir, "--format", "json"}, &out, &errOut, noEnv)
	require.Equal(t, 1, code, errOut.String())
	var report struct {
		Conclusion string `json:"conclusion"`
		Errors     int    `json:"errors"`
		Findings   []struct {
			File  string `json:"file"`
			Check string `json:"check"`
			Line  int    `json:"line"`
		} `json:"findings"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &report), out.String())
	assert.Equal(t, "failure", report.Conclusion)
	require.NotEmpty(t, report.Findings)
	checks := map[string]int{}
	for _, f := range report.Findings {
		assert.Equal(t, filepath.ToSlash(filepath.Join(dir, "README.md")), f.File, f.Check)
		checks[f.Check] = f.Line
	}
	assert.Equal(t, 2, checks["license"], "the license finding, on line 2")
	assert.True(t, strings.HasPrefix(out.String(), "{\n  \"conclusion\""), "the report's own order is kept")
}
