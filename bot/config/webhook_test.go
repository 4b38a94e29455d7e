package config

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHubWebhookKeys(t *testing.T) {
	cfg, err := Parse("c.toml", []byte("[server]\npublic_url = \"https://bot.example\"\n[hub]\nmanage_webhook = true\nwatch = [\"acme/*\", \"datasets/alice/data\"]\n"))
	require.NoError(t, err)
	assert.True(t, cfg.Hub.ManageWebhook)
	assert.Equal(t, []string{"acme/*", "datasets/alice/data"}, cfg.Hub.Watch)

	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"bare star watched", "[hub]\nwatch = [\"acme/*\", \"*\"]\n", []string{`c.toml:2: hub.watch[1]: want a user or org`}},
		{"bad watch entry", "[hub]\nwatch = [\"justaname\"]\n", []string{"c.toml:2: hub.watch[0]"}},
		{"managed with allow star", "[server]\npublic_url = \"https://x\"\n[hub]\nmanage_webhook = true\n[repos]\nallow = [\"*\"]\n",
			[]string{`c.toml:6: repos.allow: "*" cannot be watched`, "[hub] watch"}},
		{"managed with no public url", "[hub]\nmanage_webhook = true\nwatch = [\"acme/*\"]\n", []string{"server.public_url: is needed by hub.manage_webhook"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tt.doc))
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	// SPACE_HOST gives the public URL that manage_webhook needs.
	env := map[string]string{"SPACE_HOST": "me-hubbot.hf.space"}
	path := t.TempDir() + "/c.toml"
	require.NoError(t, os.WriteFile(path, []byte("[hub]\nmanage_webhook = true\nwatch = [\"acme/*\"]\n"), 0o600))
	cfg, err = Load(path, func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "https://me-hubbot.hf.space", cfg.Server.PublicURL)
}
