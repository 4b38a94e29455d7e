package main

// What the process tests share: the real binary built once, a bot process
// of it on a free loopback port, and the fake Hub they start from.

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// buildBinary builds the real hubbot binary once for the process tests.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hubbot-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hubbot")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// botProcess is a running `hubbot serve`.
type botProcess struct {
	cmd  *exec.Cmd
	base string
	out  *lockedBuffer
}

// startBot runs `bin serve --config configPath` with env on a free port and
// waits until it is ready; the test's cleanup kills it if it still runs.
func startBot(t *testing.T, bin string, env []string, configPath string) *botProcess {
	t.Helper()
	return startBotWith(t, bin, env, configPath, nil)
}

// startBotWith is startBot with process attributes, such as another user
// to run as.
func startBotWith(t *testing.T, bin string, env []string, configPath string, attr *syscall.SysProcAttr) *botProcess {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "serve", "--config", configPath)
	cmd.Env = append(env, fmt.Sprintf("PORT=%d", port), "PATH="+os.Getenv("PATH"))
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = attr
	require.NoError(t, cmd.Start())
	p := &botProcess{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), out: out}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "bot did not become ready:\n%s", out)
	return p
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// binaryTest begins a test of the real binary: skipped with -short, it
// builds the binary and starts the fake Hub.
func binaryTest(t *testing.T) (bin string, hub *testHub) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildBinary()
	require.NoError(t, err)
	return bin, newTestHub(t)
}

// testHub is the fake Hub the process tests start from: alice and her model
// alice/tiny (a README), and the bot's account hubbot-ci.
type testHub struct {
	*hubtest.Server
	alice, botUser hubtest.User
}

// newTestHub starts a testHub that the test's cleanup closes.
func newTestHub(t *testing.T) *testHub {
	t.Helper()
	h := &testHub{Server: hubtest.NewServer()}
	t.Cleanup(h.Close)
	h.alice, h.botUser = h.AddUser("alice"), h.AddUser("hubbot-ci")
	_, err := h.CreateRepo(h.alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte("# tiny\n")}})
	require.NoError(t, err)
	return h
}

// botEnv is the environment of a bot acting as hubbot-ci with the webhook
// secret, its HOME in dir, and more variables.
func (h *testHub) botEnv(dir, secret string, more ...string) []string {
	return append([]string{"HF_TOKEN=" + h.botUser.Token, "WEBHOOK_SECRET=" + secret, "HOME=" + dir}, more...)
}

// writeBotConfig writes dir/config.toml for a bot against the fake Hub at
// hubURL, its data in dir/data and a short shutdown grace, followed by
// extra: more [store] keys, then the actions. It returns the file's path.
func writeBotConfig(t *testing.T, dir, hubURL, extra string) string {
	t.Helper()
	path := filepath.Join(dir, "config.toml")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`
[server]
shutdown_grace = "1s"
[hub]
endpoint = %q
[store]
data_dir = %q
%s`, hubURL, filepath.Join(dir, "data"), extra)), 0o600))
	return path
}
