package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// webhookPath is where the bench config has the bot receive deliveries.
const webhookPath = "/webhooks/hub"

// benchAction is the name of the action every delivery triggers.
const benchAction = "bench"

// shutdownGrace is the bench config's server.shutdown_grace: short, since
// the queue left by a flood is not worth waiting for.
const shutdownGrace = 5 * time.Second

// botConfig is a config.toml for one bot: loopback only, its own data
// dir, and one cheap `run` action on every pushed branch.
func botConfig(port int, dataDir string, workers int) string {
	return fmt.Sprintf(`# Written by bench/receiver for one benchmark phase.
[server]
listen = "127.0.0.1:%d"
webhook_path = %q
shutdown_grace = %q
log_format = "text"
log_level = "info"

[store]
data_dir = %q

[workers]
concurrency = %d
job_timeout = "1m"

[repos]
allow = ["*"]

[[actions]]
name = %q
uses = "run"
on = ["push"]
branches = ["*"]
timeout = "30s"
[actions.with]
command = ["true"]
`, port, webhookPath, shutdownGrace.String(), dataDir, workers, benchAction)
}

// botEnv is the whole environment of the bot: nothing of the caller's
// (a HUBBOT_DATABASE_URL or HUBBOT_CONFIG there would change what is
// measured) but PATH, HOME and TMPDIR.
type botEnv struct {
	HubURL string
	Token  string
	Secret string
	// DatabaseURL is the Postgres store of the stores phase; empty for
	// the embedded SQLite store.
	DatabaseURL string
}

func (e botEnv) list() []string {
	env := []string{"HF_ENDPOINT=" + e.HubURL, "HF_TOKEN=" + e.Token, "WEBHOOK_SECRET=" + e.Secret}
	if e.DatabaseURL != "" {
		env = append(env, "HUBBOT_DATABASE_URL="+e.DatabaseURL)
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// botProc is a running `hubbot serve`.
type botProc struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	exited  chan struct{}
	waitErr error // set before exited is closed
	Startup time.Duration
}

// startBot writes a config under dir, starts `hubbot serve` with it and
// waits until /readyz answers 200.
func startBot(ctx context.Context, bin, dir string, env botEnv, workers int) (*botProc, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("start bot: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start bot: %w", err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(botConfig(port, filepath.Join(dir, "data"), workers)), 0o600); err != nil {
		return nil, fmt.Errorf("start bot: %w", err)
	}
	logPath := filepath.Join(dir, "hubbot.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start bot: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env = env.list()
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd)
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	b := &botProc{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), logPath: logPath, exited: make(chan struct{})}
	go func() {
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	if err := b.waitReady(ctx, time.Minute); err != nil {
		b.kill()
		return nil, fmt.Errorf("start bot: %w\n%s", err, b.logTail(20))
	}
	b.Startup = time.Since(began)
	return b, nil
}

// freePort asks the kernel for a free loopback port. Another process
// could take it before the bot listens; startBot then fails and says so.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (b *botProc) waitReady(ctx context.Context, limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-b.exited:
			return fmt.Errorf("hubbot exited before it was ready: %v", b.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hubbot not ready after %s", limit)
		}
	}
}

// stop sends SIGTERM and waits for the bot to drain and exit; it kills the
// bot if it takes longer than the grace period and some slack.
func (b *botProc) stop() (time.Duration, error) {
	began := time.Now()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return 0, fmt.Errorf("stop bot: %w", err)
	}
	select {
	case <-b.exited:
	case <-time.After(shutdownGrace + 30*time.Second):
		b.kill()
		return time.Since(began), fmt.Errorf("stop bot: still running %s after SIGTERM; killed", time.Since(began).Round(time.Second))
	}
	took := time.Since(began)
	if b.waitErr != nil {
		return took, fmt.Errorf("stop bot: hubbot exited with %v\n%s", b.waitErr, b.logTail(10))
	}
	return took, nil
}

func (b *botProc) kill() {
	_ = b.cmd.Process.Kill()
	<-b.exited
}

// logTail returns the last n lines of the bot's log, for error messages.
func (b *botProc) logTail(n int) string {
	data, err := os.ReadFile(b.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "hubbot log (" + b.logPath + "):\n  " + strings.Join(lines, "\n  ")
}

// metrics scrapes the bot's /metrics.
func (b *botProc) metrics(ctx context.Context, client *http.Client) (metricSet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// pid is the bot's process id, for perf and top.
func (b *botProc) pid() string { return strconv.Itoa(b.cmd.Process.Pid) }

// version asks the binary for its version.
func hubbotVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return string(bytes.TrimSpace(out))
}
