package bot

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

func TestStartUpSummary(t *testing.T) {
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	botUsr := hub.AddUser("hubbot-ci")
	tests := []struct {
		name  string
		toml  string
		token string
		want  []string
	}{
		{name: "live with a glob", token: botUsr.Token,
			toml: "[server]\npublic_url = \"https://bot.example\"\n[repos]\nallow = [\"acme/*\"]\n" + runConfig,
			want: []string{`config:\s+test\.toml`, `mode:\s+live`, `account:\s+hubbot-ci`,
				`webhook:\s+https://bot\.example/webhooks/hub \(not managed`, `every repo of acme/\* \(missed pushes and comment commands; what the store lost is read from the markers`, `tests \(run on push, pull_request, command\)`}},
		{name: "dry-run without actions",
			want: []string{`dry-run: HF_TOKEN is not set`, `account:\s+none`, `webhook:\s+unknown`, `recovery:\s+off`, `actions:\s+none`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("test.toml", []byte(tt.toml))
			require.NoError(t, err)
			cfg.Hub.Endpoint = hub.URL
			cfg.Store.DataDir = t.TempDir()
			cfg.Store.ScratchDir = t.TempDir()
			cfg.Secrets = config.Secrets{HFToken: tt.token, WebhookSecrets: []string{testSecret}}
			b, err := New(context.Background(), Options{Config: cfg, Version: "test", Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			t.Cleanup(func() { b.Close() })
			var out bytes.Buffer
			b.summary(&out)
			for _, w := range tt.want {
				assert.Regexp(t, w, out.String())
			}
			assert.NotContains(t, out.String(), testSecret)
		})
	}
}
