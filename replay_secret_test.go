package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/webhook"
)

func TestReplayFindsTheSecret(t *testing.T) {
	const want = "the-bots-kept-secret-123"
	var got []string
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent := r.Header.Get("X-Webhook-Secret")
		got = append(got, sent)
		switch sent {
		case "":
			w.WriteHeader(http.StatusUnauthorized)
		case want:
			w.WriteHeader(http.StatusAccepted)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer bot.Close()
	payload := filepath.Join(t.TempDir(), "p.json")
	require.NoError(t, os.WriteFile(payload, []byte(`{}`), 0o600))
	dataDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dataDir, webhook.SecretFile), []byte(want+"\n"), 0o600))
	emptyDir := t.TempDir()

	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		sent   string
		code   int
		stderr []string
	}{
		{"kept secret from the data dir", nil, map[string]string{"HUBBOT_DATA": dataDir}, want, 0, nil},
		{"--secret wins", []string{"--secret", "flag-secret-0123456"}, map[string]string{"HUBBOT_DATA": dataDir, "WEBHOOK_SECRET": want},
			"flag-secret-0123456", 1, []string{"refused the secret from --secret", "pass the bot's secret with --secret S or WEBHOOK_SECRET"}},
		{"WEBHOOK_SECRET before the kept one", nil, map[string]string{"HUBBOT_DATA": dataDir, "WEBHOOK_SECRET": "env-secret-0123456,other"},
			"env-secret-0123456", 1, []string{"refused the secret from WEBHOOK_SECRET"}},
		{"none found", nil, map[string]string{"HUBBOT_DATA": emptyDir}, "", 1,
			[]string{"the bot wants a webhook secret and none was found", "DATA_DIR/webhook-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			var out, errOut bytes.Buffer
			args := append(append([]string{"replay", "--url", bot.URL}, tt.args...), payload)
			code := run(t.Context(), args, &out, &errOut, func(k string) string { return tt.env[k] })
			assert.Equal(t, tt.code, code, errOut.String())
			assert.Equal(t, []string{tt.sent}, got)
			for _, s := range tt.stderr {
				assert.Contains(t, errOut.String(), s)
			}
			assert.NotContains(t, errOut.String(), want)
		})
	}
}
