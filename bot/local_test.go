package bot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
)

// TestRouteLocal routes real payloads with no store and no Hub: what would
// be queued, ignored or rejected, as the served bot decides it.
func TestRouteLocal(t *testing.T) {
	cfg, err := config.Parse("test.toml", []byte(`
[repos]
deny = ["spaces/Wauplin/*"]
[[actions]]
name = "model-card"
uses = "modelcard"
on = ["push", "pull_request", "command"]
[[actions]]
name = "tags"
uses = "modelcard"
on = ["tag"]
`))
	require.NoError(t, err)
	payload := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("webhook", "testdata", "payloads", name))
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name    string
		body    []byte
		outcome string
		reason  string
		jobs    []string // action@ref
	}{
		{"push and tag", payload("repo-content-push-main-and-tag.json"), jobs.OutcomeQueued, "",
			[]string{"model-card@refs/heads/main", "tags@refs/tags/test"}},
		{"denied repo", payload("repo-content-new-pr-ref.json"), jobs.OutcomeIgnored,
			"repo spaces/Wauplin/gradio-user-history is not in repos.allow (or is in repos.deny)", nil},
		{"comment not addressed to the bot", payload("discussion-comment-create.json"), jobs.OutcomeIgnored, "not addressed to hubbot", nil},
		{"legacy payload", payload("legacy-v2-repo-content.json"), jobs.OutcomeIgnored, "payload version 2 is not supported (hubbot reads version 3)", nil},
		{"unreadable", []byte(`{"event":`), "rejected", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := RouteLocal(t.Context(), cfg, tt.body)
			require.NoError(t, err)
			assert.Equal(t, tt.outcome, d.Outcome)
			if tt.reason != "" {
				assert.Equal(t, tt.reason, d.Reason)
			}
			var got []string
			for _, j := range d.Jobs {
				got = append(got, j.Action+"@"+j.Ref)
			}
			assert.Equal(t, tt.jobs, got)
		})
	}
}
