package report

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hubbot/hubbot/bot/chatops"
	goldenfile "github.com/hubbot/hubbot/internal/golden"
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Assert(t, filepath.Join("testdata", name+".golden.md"), got)
}

var updated = time.Date(2026, 11, 28, 4, 5, 0, 0, time.UTC)

func TestRenderGolden(t *testing.T) {
	base := Report{Action: "model-card", Ref: "refs/pr/3", SHA: "5e7f29fffcc579cb52539fddb14a1a4f85f39e44",
		LogURL: "https://acme-hubbot.hf.space/api/jobs/42", Updated: updated}
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
			golden(t, tt.name, guard.Safe(Render(marker, r)))
		})
	}
}

// guard is the loop guard the bot passes every report through.
var guard = chatops.Syntax{Prefix: "/hubbot", Name: "hubbot-ci"}

// TestNoLineStartsWithACommand checks that a report, once through the
// guard, reads as no command.
func TestNoLineStartsWithACommand(t *testing.T) {
	out := guard.Safe(Render(Marker("x"), Report{Action: "x", State: Failure,
		Summary: "/hubbot convert", Details: "/HubBot convert\n  - /hubbot run\n> /hubbot x\n@hubbot-ci hi\n1. /hubbot y"}))
	reg, err := chatops.New(chatops.Config{Prefix: guard.Prefix, BotName: guard.Name})
	if err != nil {
		t.Fatal(err)
	}
	assert.Equal(t, chatops.Ignore, reg.Parse(out).Kind, out)
	assert.False(t, chatops.Mentions(out, guard.Name), out)
	assert.Contains(t, out, "\\/HubBot convert")
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
	assert.Equal(t, "hubbot: tests on pr/2", Title("tests", "refs/pr/2"))
}
