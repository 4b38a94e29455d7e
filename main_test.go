package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

func noEnv(string) string { return "" }

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"version"}, &out, &errOut, noEnv)
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^hubbot \S+\n$`, out.String())
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(t.Context(), []string{"frobnicate"}, &out, &errOut, noEnv))
	assert.Contains(t, errOut.String(), `unknown command "frobnicate"`)
}

func TestCheckConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"check-config", "--config", "config.toml"}, &out, &errOut,
		func(k string) string {
			return map[string]string{"HF_TOKEN": "hf_fake-token-for-check-config", "WEBHOOK_SECRET": "a-secret-long-enough-for-check"}[k]
		})
	require.Equal(t, 0, code, errOut.String())
	assert.Contains(t, out.String(), "[server]")
	assert.Contains(t, out.String(), "HF_TOKEN: set")
	assert.NotContains(t, out.String(), "hf_fake-token")

	// What serve refuses, check-config refuses: a token without a secret.
	out.Reset()
	errOut.Reset()
	code = run(t.Context(), []string{"check-config", "--config", "config.toml"}, &out, &errOut,
		func(k string) string { return map[string]string{"HF_TOKEN": "hf_fake-token-for-check-config"}[k] })
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "WEBHOOK_SECRET is not set")

	bad := filepath.Join(t.TempDir(), "bad.toml")
	require.NoError(t, os.WriteFile(bad, []byte("[[actions]]\nname = \"x\"\nuses = \"run\"\non = [\"push\"]\n[actions.with]\ncomand = [\"true\"]\n"), 0o600))
	out.Reset()
	errOut.Reset()
	code = run(t.Context(), []string{"check-config", "--config", bad}, &out, &errOut, noEnv)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "bad.toml:6: actions[0].with.comand")
}

// TestKill9AfterAcceptLosesNothing kills the server with SIGKILL right after
// it answered 202 to a delivery whose job takes a while, starts it again on
// the same data dir, and expects the job to complete and its report to land.
func TestKill9AfterAcceptLosesNothing(t *testing.T) {
	bin, hub := binaryTest(t)
	dir := t.TempDir()
	cfg := writeBotConfig(t, dir, hub.URL, `
[[actions]]
name = "slow"
uses = "run"
on = ["push"]
[actions.with]
command = ["sh", "-c", "sleep 2; echo finished"]
`)
	env := hub.botEnv(dir, "crash-secret-0123456")

	first := startBot(t, bin, env, cfg)
	_, err := hub.AddWebhook(hubtest.Webhook{URL: first.base + "/webhooks/hub", Secret: "crash-secret-0123456", Domains: []string{"repo"}})
	require.NoError(t, err)
	sha, err := hub.Push(hub.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	deliveries, err := hub.WaitDeliveries(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, deliveries[0].Status, "%s", deliveries[0].Response)
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	first.cmd.Wait()

	second := startBot(t, bin, env, cfg)
	var job map[string]any
	require.Eventually(t, func() bool {
		resp, err := http.Get(second.base + "/api/jobs")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var out struct {
			Jobs []map[string]any `json:"jobs"`
		}
		if json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Jobs) != 1 {
			return false
		}
		job = out.Jobs[0]
		return job["state"] == "succeeded"
	}, 60*time.Second, 50*time.Millisecond, "the job never completed after the restart:\n%s", second.out)
	assert.Equal(t, sha, job["spec"].(map[string]any)["sha"])
	d, ok := hub.Discussion("alice/tiny", 1)
	require.True(t, ok, "the report was posted")
	assert.True(t, strings.Contains(d.Events[0].Content, sha[:7]))

	// SIGTERM stops it cleanly.
	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.cmd.Wait())
}

// TestRefusesToStartWithTokenButNoSecret: with a Hub token, running without
// a webhook secret would let anyone drive the bot.
func TestRefusesToStartWithTokenButNoSecret(t *testing.T) {
	var out, errOut bytes.Buffer
	env := map[string]string{"HF_TOKEN": "hf_x", "HUBBOT_DATA": t.TempDir(), "HF_ENDPOINT": "http://127.0.0.1:1"}
	code := run(t.Context(), []string{"serve", "--config", "config.toml"}, &out, &errOut, func(k string) string { return env[k] })
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "WEBHOOK_SECRET is not set")
}
