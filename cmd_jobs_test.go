package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// TestJobsAndLogsCommands runs a bot in this process against the fake Hub,
// has a push start a job whose output comes in two steps, and reads it with
// `hubbot jobs` and `hubbot logs --follow`.
func TestJobsAndLogsCommands(t *testing.T) {
	gin.SetMode(gin.TestMode)
	hub := newTestHub(t)
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	cfgPath := writeBotConfig(t, dir, hub.URL, fmt.Sprintf(`
[[actions]]
name = "steps"
uses = "run"
on = ["push"]
[actions.with]
command = ["sh", "-c", "echo first step; while [ ! -e %s ]; do sleep 0.05; done; echo second step"]
`, release))
	env := map[string]string{"HF_TOKEN": hub.botUser.Token, "WEBHOOK_SECRET": "cli-secret-0123456789", "HUBBOT_ADMIN_TOKEN": "cli-admin-token", "HOME": dir}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Load(cfgPath, getenv)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	b, err := bot.New(ctx, bot.Options{Config: cfg, Version: "test", Out: &bytes.Buffer{}})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	t.Cleanup(func() {
		os.WriteFile(release, nil, 0o600)
		cancel()
		<-done
	})
	base := "http://" + ln.Addr().String()
	_, err = hub.AddWebhook(hubtest.Webhook{URL: base + "/webhooks/hub", Secret: "cli-secret-0123456789", Domains: []string{"repo"}})
	require.NoError(t, err)
	_, err = hub.Push(hub.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)

	cli := func(cmd string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{cmd}, args...), &out, &errOut, getenv)
		return code, out.String(), errOut.String()
	}
	var list string
	require.Eventually(t, func() bool {
		code, out, _ := cli("jobs", "--url", base, "--state", "running")
		list = out
		return code == 0 && strings.Contains(out, "running")
	}, 30*time.Second, 50*time.Millisecond, "the job never ran")
	assert.Contains(t, list, "alice/tiny")
	assert.Contains(t, list, "steps")
	fields := strings.Fields(strings.Split(list, "\n")[1])
	id := fields[0]

	t.Run("without the admin token", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run(t.Context(), []string{"jobs", "--url", base}, &out, &errOut, func(string) string { return "" })
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut.String(), "HUBBOT_ADMIN_TOKEN")
		assert.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line")
	})
	t.Run("usage", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			code int
		}{{[]string{"logs", "-h"}, 0}, {[]string{"jobs", "-h"}, 0}, {[]string{"logs"}, 2}, {[]string{"logs", "x"}, 2},
			{[]string{"jobs", "extra"}, 2}, {[]string{"jobs", "--url", "ftp://x"}, 2}, {[]string{"logs", "--url", base, "99999"}, 1}, {[]string{"logs", "99999", "--url", base}, 1}} {
			code, _, _ := cli(tt.args[0], tt.args[1:]...)
			assert.Equal(t, tt.code, code, "%v", tt.args)
		}
	})

	// Follow the log from the first step to the end.
	followed := make(chan string, 1)
	go func() {
		_, out, _ := cli("logs", "--url", base, "--follow", "--interval", "50ms", id)
		followed <- out
	}()
	require.Eventually(t, func() bool {
		code, out, _ := cli("logs", "--url", base, id)
		return code == 0 && strings.Contains(out, "first step")
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, os.WriteFile(release, nil, 0o600))
	select {
	case out := <-followed:
		assert.Contains(t, out, "first step")
		assert.Contains(t, out, "second step")
		code, whole, _ := cli("logs", "--url", base, id)
		require.Equal(t, 0, code)
		assert.Equal(t, whole, out, "followed piece by piece, the log reads as a whole: nothing twice, nothing lost")
	case <-time.After(60 * time.Second):
		t.Fatal("logs --follow never ended")
	}
}
