package bot

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// serveManaged starts the bot on addr with hub.manage_webhook on and
// returns a function that stops it, and the channel Serve's error arrives on.
func serveManaged(t *testing.T, hub *hubtest.Server, token, addr, dataDir string) (stop func(), done chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	doc := "[server]\npublic_url = \"http://" + ln.Addr().String() + "\"\n[hub]\nmanage_webhook = true\n[repos]\nallow = [\"alice/*\"]\n" + runConfig
	cfg, err := config.Parse("test.toml", []byte(doc))
	require.NoError(t, err)
	cfg.Hub.Endpoint = hub.URL
	cfg.Store.DataDir = dataDir
	cfg.Server.ShutdownGrace = config.Duration(2 * time.Second)
	cfg.Secrets = config.Secrets{HFToken: token, WebhookSecrets: []string{testSecret}}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	b, err := New(ctx, Options{Config: cfg, Version: "test", Logger: slog.New(slog.NewTextHandler(logs, nil)), Out: io.Discard})
	require.NoError(t, err)
	done = make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bot log:\n%s", logs.String())
		}
	})
	return cancel, done
}

func TestServeManagesTheWebhook(t *testing.T) {
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	alice, bot := hub.AddUser("alice"), hub.AddUser("hubbot-ci")
	_, err := hub.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte(readme)}})
	require.NoError(t, err)
	dataDir := t.TempDir()

	stop, done := serveManaged(t, hub, bot.Token, "127.0.0.1:0", dataDir)
	require.Eventually(t, func() bool { return len(hub.Webhooks()) == 1 }, 30*time.Second, 10*time.Millisecond)
	hook := hub.Webhooks()[0]
	assert.Equal(t, []hubtest.Watch{{Type: "user", Name: "alice"}}, hook.Watched)
	assert.Equal(t, testSecret, hook.Secret)

	// The webhook it made delivers to it: a push runs the action.
	_, err = hub.Push(alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"notes.txt": []byte("x\n")}})
	require.NoError(t, err)
	deliveries, err := hub.WaitDeliveries(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, deliveries[0].Status, string(deliveries[0].Response))
	stop()
	require.NoError(t, <-done)

	// A restart on the same URL finds the webhook again: still one.
	addr := hook.URL[len("http://") : len(hook.URL)-len("/webhooks/hub")]
	stop, done = serveManaged(t, hub, bot.Token, addr, dataDir)
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 10*time.Millisecond)
	stop()
	require.NoError(t, <-done)
	assert.Len(t, hub.Webhooks(), 1)

	// A token that may not manage webhooks stops the start with a clear error.
	require.NoError(t, hub.AddToken(bot, "hf_read_only_bot_token", hubtest.RoleRead))
	stop, done = serveManaged(t, hub, "hf_read_only_bot_token", "127.0.0.1:0", t.TempDir())
	defer stop()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "sync the Hub webhook (hub.manage_webhook)")
		assert.Contains(t, err.Error(), "403")
	case <-time.After(30 * time.Second):
		t.Fatal("the bot started with a token that cannot manage webhooks")
	}
}
