package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDashboard(t *testing.T) {
	t.Run("defaults: public, no sign-in", func(t *testing.T) {
		cfg, err := Load("", func(string) string { return "" })
		require.NoError(t, err)
		assert.True(t, cfg.Dashboard.Public)
		assert.False(t, cfg.Dashboard.SignIn())
		assert.Equal(t, cfg.Hub.Endpoint, cfg.Dashboard.OpenIDProviderURL)
	})
	t.Run("a Space's OAuth variables win", func(t *testing.T) {
		env := map[string]string{"OAUTH_CLIENT_ID": "cid", "OAUTH_CLIENT_SECRET": "csecret", "OAUTH_SCOPES": "openid profile",
			"OPENID_PROVIDER_URL": "https://huggingface.co"}
		cfg, err := Load("", func(k string) string { return env[k] })
		require.NoError(t, err)
		assert.True(t, cfg.Dashboard.SignIn())
		assert.Equal(t, "cid", cfg.Dashboard.OAuthClientID)
		assert.Equal(t, "csecret", cfg.Secrets.OAuthClientSecret)
		assert.Equal(t, "openid profile", cfg.Dashboard.OAuthScopes)
	})
	tests := []struct {
		name, toml, want string
	}{
		{"admins need user: or org:", "[dashboard]\nadmins = [\"repo-owner\"]\n", "test.toml:2: dashboard.admins[0]"},
		{"a bad admin name", "[dashboard]\nadmins = [\"user:bad name\"]\n", "dashboard.admins[0]"},
		{"provider must be a URL", "[dashboard]\nopenid_provider_url = \"huggingface.co\"\n", "dashboard.openid_provider_url"},
		{"the webhook path is not a page", "[server]\nwebhook_path = \"/jobs/hook\"\n", "server.webhook_path"},
		{"unknown keys", "[dashboard]\npublik = true\n", "unknown key dashboard.publik"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.toml", []byte(tt.toml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	cfg, err := Parse("test.toml", []byte("[dashboard]\npublic = false\nadmins = [\"user:olga\", \"org:acme\"]\n"))
	require.NoError(t, err)
	assert.False(t, cfg.Dashboard.Public)
	assert.Equal(t, []string{"user:olga", "org:acme"}, cfg.Dashboard.Admins)
}
