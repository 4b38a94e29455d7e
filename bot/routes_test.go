package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/webhook"
	"github.com/hubbot/hubbot/hubclient"
)

func TestContentRoute(t *testing.T) {
	cfg, err := config.Parse("c.toml", []byte(`
[[actions]]
name = "card"
uses = "modelcard"
on = ["push", "pull_request"]
[[actions]]
name = "release"
uses = "run"
on = ["tag"]
tags = ["v*"]
[actions.with]
command = ["true"]
[[actions]]
name = "dev"
uses = "run"
on = ["push"]
branches = ["dev", "feature/*"]
[actions.with]
command = ["true"]
`))
	require.NoError(t, err)
	route := ContentRoute(cfg)
	sha := func(s string) *string { return &s }
	decide := func(updated ...webhook.UpdatedRef) webhook.Decision {
		d, err := route(t.Context(), &webhook.Payload{Event: webhook.Event{Scope: "repo.content", Action: "update"},
			Repo: webhook.Repo{Name: "acme/tiny", Type: "model"}, UpdatedRefs: updated})
		require.NoError(t, err)
		return d
	}
	d := decide(webhook.UpdatedRef{Ref: "refs/heads/main", OldSHA: sha("a"), NewSHA: sha("b")}, webhook.UpdatedRef{Ref: "refs/tags/v1", NewSHA: sha("b")})
	require.Len(t, d.Jobs, 2)
	assert.Equal(t, jobs.Spec{Kind: jobs.KindRun, Action: "card", Trigger: "push", Repo: hubclient.Repo{Type: "model", ID: "acme/tiny"},
		Ref: "refs/heads/main", SHA: "b", OldSHA: "a"}, d.Jobs[0])
	assert.Equal(t, "release", d.Jobs[1].Action)

	d = decide(webhook.UpdatedRef{Ref: "refs/pr/7", NewSHA: sha("c")})
	require.Len(t, d.Jobs, 1)
	assert.Equal(t, 7, d.Jobs[0].Discussion)
	assert.Equal(t, "pull_request", d.Jobs[0].Trigger)

	d = decide(webhook.UpdatedRef{Ref: "refs/heads/feature/x", NewSHA: sha("d")})
	require.Len(t, d.Jobs, 1)
	assert.Equal(t, "dev", d.Jobs[0].Action)

	d = decide(webhook.UpdatedRef{Ref: "refs/heads/main", OldSHA: sha("a")}) // deleted
	assert.Empty(t, d.Jobs)
	assert.Contains(t, d.Ignore, "deleted")
	d = decide(webhook.UpdatedRef{Ref: "refs/convert/parquet", NewSHA: sha("e")}, webhook.UpdatedRef{Ref: "refs/tags/nightly", NewSHA: sha("e")},
		webhook.UpdatedRef{Ref: "refs/pr/0", NewSHA: sha("e")})
	assert.Empty(t, d.Jobs)
	assert.Contains(t, d.Ignore, "matches no action")
}
