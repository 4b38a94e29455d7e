package devenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
)

const testConfig = `
[[actions]]
name = "model-card"
uses = "modelcard"
on = ["push", "pull_request", "command"]
[repos]
allow = ["someone-else/*"]
`

// TestEnv starts the environment in-process: the demo push is checked, a
// pull request and a comment made through the state file reach the bot,
// and the data stays after Close.
func TestEnv(t *testing.T) {
	cfg, err := config.Parse("test.toml", []byte(testConfig))
	require.NoError(t, err)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", "")
	dir := filepath.Join(t.TempDir(), "dev")
	env, err := Start(t.Context(), Options{Config: cfg, Dir: dir, Version: "test"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- env.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-served
		env.Close()
	})

	settle, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	require.NoError(t, env.Settle(settle))
	assert.False(t, cfg.RepoAllowed(DemoRepo), "the caller's configuration is not changed")

	current, err := CurrentDir()
	require.NoError(t, err)
	state, err := ReadState(current)
	require.NoError(t, err)
	assert.Equal(t, env.State.HubURL, state.HubURL)
	info, err := os.Stat(filepath.Join(dir, StateFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the state holds tokens")

	list, err := state.Discussions(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "the card's report")
	assert.Equal(t, BotName, list[0].AuthorName())

	fixed := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(fixed, []byte(strings.Replace(string(demoCard), "apache2", "apache-2.0", 1)), 0o644))
	_, err = state.OpenPR(ctx, "", "bob", "", []string{fixed})
	require.Error(t, err, "an empty repo is refused")
	num, err := state.OpenPR(ctx, DemoRepo, "bob", "", []string{fixed})
	require.NoError(t, err)
	assert.Equal(t, 2, num)
	require.NoError(t, state.Comment(ctx, DemoRepo, "bob", num, "/hubbot model-card"))
	require.Eventually(t, func() bool {
		d, err := env.bot.Queue().Jobs(ctx, jobs.JobFilter{})
		return err == nil && len(d) >= 3 // the demo push, the pull request, bob's command
	}, time.Minute, 50*time.Millisecond)

	_, err = state.OpenPR(ctx, DemoRepo, "mallory", "", []string{fixed})
	assert.ErrorContains(t, err, `no user "mallory" on the dev Hub (users: alice, bob, hubbot-bot)`)
}

func TestPrepareDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "hub", "repos"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), []byte("{}"), 0o600))
	got, err := prepareDir(dir)
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	assert.NoDirExists(t, filepath.Join(dir, "hub"), "an earlier run's data is cleared")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "thesis.tex"), nil, 0o600))
	_, err = prepareDir(dir)
	assert.ErrorContains(t, err, "holds thesis.tex, which hubbot dev did not write")
	assert.FileExists(t, filepath.Join(dir, "thesis.tex"), "nothing of the user's is removed")
}

// TestStartFailureCleansUp: a port in use stops Start with an error naming
// it, and leaves no state file behind.
func TestStartFailureCleansUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", "")
	cfg, err := config.Parse("test.toml", []byte(testConfig))
	require.NoError(t, err)
	dir := t.TempDir()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = Start(t.Context(), Options{Config: cfg, Dir: dir, Port: port})
	assert.ErrorContains(t, err, fmt.Sprintf("listen on 127.0.0.1:%d", port))
	assert.NoFileExists(t, filepath.Join(dir, StateFile))
	_, err = CurrentDir()
	assert.ErrorContains(t, err, "no hubbot dev is running")
}
