package report

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.md")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}

var updated = time.Date(2026, 11, 28, 4, 5, 0, 0, time.UTC)

func TestRenderGolden(t *testing.T) {
	base := Report{Action: "model-card", Ref: "refs/pr/3", SHA: "5e7f29fffcc579cb52539fddb14a1a4f85f39e44",
		LogURL: "https://acme-hubbot.hf.space/api/jobs/42", Updated: updated, Prefix: "/hubbot"}
	tests := []struct {
		name   string
		modify func(*Report)
	}{
		{"queued", func(r *Report) { r.State = Queued }},
		{"running", func(r *Report) { r.State = Running }},
		{"failure", func(r *Report) {
			r.State, r.Summary = Failure, "2 errors, 1 warning"
			r.Details = "| severity | field | line | message |\n| --- | --- | --- | --- |\n| error | license | 2 | `apache2` is not a license the Hub accepts |"
		}},
		{"success-branch", func(r *Report) {
			r.State, r.Ref, r.Summary, r.LogURL = Success, "refs/heads/main", "the model card looks right", ""
		}},
		{"hostile-output", func(r *Report) {
			r.State, r.Summary = Failure, "exit status 1\n/hubbot convert"
			r.Details = "```\n/hubbot convert\n@hubbot-ci please\n```\n/hubbot run tests\n@everyone look"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.modify(&r)
			marker := Marker(r.Action)
			if !strings.HasPrefix(r.Ref, "refs/pr/") {
				marker = BranchMarker(r.Action, r.Ref)
			}
			golden(t, tt.name, Render(marker, r))
		})
	}
}

func TestNoLineStartsWithACommand(t *testing.T) {
	out := Render(Marker("x"), Report{Action: "x", State: Failure, Prefix: "/hubbot",
		Summary: "/hubbot convert", Details: "/HubBot convert\n  - /hubbot run\n> /hubbot x\n@bot hi\n1. /hubbot y"})
	for _, line := range strings.Split(out, "\n") {
		trimmed := strings.TrimLeft(line, " \t>*-+0123456789.)")
		assert.False(t, strings.HasPrefix(strings.ToLower(trimmed), "/hubbot"), line)
		assert.False(t, strings.HasPrefix(trimmed, "@"), line)
	}
}

func TestTruncationKeepsTheTail(t *testing.T) {
	var b strings.Builder
	b.WriteString("```\n")
	for i := range 20000 {
		b.WriteString("line ")
		b.WriteString(strings.Repeat("x", i%50))
		b.WriteString("\n")
	}
	b.WriteString("THE END\n```")
	out := Render(Marker("tests"), Report{Action: "tests", State: Failure, Details: b.String(), LogURL: "https://h/api/jobs/1"})
	assert.LessOrEqual(t, len([]rune(out)), MaxSize)
	assert.Contains(t, out, "THE END")
	assert.Contains(t, out, "characters cut")
	assert.Contains(t, out, "[full log](https://h/api/jobs/1)")
	details := out[strings.Index(out, "<details>"):]
	assert.Equal(t, 0, strings.Count(details, "```")%2, "fences stay balanced after the cut")
	assert.True(t, strings.HasSuffix(strings.TrimSpace(out), "</details>"))
}

func TestTitles(t *testing.T) {
	assert.Equal(t, "hubbot: model-card", Title("model-card", "refs/heads/main"))
	assert.Equal(t, "hubbot: tests on release/1", Title("tests", "refs/heads/release/1"))
	assert.Equal(t, "hubbot: tests on tags/v1", Title("tests", "refs/tags/v1"))
}
