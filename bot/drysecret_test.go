package bot

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/webhook"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

func TestDryRunSecretSurvivesARestart(t *testing.T) {
	dataDir := t.TempDir()
	start := func() (*Bot, string) {
		cfg := config.Default()
		cfg.Store.DataDir = dataDir
		cfg.Hub.Endpoint = "http://127.0.0.1:1" // dry-run: never asked
		var out bytes.Buffer
		b, err := New(context.Background(), Options{Config: cfg, Version: "test", Out: &out})
		require.NoError(t, err)
		return b, out.String()
	}
	first, out := start()
	path := filepath.Join(dataDir, webhook.SecretFile)
	assert.Contains(t, out, "dry-run with this generated secret, kept in "+path)
	require.NoError(t, first.Close())
	kept, err := webhook.ReadSecretFile(dataDir)
	require.NoError(t, err)
	assert.Contains(t, out, kept)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	second, out := start()
	defer second.Close()
	assert.Contains(t, out, "dry-run with the secret kept in "+path)
	assert.NotContains(t, out, kept, "a kept secret is not printed again")

	// The restarted bot takes the kept secret and no other.
	srv := httptest.NewServer(second.Handler())
	defer srv.Close()
	post := func(secret string) int {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/hub", strings.NewReader(`{"event":{"action":"update","scope":"repo"}}`))
		require.NoError(t, err)
		req.Header.Set("X-Webhook-Secret", secret)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, post(kept))
	assert.Equal(t, http.StatusForbidden, post("not-the-kept-secret"))
}

func TestShortSecretRefusedWithAToken(t *testing.T) {
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	bot := hub.AddUser("hubbot-ci")
	cfg := config.Default()
	cfg.Store.DataDir = t.TempDir()
	cfg.Hub.Endpoint = hub.URL
	cfg.Secrets = config.Secrets{HFToken: bot.Token, WebhookSecrets: []string{"long-enough-secret-1", "hunter2"}}
	_, err := New(t.Context(), Options{Config: cfg, Version: "test"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "secret 2 of 2 has 7 characters; use at least 16")
	assert.NotContains(t, err.Error(), "hunter2")

	// Without a token (dry-run) a short secret only guards a bot that writes nothing.
	cfg.Secrets.HFToken = ""
	b, err := New(t.Context(), Options{Config: cfg, Version: "test"})
	require.NoError(t, err)
	require.NoError(t, b.Close())
}
