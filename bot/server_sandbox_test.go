package bot

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// TestAPITrustsLoopbackOnlyWhereCommandsCannotReachIt: where the sandbox
// cannot keep `run` commands off local ports (Landlock older than ABI 4,
// forced here through the probe, or the sandbox off), a loopback client may
// be a command, so /api wants the admin token.
func TestAPITrustsLoopbackOnlyWhereCommandsCannotReachIt(t *testing.T) {
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	botUser := hub.AddUser("hubbot-ci")
	const runAction = "[[actions]]\nname = \"ci\"\nuses = \"run\"\non = [\"pull_request\"]\n[actions.with]\ncommand = [\"sh\", \"ci.sh\"]\n"
	for _, tt := range []struct {
		name    string
		abi     int
		mode    string
		actions string
		token   string // HUBBOT_ADMIN_TOKEN
		bearer  string // what the client sends
		status  int
		says    string
	}{
		{name: "ABI 4: commands cannot connect", abi: 4, mode: "landlock", actions: runAction, status: http.StatusOK},
		{name: "ABI 3: commands can connect", abi: 3, mode: "landlock", actions: runAction, status: http.StatusForbidden,
			says: "the API answers only requests with HUBBOT_ADMIN_TOKEN: Landlock ABI 3 (files) cannot restrict TCP, so the commands of action ci can connect to it"},
		{name: "ABI 3 with the admin token", abi: 3, mode: "landlock", actions: runAction, token: "admin-token-0123456789", bearer: "admin-token-0123456789", status: http.StatusOK},
		{name: "ABI 3, a wrong token", abi: 3, mode: "landlock", actions: runAction, token: "admin-token-0123456789", bearer: "guess", status: http.StatusUnauthorized},
		{name: "ABI 3, no run action", abi: 3, mode: "landlock", status: http.StatusOK},
		{name: "sandbox off", abi: 7, mode: "off", actions: runAction, status: http.StatusForbidden,
			says: "the API answers only requests with HUBBOT_ADMIN_TOKEN: the sandbox is off, so the commands of action ci can connect to it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("c.toml", []byte(tt.actions))
			require.NoError(t, err)
			cfg.Hub.Endpoint = hub.URL
			cfg.Store.DataDir = t.TempDir()
			cfg.Secrets = config.Secrets{HFToken: botUser.Token, WebhookSecrets: []string{testSecret}, AdminToken: tt.token}
			sb, err := sandbox.New(sandbox.Config{Mode: tt.mode, Executable: "/bin/false", // no command runs here
				Probe: func() sandbox.Support { return sandbox.Support{ABI: tt.abi} }})
			require.NoError(t, err)
			b, err := New(t.Context(), Options{Config: cfg, Version: "test", Out: io.Discard, Sandbox: sb})
			require.NoError(t, err)
			t.Cleanup(func() { b.Close() })
			srv := httptest.NewServer(b.Handler()) // a loopback listener: the client is local
			t.Cleanup(srv.Close)

			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/deliveries", nil)
			require.NoError(t, err)
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode, "%s", body)
			if tt.says != "" {
				assert.JSONEq(t, fmt.Sprintf(`{"error": %q}`, tt.says), string(body))
			}
		})
	}
}
