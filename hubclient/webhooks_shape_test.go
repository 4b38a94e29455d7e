package hubclient

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWebhookRequestShapes pins the webhook settings calls to what
// huggingface_hub's list_webhooks, get_webhook, create_webhook,
// update_webhook, enable_webhook, disable_webhook and delete_webhook send
// (../shared/reference/hub-webhooks-api-and-oauth.md, A.1).
func TestWebhookRequestShapes(t *testing.T) {
	rec := newRecorder(t)
	c := newTestClient(t, rec.URL)
	ctx := t.Context()
	hook := map[string]any{"id": "654bbbc16f2ec14d77f109cc", "url": "https://bot.example/webhooks/hub",
		"watched": []any{map[string]any{"type": "org", "name": "acme"}}, "domains": []any{"repo", "discussion"},
		"secret": "s3cret-s3cret-s3cret", "disabled": false}
	rec.json("GET /api/settings/webhooks", 200, []any{hook})
	rec.json("GET /api/settings/webhooks/654bbbc16f2ec14d77f109cc", 200, map[string]any{"webhook": hook})
	rec.json("POST /api/settings/webhooks", 200, map[string]any{"webhook": hook})
	rec.json("POST /api/settings/webhooks/654bbbc16f2ec14d77f109cc", 200, map[string]any{"webhook": hook})
	rec.json("POST /api/settings/webhooks/654bbbc16f2ec14d77f109cc/enable", 200, map[string]any{"webhook": hook})
	rec.json("POST /api/settings/webhooks/654bbbc16f2ec14d77f109cc/disable", 200, map[string]any{"webhook": hook})
	rec.json("DELETE /api/settings/webhooks/654bbbc16f2ec14d77f109cc", 200, map[string]any{})
	rec.json("GET /api/organizations/acme/overview", 200, map[string]any{"_id": "o1", "name": "acme", "type": "org"})

	const id = "654bbbc16f2ec14d77f109cc"
	spec := WebhookSpec{URL: "https://bot.example/webhooks/hub", Secret: "s3cret-s3cret-s3cret",
		Watched: []WatchedItem{{Type: "org", Name: "acme"}, {Type: "dataset", Name: "alice/data"}},
		Domains: []string{DomainRepo, DomainDiscussion}}
	tests := []struct {
		name   string
		call   func() error
		method string
		path   string
		body   string // JSON, compared semantically; "" = no body
	}{
		{"list", func() error { _, err := c.ListWebhooks(ctx); return err }, "GET", "/api/settings/webhooks", ""},
		{"get", func() error { _, err := c.GetWebhook(ctx, id); return err }, "GET", "/api/settings/webhooks/" + id, ""},
		{"create", func() error { _, err := c.CreateWebhook(ctx, spec); return err }, "POST", "/api/settings/webhooks",
			`{"watched":[{"type":"org","name":"acme"},{"type":"dataset","name":"alice/data"}],"domains":["repo","discussion"],` +
				`"secret":"s3cret-s3cret-s3cret","url":"https://bot.example/webhooks/hub"}`},
		{"create with defaults sends no domains and no secret", func() error {
			_, err := c.CreateWebhook(ctx, WebhookSpec{URL: "https://bot.example/h", Watched: []WatchedItem{{Type: "user", Name: "alice"}}})
			return err
		}, "POST", "/api/settings/webhooks", `{"watched":[{"type":"user","name":"alice"}],"url":"https://bot.example/h"}`},
		{"update", func() error { _, err := c.UpdateWebhook(ctx, id, spec); return err }, "POST", "/api/settings/webhooks/" + id,
			`{"watched":[{"type":"org","name":"acme"},{"type":"dataset","name":"alice/data"}],"domains":["repo","discussion"],` +
				`"secret":"s3cret-s3cret-s3cret","url":"https://bot.example/webhooks/hub"}`},
		{"update always sends watched", func() error { _, err := c.UpdateWebhook(ctx, id, WebhookSpec{Secret: "x"}); return err },
			"POST", "/api/settings/webhooks/" + id, `{"watched":[],"secret":"x"}`},
		{"enable", func() error { _, err := c.EnableWebhook(ctx, id); return err }, "POST", "/api/settings/webhooks/" + id + "/enable", ""},
		{"disable", func() error { _, err := c.DisableWebhook(ctx, id); return err }, "POST", "/api/settings/webhooks/" + id + "/disable", ""},
		{"delete", func() error { return c.DeleteWebhook(ctx, id) }, "DELETE", "/api/settings/webhooks/" + id, ""},
		{"org overview", func() error { _, err := c.GetOrgOverview(ctx, "acme"); return err }, "GET", "/api/organizations/acme/overview", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.call())
			got := rec.last(t)
			assert.Equal(t, tt.method, got.Method)
			assert.Equal(t, tt.path, got.Path)
			assert.Empty(t, got.Query)
			assert.Equal(t, "Bearer "+testToken, got.Header.Get("Authorization"))
			if tt.body == "" {
				assert.Empty(t, got.Body)
			} else {
				assert.JSONEq(t, tt.body, string(got.Body))
				assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
			}
		})
	}
}

func TestWebhookAnswersDecode(t *testing.T) {
	rec := newRecorder(t)
	c := newTestClient(t, rec.URL)
	// A Job webhook has no url and no secret; both must decode as empty.
	rec.json("GET /api/settings/webhooks", 200, []any{
		map[string]any{"id": "a1", "url": "https://x.example/h", "watched": []any{map[string]any{"type": "model", "name": "alice/tiny"}},
			"domains": []any{"repo"}, "secret": "abc", "disabled": true},
		map[string]any{"id": "a2", "job": map[string]any{"image": "x"}, "watched": []any{}, "domains": []any{"discussion"}, "disabled": false},
	})
	got, err := c.ListWebhooks(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, Webhook{ID: "a1", URL: "https://x.example/h", Watched: []WatchedItem{{Type: "model", Name: "alice/tiny"}},
		Domains: []string{"repo"}, Secret: "abc", Disabled: true}, got[0])
	assert.Equal(t, "a2", got[1].ID)
	assert.Empty(t, got[1].URL)
	assert.Empty(t, got[1].Secret)

	_, err = c.GetWebhook(t.Context(), "missing")
	require.Error(t, err)
	assert.True(t, IsNotFound(err))
	assert.NotContains(t, err.Error(), testToken)
}
