package run_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/run"
	"github.com/hubbot/hubbot/lfs"
)

const testToken = "hf_test-token-value-0123456789"

// fixture is a workspace and the bot's environment for one test.
type fixture struct {
	ws   *actions.Workspace
	env  run.Env
	temp string // Env.TempDir, to check that homes are removed
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	temp := t.TempDir()
	return &fixture{
		ws: &actions.Workspace{
			Dir:  dir,
			Repo: actions.Repo{ID: "alice/tiny", Type: "model"},
			Ref:  "refs/pr/3",
			SHA:  strings.Repeat("ab", 20),
		},
		env: run.Env{
			Token:     testToken,
			Endpoint:  "http://127.0.0.1:1",
			Path:      os.Getenv("PATH"),
			TempDir:   temp,
			LookupEnv: func(string) (string, bool) { return "", false },
		},
		temp: temp,
	}
}

func (f *fixture) write(t *testing.T, name, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(f.ws.Dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), mode))
}

// run builds the action from opts and runs it with ctx.
func (f *fixture) run(t *testing.T, ctx context.Context, opts actions.Options) (actions.Result, string, error) {
	t.Helper()
	a, err := run.New(opts, f.env)
	require.NoError(t, err)
	var log bytes.Buffer
	res, err := a.Run(ctx, f.ws, &log)
	entries, rerr := os.ReadDir(f.temp)
	require.NoError(t, rerr)
	assert.Empty(t, entries, "the command's home directory is removed")
	return res, log.String(), err
}

func sh(script string) actions.Options {
	return actions.Options{"command": []any{"sh", "-c", script}}
}

func TestNewOptionErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    actions.Options
		wantKey string
		wantMsg string
	}{
		{"no command", actions.Options{}, "command", "required"},
		{"empty command", actions.Options{"command": []any{}}, "command", "required"},
		{"empty program", actions.Options{"command": []any{" ", "x"}}, "command.0", "must not be empty"},
		{"command as a string", actions.Options{"command": "ls -l"}, "command", ""},
		{"unknown key", actions.Options{"command": []any{"true"}, "shell": true}, "shell", "unknown option"},
		{"bad env name", actions.Options{"command": []any{"true"}, "env": map[string]any{"A-B": "1"}}, "env.A-B", "not a variable name"},
		{"env sets a secret", actions.Options{"command": []any{"true"}, "env": map[string]any{"WEBHOOK_SECRET": "x"}}, "env.WEBHOOK_SECRET", "secret of the bot"},
		{"env sets the token", actions.Options{"command": []any{"true"}, "env": map[string]any{"HF_TOKEN": "x"}}, "env.HF_TOKEN", "token = true"},
		{"env sets a hubbot variable", actions.Options{"command": []any{"true"}, "env": map[string]any{"HUBBOT_SHA": "x"}}, "env.HUBBOT_SHA", "belong to the bot"},
		{"pass_env of the admin token", actions.Options{"command": []any{"true"}, "pass_env": []any{"HUBBOT_ADMIN_TOKEN"}}, "pass_env.0", "belong to the bot"},
		{"pass_env of the LLM key", actions.Options{"command": []any{"true"}, "pass_env": []any{"OK", "llm_api_key"}}, "pass_env.1", "secret of the bot"},
		{"pass_env and env", actions.Options{"command": []any{"true"}, "pass_env": []any{"A"}, "env": map[string]any{"A": "1"}}, "pass_env.0", "also set in env"},
		{"bad output pattern", actions.Options{"command": []any{"true"}, "outputs": []any{"out/[x"}}, "outputs.0", "bad segment"},
		{"outputs only exclude", actions.Options{"command": []any{"true"}, "outputs": []any{"!out/**"}}, "outputs", "only exclusions"},
		{"bad lfs pattern", actions.Options{"command": []any{"true"}, "lfs": []any{"*.bin", ""}}, "lfs.1", "empty"},
		{"output limit too small", actions.Options{"command": []any{"true"}, "output_limit": "10B"}, "output_limit", "between"},
		{"output limit unreadable", actions.Options{"command": []any{"true"}, "output_limit": "lots"}, "output_limit", "is not a size"},
		{"output limit of a wrong type", actions.Options{"command": []any{"true"}, "output_limit": true}, "output_limit", "want a size"},
		{"bad kill grace", actions.Options{"command": []any{"true"}, "kill_grace": "soon"}, "kill_grace", "want a duration"},
		{"negative kill grace", actions.Options{"command": []any{"true"}, "kill_grace": "-1s"}, "kill_grace", "want a duration"},
		{"short title", actions.Options{"command": []any{"true"}, "title": "x"}, "title", "3 to 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run.New(tt.opts, run.Env{})
			var oe *actions.OptionError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, tt.wantKey, oe.Key)
			assert.Contains(t, oe.Msg, tt.wantMsg)
		})
	}

	valid := []actions.Options{
		{"command": []any{"true"}},
		{"command": []any{"true"}, "output_limit": int64(4096), "kill_grace": "250ms", "token": true,
			"env": map[string]any{"PYTHONUNBUFFERED": "1"}, "pass_env": []any{"WANDB_API_KEY"},
			"outputs": []any{"onnx/**", "!onnx/tmp/**"}, "title": "Add ONNX", "description": "By hubbot."},
		{"command": []any{"true"}, "output_limit": "2MiB"},
	}
	for _, opts := range valid {
		_, err := run.New(opts, run.Env{})
		assert.NoError(t, err, "%v", opts)
	}
}

func TestRunExitStatus(t *testing.T) {
	tests := []struct {
		name        string
		opts        actions.Options
		setup       func(t *testing.T, f *fixture)
		want        actions.Conclusion
		wantSummary string
		wantDetails string
	}{
		{"success", sh("echo hello"), nil, actions.Success, "succeeded", "hello"},
		{"exit code", sh("echo bad >&2; exit 3"), nil, actions.Failure, "failed with exit code 3", "bad"},
		{"killed by a signal", sh("kill -9 $$"), nil, actions.Failure, "was killed by signal 9", "printed nothing"},
		{"program not on PATH", actions.Options{"command": []any{"no-such-program-hubbot"}}, nil, actions.Failure,
			"could not start: `no-such-program-hubbot` is not in the command's PATH.", ""},
		{"script of the repo", actions.Options{"command": []any{"./check.sh", "arg one"}},
			func(t *testing.T, f *fixture) { f.write(t, "check.sh", "#!/bin/sh\necho \"checked $1\"\n", 0o755) },
			actions.Success, "succeeded", "checked arg one"},
		{"missing script", actions.Options{"command": []any{"./missing.sh"}}, nil, actions.Failure, "could not start", ""},
		{"script without the exec bit", actions.Options{"command": []any{"./check.sh"}},
			func(t *testing.T, f *fixture) { f.write(t, "check.sh", "#!/bin/sh\necho hi\n", 0o644) },
			actions.Failure, "could not start: permission denied", ""},
		{"stdin is closed", sh(`cat; read line; echo "read exit $?"`), nil, actions.Success, "succeeded", "read exit 1"},
		{"runs in the work tree", sh("cat README.md"),
			func(t *testing.T, f *fixture) { f.write(t, "README.md", "# tiny card\n", 0o644) },
			actions.Success, "succeeded", "# tiny card"},
		{"backticks in the output", sh("printf '```\\nnot a fence end\\n````\\n'"), nil, actions.Success, "succeeded", "`````text\n```\nnot a fence end\n````\n`````"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			res, log, err := f.run(t, t.Context(), tt.opts)
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.Conclusion)
			assert.Contains(t, res.Summary, tt.wantSummary)
			assert.Contains(t, res.Details, tt.wantDetails)
			assert.NotContains(t, res.Summary, f.ws.Dir, "no host paths in what is published")
			assert.Nil(t, res.Proposal)
			assert.Contains(t, log, "run: $ ")
		})
	}
}

func TestRunEnvironment(t *testing.T) {
	// Secrets of the bot's own environment must not reach the command.
	t.Setenv("WEBHOOK_SECRET", "webhook-secret-value")
	t.Setenv("HUBBOT_ADMIN_TOKEN", "admin-token-value")
	t.Setenv("LLM_API_KEY", "llm-key-value")
	t.Setenv("HF_TOKEN", testToken)
	t.Setenv("SOME_PRIVATE_VARIABLE", "private-value")

	f := newFixture(t)
	f.env.LookupEnv = func(name string) (string, bool) {
		if name == "WANDB_API_KEY" {
			return "wandb-value", true
		}
		return "", false
	}
	opts := actions.Options{
		"command":  []any{"env"},
		"env":      map[string]any{"PYTHONUNBUFFERED": "1"},
		"pass_env": []any{"WANDB_API_KEY", "NOT_SET_ANYWHERE"},
	}
	res, log, err := f.run(t, t.Context(), opts)
	require.NoError(t, err)
	require.Equal(t, actions.Success, res.Conclusion)

	vars := map[string]string{}
	for _, line := range strings.Split(res.Details, "\n") {
		if name, value, ok := strings.Cut(line, "="); ok && !strings.Contains(name, " ") {
			vars[name] = value
		}
	}
	for _, secret := range []string{"webhook-secret-value", "admin-token-value", "llm-key-value", "private-value", testToken} {
		assert.NotContains(t, res.Details, secret)
		assert.NotContains(t, log, secret)
	}
	assert.NotContains(t, vars, "HF_TOKEN")
	assert.Equal(t, "alice/tiny", vars["HUBBOT_REPO"])
	assert.Equal(t, "model", vars["HUBBOT_REPO_TYPE"])
	assert.Equal(t, "refs/pr/3", vars["HUBBOT_REF"])
	assert.Equal(t, f.ws.SHA, vars["HUBBOT_SHA"])
	assert.Equal(t, "http://127.0.0.1:1", vars["HF_ENDPOINT"])
	assert.Equal(t, "C.UTF-8", vars["LANG"])
	assert.Equal(t, os.Getenv("PATH"), vars["PATH"])
	assert.Equal(t, "1", vars["PYTHONUNBUFFERED"])
	assert.Equal(t, "[redacted]", vars["WANDB_API_KEY"], "passed, and kept out of the output")
	assert.True(t, strings.HasPrefix(vars["HOME"], f.temp), "HOME is a per-run directory: %s", vars["HOME"])
	assert.Equal(t, vars["HOME"]+"/tmp", vars["TMPDIR"])
	assert.Contains(t, log, "NOT_SET_ANYWHERE is not set")
	assert.NotContains(t, log, "wandb-value", "the log names variables, not values")
	assert.NotContains(t, res.Details, "wandb-value")
}

func TestRunToken(t *testing.T) {
	tests := []struct {
		name        string
		token       bool
		hostToken   string
		script      string
		wantSummary string
		wantOutput  string
	}{
		{"not exposed by default", false, testToken, `echo "token=${HF_TOKEN:-none}"`, "succeeded", "token=none"},
		{"exposed and redacted", true, testToken, `test "$HF_TOKEN" = ` + testToken + ` && echo "token=$HF_TOKEN" && echo "again:$HF_TOKEN."`,
			"succeeded", "token=[redacted]\nagain:[redacted]."},
		{"redacted across writes", true, testToken, `printf '%s' "${HF_TOKEN%????????}"; sleep 0.01; printf '%s\n' "${HF_TOKEN#${HF_TOKEN%????????}}"`,
			"succeeded", "[redacted]"},
		{"redacted even when not exposed", false, testToken, `echo "leaked ` + testToken + `"`, "succeeded", "leaked [redacted]"},
		{"asked for but the bot has none", true, "", `echo "token=${HF_TOKEN:-none}"`, "succeeded", "token=none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.env.Token = tt.hostToken
			opts := sh(tt.script)
			opts["token"] = tt.token
			res, log, err := f.run(t, t.Context(), opts)
			require.NoError(t, err)
			assert.Contains(t, res.Summary, tt.wantSummary)
			assert.Contains(t, res.Details, tt.wantOutput)
			assert.NotContains(t, res.Details, testToken)
			assert.NotContains(t, log, testToken)
		})
	}
}

func TestRunRedactsTheBotsOtherSecrets(t *testing.T) {
	const webhookSecret = "webhook-secret-for-the-redaction-test"
	f := newFixture(t)
	f.env.Secrets = []string{webhookSecret, ""}
	res, log, err := f.run(t, t.Context(), sh(`echo "plain `+webhookSecret+`"; printf %s `+webhookSecret+` | base64`))
	require.NoError(t, err)
	assert.Contains(t, res.Details, "plain [redacted]")
	assert.NotContains(t, res.Details, webhookSecret)
	assert.NotContains(t, res.Details, base64.StdEncoding.EncodeToString([]byte(webhookSecret))[:24])
	assert.NotContains(t, log, webhookSecret)
}

// manualDeadline is a context whose deadline passes when the test says so,
// so that no test depends on how fast the machine is.
type manualDeadline struct {
	context.Context
	done chan struct{}
}

func newManualDeadline(parent context.Context) *manualDeadline {
	return &manualDeadline{Context: parent, done: make(chan struct{})}
}

func (c *manualDeadline) Done() <-chan struct{} { return c.done }
func (c *manualDeadline) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (c *manualDeadline) expire() { close(c.done) }

// readPID waits for the command to write a pid into name.
func readPID(t *testing.T, dir, name string) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !strings.HasSuffix(string(data), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	}, 10*time.Second, 5*time.Millisecond)
	return pid
}

// whenWritten calls fn once the command has written a pid into name, from
// a goroutine of its own; it gives up when the test ends.
func whenWritten(t *testing.T, dir, name string, fn func()) {
	ctx := t.Context()
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil && strings.HasSuffix(string(data), "\n") {
				fn()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// gone reports whether pid no longer runs: absent, or a zombie left for an
// init that does not reap.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) STATE ...: the state follows the last parenthesis.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

func TestRunTimeoutKillsTheProcessGroup(t *testing.T) {
	tests := []struct {
		name   string
		script string
	}{
		{"children that obey SIGTERM", `sleep 1000 & echo $! > child.pid; sleep 1000`},
		{"children that ignore SIGTERM", `trap "" TERM; sleep 1000 & echo $! > child.pid; sh -c 'sleep 1000 & wait'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			opts := sh(tt.script)
			opts["kill_grace"] = "100ms"
			ctx := newManualDeadline(t.Context())
			whenWritten(t, f.ws.Dir, "child.pid", ctx.expire)
			res, log, err := f.run(t, ctx, opts)
			require.NoError(t, err, "a timeout is a result, not an error")
			assert.Equal(t, actions.Failure, res.Conclusion)
			assert.Contains(t, res.Summary, "timed out and was stopped")
			assert.Contains(t, log, "timed out")

			pid := readPID(t, f.ws.Dir, "child.pid")
			assert.Eventually(t, func() bool { return gone(pid) }, 10*time.Second, 10*time.Millisecond,
				"the grandchild %d was killed with its group", pid)
		})
	}
}

func TestRunCancelledIsAnError(t *testing.T) {
	f := newFixture(t)
	opts := sh(`sleep 1000 & echo $! > child.pid; wait`)
	opts["kill_grace"] = "100ms"
	ctx, cancel := context.WithCancelCause(t.Context())
	whenWritten(t, f.ws.Dir, "child.pid", func() { cancel(errors.New("superseded by a newer commit")) })
	_, log, err := f.run(t, ctx, opts)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "superseded by a newer commit")
	assert.Contains(t, log, "was stopped")
	pid := readPID(t, f.ws.Dir, "child.pid")
	assert.Eventually(t, func() bool { return gone(pid) }, 10*time.Second, 10*time.Millisecond)
}

func TestRunBackgroundChildrenDoNotOutliveTheCommand(t *testing.T) {
	f := newFixture(t)
	// The command exits at once; its background child holds the output
	// pipe open and would run for ever.
	res, _, err := f.run(t, t.Context(), sh(`sleep 1000 & echo $! > child.pid; echo started`))
	require.NoError(t, err)
	assert.Equal(t, actions.Success, res.Conclusion)
	assert.Contains(t, res.Details, "started")
	pid := readPID(t, f.ws.Dir, "child.pid")
	assert.Eventually(t, func() bool { return gone(pid) }, 10*time.Second, 10*time.Millisecond)
}

func TestRunReturnsWhenAnEscapedProcessHoldsThePipe(t *testing.T) {
	if _, err := os.Stat("/usr/bin/setsid"); err != nil {
		t.Skip("setsid(1) is not installed")
	}
	f := newFixture(t)
	// The escaped process writes its pid once it runs in its own session,
	// and the command waits for that before it exits.
	opts := sh(`setsid sh -c 'echo $$ > escaped.tmp && mv escaped.tmp escaped.pid && exec sleep 1000' &
		while [ ! -s escaped.pid ]; do sleep 0.01; done; echo done`)
	opts["kill_grace"] = "100ms"
	// Run returns although the escaped process still holds the pipe.
	res, _, err := f.run(t, t.Context(), opts)
	pid := readPID(t, f.ws.Dir, "escaped.pid")
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	require.NoError(t, err)
	assert.False(t, gone(pid), "the escaped process is still running: it held the pipe")
	assert.Equal(t, actions.Success, res.Conclusion)
	assert.Contains(t, res.Details, "done")
}

func TestRunCapsHugeOutput(t *testing.T) {
	f := newFixture(t)
	opts := sh(`echo FIRST-LINE; yes 'filler line of output' | head -c 100000000; echo; echo LAST-LINE`)
	opts["output_limit"] = "64KiB"

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, log, err := f.run(t, t.Context(), opts)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)

	assert.Equal(t, actions.Success, res.Conclusion)
	assert.Contains(t, res.Details, "FIRST-LINE")
	assert.Contains(t, res.Details, "LAST-LINE")
	assert.Contains(t, res.Details, "of output cut here")
	assert.Contains(t, res.Details, "cut from the middle")
	assert.Less(t, len(res.Details), 64<<10+1024, "the kept output stays within the limit")
	assert.Less(t, len(log), 2*(64<<10)+4096)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(16<<20), "reading 100 MB allocated %d bytes", allocated)
}

func TestRunOutputs(t *testing.T) {
	pointer := "version https://git-lfs.github.com/spec/v1\noid sha256:" + strings.Repeat("a", 64) + "\nsize 123\n"
	tests := []struct {
		name        string
		outputs     []any
		script      string
		want        actions.Conclusion
		wantFiles   []string
		wantSummary string
	}{
		{"new and changed files", []any{"**/*.onnx", "README.md", "model.safetensors"},
			`mkdir -p onnx && echo weights > onnx/model.onnx && echo "# new card" > README.md`,
			actions.Success, []string{"README.md", "onnx/model.onnx"}, "wrote 2 output file(s)"},
		{"rewritten with the same content", []any{"README.md"}, `echo "# card" > README.md`,
			actions.Success, nil, "changed no file"},
		{"exclusions", []any{"out/**", "!out/tmp/**"}, `mkdir -p out/tmp && echo a > out/a.txt && echo b > out/tmp/b.txt`,
			actions.Success, []string{"out/a.txt"}, "wrote 1"},
		{"never .git", []any{"**"}, `mkdir -p .git && echo x > .git/config && echo y > y.txt`,
			actions.Success, []string{"y.txt"}, "wrote 1"},
		{"link inside the tree", []any{"out/**"}, `mkdir -p out && ln -s ../README.md out/card.md`,
			actions.Success, []string{"out/card.md"}, "wrote 1"},
		{"link out of the tree", []any{"out/**"}, `mkdir -p out && ln -s /etc/passwd out/passwd && echo a > out/a.txt`,
			actions.Failure, nil, "`out/passwd` is a link out of the work tree"},
		{"link through the parent", []any{"out/**"}, `mkdir -p out && ln -s ../../.. out/up && ln -s up/etc/hostname out/h`,
			actions.Failure, nil, "link out of the work tree"},
		{"special file", []any{"out/**"}, `mkdir -p out && mkfifo out/fifo`,
			actions.Failure, nil, "`out/fifo` is not a regular file"},
		{"failed command proposes nothing", []any{"out/**"}, `mkdir -p out && echo a > out/a.txt; exit 1`,
			actions.Failure, nil, "exit code 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(t, "README.md", "# card\n", 0o644)
			f.write(t, "model.safetensors", pointer, 0o644)
			opts := sh(tt.script)
			opts["outputs"] = tt.outputs
			res, _, err := f.run(t, t.Context(), opts)
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.Conclusion, res.Summary)
			assert.Contains(t, res.Summary, tt.wantSummary)
			if tt.wantFiles == nil {
				assert.Nil(t, res.Proposal)
				return
			}
			require.NotNil(t, res.Proposal)
			var got []string
			for _, pf := range res.Proposal.Files {
				got = append(got, pf.PathInRepo)
				data, err := os.ReadFile(pf.LocalPath)
				require.NoError(t, err)
				assert.NotEmpty(t, data)
				real, err := filepath.EvalSymlinks(pf.LocalPath)
				require.NoError(t, err)
				dir, err := filepath.EvalSymlinks(f.ws.Dir)
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(real, dir+"/"), "%s is in the work tree", real)
			}
			assert.Equal(t, tt.wantFiles, got)
			assert.Equal(t, "Outputs of sh -c "+shellQuoted(tt.script), res.Proposal.Title)
			assert.Contains(t, res.Proposal.Description, "on commit `"+f.ws.SHA+"`")
		})
	}
}

func TestRunProposalText(t *testing.T) {
	f := newFixture(t)
	opts := sh(`echo x > out.txt`)
	opts["outputs"] = []any{"out.txt"}
	opts["title"] = "Add the export"
	opts["description"] = "Exported by the nightly job."
	res, _, err := f.run(t, t.Context(), opts)
	require.NoError(t, err)
	require.NotNil(t, res.Proposal)
	assert.Equal(t, "Add the export", res.Proposal.Title)
	assert.Equal(t, "Exported by the nightly job.", res.Proposal.Description)
	assert.Equal(t, []actions.ProposedFile{{PathInRepo: "out.txt", LocalPath: filepath.Join(f.ws.Dir, "out.txt")}}, res.Proposal.Files)
}

func TestRunWithoutWorkspace(t *testing.T) {
	a, err := run.New(sh("true"), run.Env{})
	require.NoError(t, err)
	_, err = a.Run(t.Context(), &actions.Workspace{Dir: filepath.Join(t.TempDir(), "missing")}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "not a directory")
}

// shellQuoted quotes a script as the display of the argv does.
func shellQuoted(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// fakeContent serves the content of LFS pointers from a map by oid.
type fakeContent struct {
	blobs   map[string]string
	fetched []string
}

func (c *fakeContent) Fetch(ctx context.Context, path string, p lfs.Pointer, w io.Writer) error {
	blob, ok := c.blobs[p.OID]
	if !ok {
		return fmt.Errorf("no content for %s", path)
	}
	c.fetched = append(c.fetched, path)
	_, err := io.WriteString(w, blob)
	return err
}

func pointerOf(content string) string {
	sum := sha256.Sum256([]byte(content))
	return lfs.Pointer{OID: hex.EncodeToString(sum[:]), Size: int64(len(content))}.String()
}

func TestRunMaterialisesLFSFiles(t *testing.T) {
	const weights = "the real weights"
	f := newFixture(t)
	f.write(t, "model.safetensors", pointerOf(weights), 0o644)
	f.write(t, "other.bin", pointerOf("other weights"), 0o644)
	content := &fakeContent{blobs: map[string]string{}}
	for _, c := range []string{weights, "other weights"} {
		sum := sha256.Sum256([]byte(c))
		content.blobs[hex.EncodeToString(sum[:])] = c
	}
	f.ws.Content = content

	opts := sh(`cat model.safetensors; echo; head -c 7 other.bin; echo; echo converted > model.onnx`)
	opts["lfs"] = []any{"*.safetensors"}
	opts["outputs"] = []any{"*.safetensors", "*.onnx"}
	res, log, err := f.run(t, t.Context(), opts)
	require.NoError(t, err)
	assert.Equal(t, actions.Success, res.Conclusion)
	assert.Contains(t, res.Details, weights, "the command reads the content")
	assert.Contains(t, res.Details, "version", "other files stay pointers")
	assert.Equal(t, []string{"model.safetensors"}, content.fetched)
	assert.Contains(t, log, "downloading the content of model.safetensors")
	require.NotNil(t, res.Proposal)
	require.Len(t, res.Proposal.Files, 1, "the downloaded content is not an output")
	assert.Equal(t, "model.onnx", res.Proposal.Files[0].PathInRepo)

	// Content the Hub cannot give is an error, not a verdict on the repo.
	f = newFixture(t)
	f.write(t, "model.safetensors", pointerOf("missing"), 0o644)
	f.ws.Content = &fakeContent{}
	opts = sh(`true`)
	opts["lfs"] = []any{"*.safetensors"}
	_, _, err = f.run(t, t.Context(), opts)
	assert.ErrorContains(t, err, "no content for model.safetensors")
}
