package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
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

// TestReplayLocalRun runs a real push's jobs in dry-run against a fake Hub:
// the card is checked and the report that would be posted is printed,
// while nothing is written to the Hub.
func TestReplayLocalRun(t *testing.T) {
	hub := hubtest.NewServer()
	defer hub.Close()
	alice := hub.AddUser("alice")
	_, err := hub.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"config.json": []byte("{}")}})
	require.NoError(t, err)
	_, err = hub.AddWebhook(hubtest.Webhook{URL: "http://127.0.0.1:1/nobody-listens"})
	require.NoError(t, err)
	_, err = hub.Push(alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{
		"README.md": []byte("---\nlicense: apache2\n---\n# tiny\n")}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	deliveries, err := hub.WaitDeliveries(ctx, 1)
	require.NoError(t, err)
	payload := filepath.Join(t.TempDir(), "push.json")
	require.NoError(t, os.WriteFile(payload, deliveries[0].Payload, 0o600))
	hub.ResetRequests()

	var out, errOut bytes.Buffer
	env := map[string]string{"HF_ENDPOINT": hub.URL}
	code := run(t.Context(), []string{"replay", "--local", "--run", "--config", "config.toml", payload}, &out, &errOut,
		func(k string) string { return env[k] })
	assert.Equal(t, 1, code, "the card has an error: %s", errOut.String())
	assert.Contains(t, out.String(), "run model-card on alice/tiny ref refs/heads/main")
	assert.Contains(t, out.String(), "would open a discussion")
	assert.Contains(t, out.String(), "<code>apache2</code> is not a license identifier")
	assert.Contains(t, out.String(), "job 2: run convert on alice/tiny ref refs/heads/main")
	// Reads only: git fetches and API GETs; no discussion was opened.
	for _, r := range hub.Requests() {
		read := r.Method == http.MethodGet || r.Method == http.MethodHead || strings.HasSuffix(r.Path, "/git-upload-pack") ||
			strings.Contains(r.Path, "/paths-info/")
		assert.True(t, read, "no write reaches the Hub: %s %s", r.Method, r.Path)
	}
	_, opened := hub.Discussion("alice/tiny", 1)
	assert.False(t, opened)

	errOut.Reset()
	assert.Equal(t, 2, run(t.Context(), []string{"replay", "--run", payload}, &out, &errOut, noEnv))
	assert.Equal(t, "hubbot: replay: --run needs --local; see 'hubbot replay -h'\n", errOut.String())
}
