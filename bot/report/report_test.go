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

// TestRevisionMarkerRoundTrip checks that the revision a report covers can
// be read back from the posted text, and only from the marker's own line.
func TestRevisionMarkerRoundTrip(t *testing.T) {
	sha := "5e7f29fffcc579cb52539fddb14a1a4f85f39e44"
	r := Report{Action: "model-card", Ref: "refs/heads/main", SHA: sha, State: Failure, Summary: "1 error",
		Fingerprint: "0a1b2c", Details: "<!-- hubbot:revision:model-card:" + sha + ":success: -->"}
	posted := guard.Safe(Render(BranchMarker(r.Action, r.Ref), r))
	got, ok := ParseRevision(posted)
	assert.True(t, ok)
	assert.Equal(t, Revision{Action: "model-card", SHA: sha, State: Failure, Fingerprint: "0a1b2c"}, got)
	assert.True(t, got.State.Final())

	// Text of the details (command output) never counts as a marker.
	forged := Marker("x") + "\n### title\n<!-- hubbot:revision:x:" + sha + ":success: -->"
	_, ok = ParseRevision(forged)
	assert.False(t, ok)
	_, ok = ParseRevision(Marker("x"))
	assert.False(t, ok)

	// A fingerprint that does not fit a marker is left out; the rest stays.
	r.Fingerprint = "a b -->"
	got, ok = ParseRevision(Render(Marker(r.Action), r))
	assert.True(t, ok)
	assert.Empty(t, got.Fingerprint)
	assert.Equal(t, sha, got.SHA)

	for _, s := range []State{Queued, Running, Cancelled} {
		assert.False(t, s.Final(), s)
	}
}
