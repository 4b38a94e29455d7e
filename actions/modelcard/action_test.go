package modelcard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/lfs"
)

// writeRepo creates a checkout in a temporary directory: files maps paths
// to contents; an int64 value writes an LFS pointer for that many bytes.
func writeRepo(t testing.TB, files map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		var data []byte
		switch c := content.(type) {
		case string:
			data = []byte(c)
		case []byte:
			data = c
		case int64:
			data = []byte(lfs.Pointer{OID: fmt.Sprintf("%064x", len(name)*7919+int(c%1000)), Size: c}.String())
		default:
			t.Fatalf("unsupported content for %s", name)
		}
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
	return dir
}

func TestLoad(t *testing.T) {
	dir := writeRepo(t, map[string]any{
		"README.md":         "---\nlicense: mit\n---\n",
		"config.json":       `{"model_type": "bert"}`,
		"model.safetensors": int64(440449768),
		"sub/big.bin":       int64(10_000_000_000),
		".git/HEAD":         "ref: refs/heads/main\n",
	})
	readme, files, err := Load(t.Context(), &actions.Workspace{Dir: dir})
	require.NoError(t, err)
	assert.Equal(t, "---\nlicense: mit\n---\n", string(readme))
	assert.ElementsMatch(t, []File{
		{Path: "README.md", Size: 21},
		{Path: "config.json", Size: 22},
		{Path: "model.safetensors", Size: 440449768, LFS: true},
		{Path: "sub/big.bin", Size: 10_000_000_000, LFS: true},
	}, files)
}

func TestLoadUnusualReadme(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte("---\nlicense: TOKEN-hf_abc\n---\n"), 0o600))

	t.Run("symbolic link is not followed", func(t *testing.T) {
		dir := writeRepo(t, map[string]any{"config.json": "{}"})
		require.NoError(t, os.Symlink(outside, filepath.Join(dir, "README.md")))
		readme, files, err := Load(t.Context(), &actions.Workspace{Dir: dir})
		require.NoError(t, err)
		assert.Nil(t, readme)
		rep := Check(readme, files, Options{})
		require.Len(t, rep.Findings, 1)
		assert.Equal(t, checkReadmeFile, rep.Findings[0].Check)
		assert.NotContains(t, rep.Markdown(), "TOKEN")
	})
	t.Run("LFS pointer", func(t *testing.T) {
		dir := writeRepo(t, map[string]any{"README.md": int64(4096)})
		readme, files, err := Load(t.Context(), &actions.Workspace{Dir: dir})
		require.NoError(t, err)
		assert.Nil(t, readme)
		rep := Check(readme, files, Options{})
		require.Len(t, rep.Findings, 1)
		assert.Contains(t, rep.Findings[0].Message, "Git LFS")
	})
	t.Run("too large", func(t *testing.T) {
		dir := writeRepo(t, map[string]any{"README.md": bytes.Repeat([]byte("a"), MaxReadmeBytes+1)})
		readme, files, err := Load(t.Context(), &actions.Workspace{Dir: dir})
		require.NoError(t, err)
		assert.Nil(t, readme)
		rep := Check(readme, files, Options{})
		require.Len(t, rep.Findings, 1)
		assert.Contains(t, rep.Findings[0].Message, "larger than 10 MiB")
	})
	t.Run("a directory named README.md", func(t *testing.T) {
		dir := writeRepo(t, map[string]any{"README.md/x": "x"})
		readme, files, err := Load(t.Context(), &actions.Workspace{Dir: dir})
		require.NoError(t, err)
		rep := Check(readme, files, Options{})
		require.Len(t, rep.Findings, 1)
		assert.Equal(t, checkReadmeMissing, rep.Findings[0].Check)
	})
	t.Run("cancelled", func(t *testing.T) {
		dir := writeRepo(t, map[string]any{"README.md": "x"})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err := Load(ctx, &actions.Workspace{Dir: dir})
		assert.Error(t, err)
	})
}

func TestActionRun(t *testing.T) {
	_, err := New(actions.Options{"severity": map[string]any{"no-such-check": "off"}})
	var oe *actions.OptionError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "severity.no-such-check", oe.Key)

	a, err := New(actions.Options{
		"required": []any{"license", "datasets"},
		"severity": map[string]any{"weights-bin-only": "error"},
	})
	require.NoError(t, err)

	dir := writeRepo(t, map[string]any{
		"README.md":         string(readCard(t, "bert.md")),
		"config.json":       "{}",
		"pytorch_model.bin": int64(440473133),
	})
	var log bytes.Buffer
	res, err := a.Run(t.Context(), &actions.Workspace{Dir: dir, Repo: actions.Repo{ID: "example-org/compact-bert", Type: "model"}}, &log)
	require.NoError(t, err)
	assert.Equal(t, actions.Failure, res.Conclusion)
	assert.Equal(t, "❌ Model card: 1 error", res.Summary)
	assert.Contains(t, res.Details, "pickle .bin files (<code>pytorch&#95;model.bin</code>, 440.5 MB)")
	assert.NotEmpty(t, res.Fingerprint)
	assert.Nil(t, res.Proposal)
	assert.Contains(t, log.String(), "modelcard: model card FAILED: 1 error")

	again, err := a.Run(t.Context(), &actions.Workspace{Dir: dir}, &log)
	require.NoError(t, err)
	assert.Equal(t, res.Fingerprint, again.Fingerprint)

	_, err = a.Run(t.Context(), &actions.Workspace{Dir: filepath.Join(dir, "missing")}, &log)
	assert.Error(t, err)
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		raw  actions.Options
		key  string
	}{
		{"empty", nil, ""},
		{"all settings", actions.Options{"severity": map[string]any{"license": "warning", "body-empty": "off"}, "required": []any{"license"}, "fail_on": "warning"}, ""},
		{"unknown option", actions.Options{"strict": true}, "strict"},
		{"unknown severity", actions.Options{"severity": map[string]any{"license": "fatal"}}, "severity.license"},
		{"blank required field", actions.Options{"required": []any{" "}}, "required"},
		{"bad fail_on", actions.Options{"fail_on": "suggestion"}, "fail_on"},
		{"wrong type", actions.Options{"required": "license"}, "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeOptions(tt.raw)
			if tt.key == "" {
				assert.NoError(t, err)
				return
			}
			var oe *actions.OptionError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, tt.key, oe.Key)
		})
	}
	names := make(map[string]bool)
	for _, c := range Checks() {
		assert.False(t, names[c.Name], "check %s listed twice", c.Name)
		names[c.Name] = true
		assert.NotEmpty(t, c.About)
	}
}

func TestRunCLI(t *testing.T) {
	clean := writeRepo(t, map[string]any{
		"README.md": string(readCard(t, "bert.md")), "config.json": "{}", "model.safetensors": int64(440449768),
	})
	broken := writeRepo(t, map[string]any{
		"README.md": string(readCard(t, "broken.md")), "config.json": "{}", "pytorch_model.bin": int64(267854321),
	})
	warnOnly := writeRepo(t, map[string]any{
		"README.md": string(readCard(t, "bert.md")), "model.safetensors": int64(440449768),
	})
	notDir := filepath.Join(clean, "README.md")

	tests := []struct {
		name   string
		dir    string
		format string
		opts   Options
		code   int
		stdout string
		stderr string
		typ    string
	}{
		{"clean", clean, "", Options{}, ExitOK, "model card ok: 0 errors, 0 warnings, 0 suggestions\n", "", ""},
		{"broken", broken, "text", Options{}, ExitFindings, "README.md:2:10: error: `Apache 2.0`", "", ""},
		{"warnings pass", warnOnly, "text", Options{}, ExitOK, "[transformers-config]", "", ""},
		{"warnings fail when asked", warnOnly, "text", Options{FailOn: "warning"}, ExitFindings, "model card FAILED", "", ""},
		{"json", broken, "json", Options{}, ExitFindings, `"conclusion": "failure"`, "", ""},
		{"missing folder", filepath.Join(clean, "nope"), "", Options{}, ExitUnusable, "", "hubbot check: read workspace", ""},
		{"not a folder", notDir, "", Options{}, ExitUnusable, "", "not a directory", ""},
		{"bad format", clean, "yaml", Options{}, ExitUnusable, "", `unknown format "yaml"`, ""},
		{"bad options", clean, "", Options{FailOn: "never"}, ExitUnusable, "", "fail_on", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := RunCLI(t.Context(), tt.dir, tt.format, tt.typ, tt.opts, &stdout, &stderr)
			assert.Equal(t, tt.code, code)
			if tt.stdout != "" {
				assert.Contains(t, stdout.String(), tt.stdout)
			}
			if tt.stderr != "" {
				assert.Contains(t, stderr.String(), tt.stderr)
				assert.Empty(t, stdout.String())
				assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line")
			} else {
				assert.Empty(t, stderr.String())
			}
			if tt.format == "json" {
				assert.True(t, json.Valid(stdout.Bytes()))
			}
		})
	}
}
