package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplayLocal routes every fixture payload through the real receiver
// and router against the documented config.toml, with no server and no
// Hub, and compares what would happen with the golden file.
func TestReplayLocal(t *testing.T) {
	files, err := filepath.Glob("testdata/payloads/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out, errOut bytes.Buffer
	code := run(t.Context(), append([]string{"replay", "--local", "--config", "config.toml"}, files...), &out, &errOut, noEnv)
	assert.Equal(t, 0, code, errOut.String())
	assert.Empty(t, errOut.String())
	golden(t, "replay-local.txt", out.String())
}

// TestReplayLocalFollowsTheConfig: the same payload is queued or ignored
// as the configuration says, and a payload the receiver refuses says why.
func TestReplayLocalFollowsTheConfig(t *testing.T) {
	dir := t.TempDir()
	denied := filepath.Join(dir, "deny.toml")
	require.NoError(t, os.WriteFile(denied, []byte("[repos]\nallow = [\"*\"]\ndeny = [\"some-user/*\"]\n"+
		"[[actions]]\nname = \"model-card\"\nuses = \"modelcard\"\non = [\"push\"]\n"), 0o600))
	broken := filepath.Join(dir, "broken.json")
	require.NoError(t, os.WriteFile(broken, []byte(`{"event":`), 0o600))

	tests := []struct {
		name, config, file, want string
		code                     int
	}{
		{"queued by the default config", "config.toml", "testdata/payloads/repo-content-push-main-and-tag.json", "would queue", 0},
		{"denied repo", denied, "testdata/payloads/repo-content-push-main-and-tag.json", "is not in repos.allow", 0},
		{"unreadable payload", "config.toml", broken, "rejected (400)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), []string{"replay", tt.file, "--local", "--config", tt.config}, &out, &errOut, noEnv)
			assert.Equal(t, tt.code, code, errOut.String())
			assert.Contains(t, out.String(), tt.want)
		})
	}
}
