package run_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/run"
	"github.com/hubbot/hubbot/actions/run/sandbox"
)

// TestMain lets the test binary serve as the sandbox's supervisor and
// spawner, as the bot's binary does, and marks the test process
// non-dumpable like serve: it stands in for the bot in the attacks below.
func TestMain(m *testing.M) {
	sandbox.Launch()
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperBot())
	}
	if err := sandbox.MarkNonDumpable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// newSandbox returns a Landlock sandbox with small caps, or skips the test
// when the kernel has no Landlock (or too old an ABI for what it checks).
func newSandbox(t testing.TB, minABI int, stateDir string) *sandbox.Sandbox {
	t.Helper()
	if s := sandbox.Probe(); s.ABI < minABI {
		t.Skipf("needs Landlock ABI %d, the kernel offers %s", minABI, s)
	}
	cfg := sandbox.DefaultConfig()
	cfg.Limits.Processes = 64
	cfg.Limits.CPUTime = time.Minute
	cfg.StateDir = stateDir
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	require.NoError(t, sb.Ready())
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// markedProcesses lists the processes whose environment holds mark: those
// of one test's command, however they detached.
func markedProcesses(t testing.TB, mark string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, []byte(mark)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func randomMark(t testing.TB) string {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "mark" + hex.EncodeToString(b)
}

// TestSandboxAttackCorpus runs, inside the sandbox, the attacks a stranger's
// pull request tried on the unsandboxed bot. Each prints ATTACK-SUCCEEDED
// only if it got through.
func TestSandboxAttackCorpus(t *testing.T) {
	if os.Geteuid() != 0 && !canReadOwnEnviron() {
		t.Skip("cannot read /proc/PID/environ of same-user processes here, so the process checks would prove nothing")
	}
	sb := newSandbox(t, 6, t.TempDir())

	// What the bot protects: its data dir with the database, its config
	// file, another job's workspace, its own port. Readable by anyone as
	// far as file modes go, so only the sandbox stands in the way.
	root := t.TempDir()
	require.NoError(t, os.Chmod(root, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(root), 0o755))
	data := filepath.Join(root, "data")
	other := filepath.Join(root, "workspaces", "other-job")
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, os.MkdirAll(data, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(data, "hubbot.db"), []byte("SQLite "+testToken), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "config.toml"), []byte("[hub]\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(other, "model.py"), []byte("weights"), 0o644))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port

	// Landlock alone stops the file and network attacks: with the sandbox
	// off (the same user, limits and supervisor) they get through, which
	// shows the scripts work.
	offCfg := sandbox.DefaultConfig()
	offCfg.Mode = sandbox.ModeOff
	off, err := sandbox.New(offCfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = off.Close() })

	attacks := []struct {
		name   string
		script string
		// landlockOnly: only Landlock stops it; the other attacks are also
		// stopped by the user or dumpability checks.
		landlockOnly bool
	}{
		{"read the bot's environment", `cat /proc/$BOT_PID/environ && echo ATTACK-SUCCEEDED`, false},
		{"open the bot's memory", `exec 3</proc/$BOT_PID/mem && echo ATTACK-SUCCEEDED`, false},
		{"read the parent's environment", `cat /proc/$PPID/environ && echo ATTACK-SUCCEEDED`, false},
		{"open the parent's memory", `exec 3</proc/$PPID/mem && echo ATTACK-SUCCEEDED`, false},
		{"signal the bot", `kill -0 $BOT_PID && echo ATTACK-SUCCEEDED`, false},
		{"signal the parent", `kill -0 $PPID && echo ATTACK-SUCCEEDED`, false},
		{"read the database", `cat "$DATA/hubbot.db" && echo ATTACK-SUCCEEDED`, true},
		{"list the data dir", `ls "$DATA" && echo ATTACK-SUCCEEDED`, true},
		{"read the config file", `cat "$ROOT/config.toml" && echo ATTACK-SUCCEEDED`, true},
		{"read another workspace", `cat "$OTHER/model.py" && echo ATTACK-SUCCEEDED`, true},
		{"connect to the bot's port", `exec 3<>/dev/tcp/127.0.0.1/$PORT && echo ATTACK-SUCCEEDED`, true},
		{"write another workspace", `echo x > "$OTHER/model.py" && echo ATTACK-SUCCEEDED`, false},
		{"write outside", `echo x > /tmp/hubbot-sandbox-escape && echo ATTACK-SUCCEEDED`, false},
		{"listen on a port", `/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print("ATTACK-SUCCEEDED")'`, false},
	}
	for _, at := range attacks {
		if at.landlockOnly {
			t.Run(at.name+" (sandbox off)", func(t *testing.T) {
				f := newFixture(t)
				f.env.Sandbox = off
				f.write(t, "ci.sh", at.script+"\n", 0o644)
				a, err := run.New(actions.Options{
					"command": []any{"/usr/bin/bash", "ci.sh"},
					"env":     map[string]any{"DATA": data, "ROOT": root, "OTHER": other, "PORT": strconv.Itoa(port)},
				}, f.env)
				require.NoError(t, err)
				res, err := a.Run(t.Context(), f.ws, io.Discard)
				require.NoError(t, err)
				assert.Contains(t, res.Details, "ATTACK-SUCCEEDED")
			})
		}
		t.Run(at.name, func(t *testing.T) {
			f := newFixture(t)
			f.env.Sandbox = sb
			mark := randomMark(t)
			f.write(t, "ci.sh", at.script+"\n", 0o644)
			a, err := run.New(actions.Options{
				"command": []any{"/usr/bin/bash", "ci.sh"},
				"env": map[string]any{
					"BOT_PID": strconv.Itoa(os.Getpid()), "DATA": data, "ROOT": root, "OTHER": other,
					"PORT": strconv.Itoa(port), "MARK": mark,
				},
				"token": true,
			}, f.env)
			require.NoError(t, err)
			var log bytes.Buffer
			res, err := a.Run(t.Context(), f.ws, &log)
			require.NoError(t, err)
			assert.Equal(t, actions.Failure, res.Conclusion, res.Details)
			assert.NotContains(t, res.Details, "ATTACK-SUCCEEDED")
			assert.NotContains(t, res.Details, testToken)
			assert.NotContains(t, log.String(), testToken)
			assert.Empty(t, markedProcesses(t, mark))
		})
	}
	assert.Equal(t, int32(1), accepted.Load(), "the listener was reached other than with the sandbox off")
	assert.NoFileExists(t, "/tmp/hubbot-sandbox-escape")
	b, err := os.ReadFile(filepath.Join(other, "model.py"))
	require.NoError(t, err)
	assert.Equal(t, "weights", string(b))
}

// canReadOwnEnviron tells whether this process may read the environment
// of its own (dumpable) children, which markedProcesses relies on.
func canReadOwnEnviron() bool {
	cmd := exec.Command("sleep", "5")
	if cmd.Start() != nil {
		return false
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	_, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
	return err == nil
}

// TestSandboxAllowsTheJob checks that the command can still do its work:
// read and write its checkout, its home and temporary directory, run the
// system's tools.
func TestSandboxAllowsTheJob(t *testing.T) {
	sb := newSandbox(t, 1, t.TempDir())
	f := newFixture(t)
	f.env.Sandbox = sb
	f.write(t, "input.txt", "hello\n", 0o644)
	a, err := run.New(actions.Options{
		"command": []any{"/usr/bin/bash", "-c", `set -e
cat input.txt
echo result > out/result.txt
echo home > "$HOME/file"; cat "$HOME/file"
t=$(mktemp); echo tmp > "$t"; cat "$t"
ls /usr/bin > /dev/null
/usr/bin/python3 -c 'print("python ok")'
id -u`},
		"outputs": []any{"out/**"},
	}, f.env)
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(filepath.Join(f.ws.Dir, "out"), 0o755))
	var log bytes.Buffer
	res, err := a.Run(t.Context(), f.ws, &log)
	require.NoError(t, err)
	require.Equal(t, actions.Success, res.Conclusion, log.String())
	assert.Contains(t, res.Details, "hello\nhome\ntmp\npython ok\n")
	if os.Geteuid() == 0 {
		assert.Contains(t, res.Details, fmt.Sprintf("\n%d\n", sandbox.DefaultUID), "root runs commands as nobody")
	}
	require.NotNil(t, res.Proposal)
	assert.Len(t, res.Proposal.Files, 1)
}

// TestSandboxNothingOutlivesTheJob: setsid and double-forked processes are
// dead when the job ends, whether the command exits, times out or is
// cancelled, and the file a sleeper meant to write later never appears.
func TestSandboxNothingOutlivesTheJob(t *testing.T) {
	sb := newSandbox(t, 1, t.TempDir())
	// Each detached process writes its file once the test, after the job
	// ended, creates $GO: a file appears only if one of them survived.
	const detach = `setsid bash -c 'until [ -e "$GO" ]; do sleep 0.05; done; echo late > "$LATE"' &
( ( until [ -e "$GO" ]; do sleep 0.05; done; echo late > "$LATE.2" ) & ) &
nohup bash -c 'trap "" TERM HUP; until [ -e "$GO" ]; do sleep 0.05; done; echo late > "$LATE.3"' >/dev/null 2>&1 &
`
	tests := []struct {
		name    string
		script  string
		timeout time.Duration
		cancel  bool
	}{
		{"the command exits", detach + "echo started\n", 0, false},
		{"the command times out", detach + "echo started\nsleep 100\n", 3 * time.Second, false},
		{"the job is cancelled", detach + "echo started\n: > \"$GO.up\"\nsleep 100\n", 0, true},
		{"a fork bomb", "echo started\nbomb() { bomb | bomb & }; bomb\nsleep 100\n", 2 * time.Second, false},
		// The spawner's thread that started the command is in the
		// command's Landlock domain: without root in the way, the command
		// can signal it, which ends the spawner and the command with it.
		{"the command kills its spawner", detach + "echo started\nfor t in /proc/$PPID/task/*; do kill -KILL ${t##*/}; done\nsleep 100\n", 3 * time.Second, false},
		{"the command stops its spawner", detach + "echo started\nfor t in /proc/$PPID/task/*; do kill -STOP ${t##*/}; done\nsleep 100\n", 3 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.env.Sandbox = sb
			mark := randomMark(t)
			late := filepath.Join(f.ws.Dir, "late")
			a, err := run.New(actions.Options{
				"command":    []any{"/usr/bin/bash", "-c", tt.script},
				"env":        map[string]any{"LATE": late, "GO": filepath.Join(f.ws.Dir, "go"), "MARK": mark},
				"kill_grace": "200ms",
			}, f.env)
			require.NoError(t, err)
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			if tt.cancel {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				go func() {
					// Once the script has started the detached ones.
					assert.Eventually(t, func() bool {
						_, err := os.Stat(filepath.Join(f.ws.Dir, "go.up"))
						return err == nil
					}, 10*time.Second, 10*time.Millisecond)
					cancel()
				}()
			}
			var log bytes.Buffer
			_, err = a.Run(ctx, f.ws, &log)
			assert.Contains(t, log.String(), "started")
			assert.Empty(t, markedProcesses(t, mark), "processes of the job are alive after it ended")
			require.NoError(t, os.WriteFile(filepath.Join(f.ws.Dir, "go"), nil, 0o644))
			assert.Never(t, func() bool {
				for _, p := range []string{late, late + ".2", late + ".3"} {
					if _, err := os.Stat(p); err == nil {
						return true
					}
				}
				return false
			}, time.Second, 50*time.Millisecond, "a detached process wrote its file")
		})
	}
}

// TestSandboxConfinesTheCommand reads what the kernel says of a sandboxed
// command: no_new_privs, equal soft and hard limits and, when the bot is
// root, another user without any capability.
func TestSandboxConfinesTheCommand(t *testing.T) {
	sb := newSandbox(t, 1, t.TempDir())
	f := newFixture(t)
	f.env.Sandbox = sb
	a, err := run.New(actions.Options{"command": []any{"/usr/bin/cat", "/proc/self/status", "/proc/self/limits"}}, f.env)
	require.NoError(t, err)
	var log bytes.Buffer
	res, err := a.Run(t.Context(), f.ws, &log)
	require.NoError(t, err)
	require.Equal(t, actions.Success, res.Conclusion, log.String())
	for _, want := range []string{
		`NoNewPrivs:\s+1\n`,
		`Max cpu time\s+60\s+60\s`,
		`Max processes\s+64\s+64\s`,
		`Max open files\s+1024\s+1024\s`,
		`Max file size\s+21474836480\s+21474836480\s`,
		`Max address space\s+34359738368\s+34359738368\s`,
	} {
		assert.Regexp(t, want, res.Details)
	}
	// No descriptor of the bot, the supervisor or the spawner reaches the
	// command: ls sees its standard streams and the directory it lists.
	a, err = run.New(actions.Options{"command": []any{"/usr/bin/ls", "/proc/self/fd"}}, f.env)
	require.NoError(t, err)
	fds, err := a.Run(t.Context(), f.ws, &log)
	require.NoError(t, err)
	assert.Contains(t, fds.Details, "```text\n0\n1\n2\n3\n```", log.String())
	if os.Geteuid() == 0 {
		uid := strconv.Itoa(sandbox.DefaultUID)
		assert.Regexp(t, `Uid:\s+`+uid+`\s+`+uid+`\s+`+uid+`\s+`+uid+`\n`, res.Details)
		assert.Regexp(t, `Groups:\s*\n`, res.Details)
		for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
			assert.Regexp(t, set+`:\s+0+\n`, res.Details)
		}
	}
}

// TestSandboxSmallAddressSpace: an address-space cap below what a Go
// process reserves applies to the commands, not to the spawner that
// starts them, which keeps serving.
func TestSandboxSmallAddressSpace(t *testing.T) {
	if s := sandbox.Probe(); s.ABI < 1 {
		t.Skipf("needs Landlock; the kernel offers %s", s)
	}
	cfg := sandbox.DefaultConfig()
	cfg.Limits.AddressSpace = 512 << 20
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	f := newFixture(t)
	f.env.Sandbox = sb
	a, err := run.New(actions.Options{"command": []any{"/usr/bin/bash", "-c", "echo hi; grep -E 'Max address' /proc/self/limits"}}, f.env)
	require.NoError(t, err)
	for range 10 {
		var log bytes.Buffer
		res, err := a.Run(t.Context(), f.ws, &log)
		require.NoError(t, err)
		require.Equal(t, actions.Success, res.Conclusion, log.String())
		assert.Regexp(t, `Max address space\s+536870912\s+536870912\s`, res.Details)
	}
}

// TestSandboxForkBombIsCapped: the process cap stops a fork bomb inside
// the sandbox; the command fails instead of the machine.
func TestSandboxForkBombIsCapped(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("RLIMIT_NPROC counts every process of the user; run as root, commands get a user of their own")
	}
	sb := newSandbox(t, 1, t.TempDir())
	f := newFixture(t)
	f.env.Sandbox = sb
	a, err := run.New(actions.Options{
		"command": []any{"/usr/bin/python3", "-c", `import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        n += 1
except OSError as e:
    print("fork failed after", n, "processes:", e.strerror)`},
	}, f.env)
	require.NoError(t, err)
	var log bytes.Buffer
	res, err := a.Run(t.Context(), f.ws, &log)
	require.NoError(t, err)
	assert.Contains(t, res.Details, "fork failed after")
	assert.Contains(t, res.Details, "Resource temporarily unavailable")
}

// TestSandboxRedactsEncodings: the token, printed by the command in the
// encodings a script would use to smuggle it out, reaches neither the
// details nor the log.
func TestSandboxRedactsEncodings(t *testing.T) {
	sb := newSandbox(t, 1, t.TempDir())
	f := newFixture(t)
	f.env.Sandbox = sb
	a, err := run.New(actions.Options{
		"command": []any{"/usr/bin/bash", "-c", `for p in "" x xy; do
  printf '%s%s' "$p" "$HF_TOKEN" | base64 -w0; echo
  printf '%s%s' "$p" "$HF_TOKEN" | basenc --base64url -w0; echo
  printf '%s%s' "$p" "$HF_TOKEN" | base64 -w0 | tr -d =; echo
done
printf '%s' "$HF_TOKEN" | xxd -p -c 1000
printf '%s' "$HF_TOKEN" | basenc --base16 -w0; echo
/usr/bin/python3 -c 'import os, urllib.parse; print(urllib.parse.quote(os.environ["HF_TOKEN"], safe=""))'
echo "$HF_TOKEN"`},
		"token": true,
	}, f.env)
	require.NoError(t, err)
	var log bytes.Buffer
	res, err := a.Run(t.Context(), f.ws, &log)
	require.NoError(t, err)
	require.Equal(t, actions.Success, res.Conclusion, log.String())

	var forms []string
	for _, p := range []string{"", "x", "xy"} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			full := enc.EncodeToString([]byte(p + testToken))
			forms = append(forms, full, full[4:len(full)-4])
		}
	}
	forms = append(forms, testToken, hex.EncodeToString([]byte(testToken)), strings.ToUpper(hex.EncodeToString([]byte(testToken))), url.QueryEscape(testToken))
	for _, out := range []string{res.Details, log.String()} {
		for _, form := range forms {
			assert.NotContains(t, out, form)
		}
	}
	assert.Equal(t, 13, strings.Count(res.Details, "[redacted]"), res.Details)
}

// TestSandboxModeOff runs the command unconfined, as the config asked.
func TestSandboxModeOff(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Mode = sandbox.ModeOff
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	require.NoError(t, sb.Ready())
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("readable"), 0o644))
	require.NoError(t, os.Chmod(filepath.Dir(secret), 0o755))
	f := newFixture(t)
	f.env.Sandbox = sb
	a, err := run.New(actions.Options{"command": []any{"cat", secret}}, f.env)
	require.NoError(t, err)
	var log bytes.Buffer
	res, err := a.Run(t.Context(), f.ws, &log)
	require.NoError(t, err)
	assert.Equal(t, actions.Success, res.Conclusion, log.String())
	assert.Contains(t, res.Details, "readable")
}

// TestSandboxRefusedWithoutLandlock: on a kernel without Landlock nothing
// runs, and the report says why in one line.
func TestSandboxRefusedWithoutLandlock(t *testing.T) {
	if s := sandbox.Probe(); s.ABI > 0 {
		t.Skipf("the kernel has %s; the refusal shows only where it has none", s)
	}
	sb, err := sandbox.New(sandbox.DefaultConfig())
	require.NoError(t, err)
	f := newFixture(t)
	f.env.Sandbox = sb
	a, err := run.New(actions.Options{"command": []any{"true"}}, f.env)
	require.NoError(t, err)
	res, err := a.Run(t.Context(), f.ws, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, actions.Failure, res.Conclusion)
	assert.Contains(t, res.Summary, "was not run")
	assert.NotContains(t, res.Summary, "\n")
}

// TestPrivileged names what makes an action privileged.
func TestPrivileged(t *testing.T) {
	tests := []struct {
		name string
		opts actions.Options
		want []string
	}{
		{"plain", actions.Options{"command": []any{"true"}, "env": map[string]any{"A": "b"}}, nil},
		{"token", actions.Options{"command": []any{"true"}, "token": true}, []string{"token = true gives the command the Hub token"}},
		{"pass_env", actions.Options{"command": []any{"true"}, "pass_env": []any{"WANDB_API_KEY"}}, []string{"pass_env gives the command WANDB_API_KEY from the bot's environment"}},
		{"outputs", actions.Options{"command": []any{"true"}, "outputs": []any{"onnx/**"}}, []string{"outputs open a pull request with files the command wrote"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := run.New(tt.opts, run.Env{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, a.Privileged())
			assert.Equal(t, tt.want != nil, a.IsPrivileged())
		})
	}
}

const helperEnv = "HUBBOT_TEST_HELPER_BOT"

// helperBot is the test binary playing the bot in a process of its own,
// so that a test can kill it with SIGKILL: it runs the command given in
// its environment in the sandbox and never returns on its own.
func helperBot() int {
	cfg := sandbox.DefaultConfig()
	cfg.StateDir = os.Getenv("HELPER_STATE")
	sb, err := sandbox.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	a, err := run.New(actions.Options{
		"command": []any{"/usr/bin/bash", "-c", os.Getenv("HELPER_SCRIPT")},
		"env":     map[string]any{"MARK": os.Getenv("HELPER_MARK"), "LATE": os.Getenv("HELPER_LATE")},
	}, run.Env{TempDir: os.Getenv("HELPER_TEMP"), Sandbox: sb})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_, err = a.Run(context.Background(), &actions.Workspace{Dir: os.Getenv("HELPER_DIR")}, os.Stdout)
	fmt.Fprintln(os.Stderr, "helper: the command ended:", err)
	return 1
}

// startHelperBot starts the helper bot with script in the checkout dir
// ($LATE is dir/late) and waits until the command's processes (at least
// want of them) are up.
func startHelperBot(t *testing.T, script, mark, dir, state string, want int) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"=1", "HELPER_SCRIPT="+script, "HELPER_MARK="+mark, "HELPER_LATE="+filepath.Join(dir, "late"),
		"HELPER_TEMP="+t.TempDir(), "HELPER_DIR="+dir, "HELPER_STATE="+state)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, func() bool { return len(markedProcesses(t, mark)) >= want }, 10*time.Second, 10*time.Millisecond, "helper: %s", &stderr)
	return cmd
}

const sleepers = `setsid bash -c 'until [ -e "$LATE.go" ]; do sleep 0.05; done; echo late > "$LATE"' &
( ( sleep 100 ) & ) &
sleep 100
`

// TestSandboxBotKilled: a kill -9 of the bot during a sandboxed command
// leaves nothing behind: the supervisor hears of it and kills the lot.
func TestSandboxBotKilled(t *testing.T) {
	newSandbox(t, 1, "")
	mark := randomMark(t)
	dir := t.TempDir()
	late := filepath.Join(dir, "late")
	bot := startHelperBot(t, sleepers, mark, dir, t.TempDir(), 4)
	require.NoError(t, bot.Process.Signal(syscall.SIGKILL))
	_ = bot.Wait()
	require.Eventually(t, func() bool { return len(markedProcesses(t, mark)) == 0 }, 10*time.Second, 10*time.Millisecond,
		"processes of the job outlived the bot")
	require.NoError(t, os.WriteFile(late+".go", nil, 0o644))
	assert.Never(t, func() bool { _, err := os.Stat(late); return err == nil }, time.Second, 50*time.Millisecond)
}

// TestSandboxSweep: when the bot and the supervisor die together, what
// stayed in the command's session is killed by the next start's Sweep,
// before any job runs.
func TestSandboxSweep(t *testing.T) {
	newSandbox(t, 1, "")
	mark := randomMark(t)
	state := t.TempDir()
	// The helper, bash and two sleeps (the supervisor and the spawner do
	// not have the command's environment).
	bot := startHelperBot(t, "sleep 100 &\nsleep 100 &\nwait\n", mark, t.TempDir(), state, 4)
	records, err := filepath.Glob(filepath.Join(state, "run-*"))
	require.NoError(t, err)
	require.Len(t, records, 1, "the supervisor records itself before it starts the command")
	b, err := os.ReadFile(records[0])
	require.NoError(t, err)
	supervisor, err := strconv.Atoi(strings.Fields(string(b))[0])
	require.NoError(t, err)
	// Kill the supervisor first so that it cannot clean up.
	require.NoError(t, syscall.Kill(supervisor, syscall.SIGKILL))
	require.NoError(t, bot.Process.Signal(syscall.SIGKILL))
	_ = bot.Wait()
	require.Eventually(t, func() bool { return len(markedProcesses(t, mark)) == 2 }, 10*time.Second, 10*time.Millisecond,
		"the two sleeps outlive the command (its Pdeathsig, after the spawner's), nothing else")

	cfg := sandbox.DefaultConfig()
	cfg.StateDir = state
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	killed, err := sb.Sweep()
	require.NoError(t, err)
	assert.Equal(t, 2, killed)
	require.Eventually(t, func() bool { return len(markedProcesses(t, mark)) == 0 }, 10*time.Second, 10*time.Millisecond)
	records, err = filepath.Glob(filepath.Join(state, "run-*"))
	require.NoError(t, err)
	assert.Empty(t, records)
}

// BenchmarkTrue measures the sandbox's cost on a command that does
// nothing: `true` run directly and in the sandbox, in the same run. The
// sandboxed run includes starting its supervisor, which later commands
// reuse; the sandbox is closed before the CPU time is read, so that the
// supervisor's and the spawner's own time count too.
func BenchmarkTrue(b *testing.B) {
	newSandbox(b, 1, "")
	for _, name := range []string{"direct", "sandboxed"} {
		b.Run(name, func(b *testing.B) {
			var self, children [2]syscall.Rusage
			require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &self[0]))
			require.NoError(b, syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children[0]))
			var sb *sandbox.Sandbox
			if name == "sandboxed" {
				sb = newSandbox(b, 1, b.TempDir())
			}
			a, err := run.New(actions.Options{"command": []any{"/usr/bin/true"}}, run.Env{TempDir: b.TempDir(), Sandbox: sb})
			require.NoError(b, err)
			ws := &actions.Workspace{Dir: b.TempDir()}
			for b.Loop() {
				res, err := a.Run(b.Context(), ws, io.Discard)
				if err != nil || res.Conclusion != actions.Success {
					b.Fatalf("%v %v", res.Summary, err)
				}
			}
			if sb != nil {
				require.NoError(b, sb.Close())
			}
			require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &self[1]))
			require.NoError(b, syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children[1]))
			// CPU time of the processes started (supervisor, spawner and
			// command), which unlike wall time does not depend on how busy
			// the machine is, and of the bot's own work for them.
			perOp := func(ru [2]syscall.Rusage) float64 {
				cpu := ru[1].Utime.Nano() + ru[1].Stime.Nano() - ru[0].Utime.Nano() - ru[0].Stime.Nano()
				return float64(cpu) / 1e6 / float64(b.N)
			}
			b.ReportMetric(perOp(children), "child-cpu-ms/op")
			b.ReportMetric(perOp(self), "bot-cpu-ms/op")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}
