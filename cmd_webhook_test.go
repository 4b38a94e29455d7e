package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

func TestWebhookSyncAndStatus(t *testing.T) {
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	alice, bot := hub.AddUser("alice"), hub.AddUser("hubbot-ci")
	hub.AddOrg("acme", alice)
	dir := t.TempDir()
	write := func(doc string) string {
		path := filepath.Join(dir, "config.toml")
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
		return path
	}
	const secret = "webhook-secret-for-cli-tests"
	env := map[string]string{"HF_TOKEN": bot.Token, "WEBHOOK_SECRET": secret, "HF_ENDPOINT": hub.URL,
		"SPACE_HOST": "hubbot-ci-bot.hf.space"}
	getenv := func(k string) string { return env[k] }
	cmd := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"webhook"}, args...), &out, &errOut, getenv)
		return code, out.String(), errOut.String()
	}
	cfg := write("[repos]\nallow = [\"acme/*\", \"alice/tiny\", \"datasets/alice/data\"]\n")

	code, _, errOut := cmd("status", "--config", cfg)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no webhook of this token's user posts to https://hubbot-ci-bot.hf.space/webhooks/hub")

	code, out, errOut := cmd("sync", "--config", cfg, "--dry-run")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "would create a webhook for https://hubbot-ci-bot.hf.space/webhooks/hub watching dataset:alice/data, model:alice/tiny, org:acme")
	assert.Empty(t, hub.Webhooks())

	code, out, errOut = cmd("sync", "--config", cfg)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "https://hubbot-ci-bot.hf.space/webhooks/hub: created")
	assert.Contains(t, out, "secret:  matches WEBHOOK_SECRET")
	assert.NotContains(t, out, secret)
	require.Len(t, hub.Webhooks(), 1)

	code, out, errOut = cmd("sync", "--config", cfg)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^webhook [0-9a-f]{24} for https://hubbot-ci-bot.hf.space/webhooks/hub: unchanged\n$`, out)
	assert.Len(t, hub.Webhooks(), 1)

	code, out, errOut = cmd("status", "--config", cfg)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "watched: dataset:alice/data, model:alice/tiny, org:acme")
	assert.Contains(t, out, "domains: repo, discussion")
	assert.Contains(t, out, "in sync with the configuration")

	// A changed allow list: status says what sync would do, sync does it.
	cfg = write("[repos]\nallow = [\"acme/*\"]\n")
	code, out, _ = cmd("status", "--config", cfg)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "out of sync with the configuration; `hubbot webhook sync` would change:\n    watched: -dataset:alice/data -model:alice/tiny")
	code, out, errOut = cmd("sync", "--config", cfg)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "updated\n  watched: -dataset:alice/data -model:alice/tiny\n")
	assert.Equal(t, []hubtest.Watch{{Type: "org", Name: "acme"}}, hub.Webhooks()[0].Watched)

	tests := []struct {
		name string
		doc  string
		env  map[string]string
		code int
		err  string
	}{
		{"bare star", "[repos]\nallow = [\"*\"]\n", nil, 1, `repos.allow[0]: "*" names every repo on the Hub, which a webhook cannot watch: list the users, orgs or repos to watch in [hub] watch = [`},
		{"no token", "[repos]\nallow = [\"acme/*\"]\n", map[string]string{"HF_TOKEN": ""}, 1, "HF_TOKEN is not set"},
		{"no public url", "[repos]\nallow = [\"acme/*\"]\n", map[string]string{"SPACE_HOST": ""}, 1, "server.public_url: is empty and SPACE_HOST is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := map[string]string{}
			for k, v := range tt.env {
				saved[k] = env[k]
				env[k] = v
			}
			defer func() {
				for k, v := range saved {
					env[k] = v
				}
			}()
			code, _, errOut := cmd("sync", "--config", write(tt.doc))
			assert.Equal(t, tt.code, code)
			assert.Contains(t, errOut, tt.err)
		})
	}

	code, _, _ = cmd("frob")
	assert.Equal(t, 2, code)
	code, out, _ = cmd("--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "usage: hubbot webhook sync|status")
}
