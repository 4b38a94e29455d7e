package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
)

// TestCheckReportsEverythingServeRefuses checks the configuration mistakes
// that stop serve, each alone and all at once.
func TestCheckReportsEverythingServeRefuses(t *testing.T) {
	// The action's own options are checked by the action, not by config.Parse.
	const badAction = "[[actions]]\nname = \"x\"\nuses = \"run\"\non = [\"push\"]\n[actions.with]\ncommand = []\n"
	tests := []struct {
		name    string
		toml    string
		secrets config.Secrets
		want    []string
	}{
		{name: "fine", toml: runConfig, secrets: config.Secrets{HFToken: "hf_test", WebhookSecrets: []string{testSecret}}},
		{name: "dry-run needs no secret", toml: runConfig},
		{name: "token without secret", toml: runConfig, secrets: config.Secrets{HFToken: "hf_test"}, want: []string{"WEBHOOK_SECRET is not set"}},
		{name: "short secret", toml: runConfig, secrets: config.Secrets{HFToken: "hf_test", WebhookSecrets: []string{"short"}}, want: []string{"at least 16"}},
		{name: "bad action options", toml: badAction, want: []string{"test.toml:", "command"}},
		{name: "all at once", toml: badAction, secrets: config.Secrets{HFToken: "hf_test"},
			want: []string{"command", "WEBHOOK_SECRET is not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("test.toml", []byte(tt.toml))
			require.NoError(t, err)
			cfg.Store.DataDir = t.TempDir()
			cfg.Secrets = tt.secrets
			err = Check(cfg)
			if len(tt.want) == 0 {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
