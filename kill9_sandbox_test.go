package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// TestKill9DuringASandboxedCommand kills the bot with SIGKILL while a
// sandboxed command runs, and starts it again: no process of the old run
// survives the restart, and the job runs to completion once, never twice
// at the same time. In the second case the supervisor is killed too (as
// the OOM killer or a container stop might), so that only the sweep at
// start can find what the command left in its session.
func TestKill9DuringASandboxedCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if s := sandbox.Probe(); s.ABI < 1 {
		t.Skipf("needs Landlock; the kernel offers %s", s)
	}
	t.Run("bot", func(t *testing.T) { kill9(t, false) })
	t.Run("bot and supervisor", func(t *testing.T) { kill9(t, true) })
}

// oldProcess names a process across pid reuse.
type oldProcess struct {
	pid   int
	start string
	line  string
}

func (p oldProcess) alive() bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	return err == nil && !isZombie(st) && statField(st, 22) == p.start
}

// statField is field n (1-based, as in proc(5)) of /proc/PID/stat.
func statField(stat []byte, n int) string {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(stat[i+1:]))
	if n-3 < 0 || n-3 >= len(f) {
		return ""
	}
	return f[n-3]
}

// runProcesses lists the live processes whose environment or command line
// holds marker, with what names them.
func runProcesses(marker string) []oldProcess {
	var out []oldProcess
	for _, line := range processesWith(marker) {
		pidText, rest, _ := strings.Cut(line, " ")
		pid, _ := strconv.Atoi(pidText)
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		out = append(out, oldProcess{pid: pid, start: statField(st, 22), line: rest})
	}
	return out
}

// mainScripts counts the live copies of the command's main script: sh
// with the script's name as its last argument. Its own forks carry its
// command line until they exec: a copy whose parent is a copy is one of
// those. (The supervisor's command line holds the name too, in its plan.)
func mainScripts(marker string) int { return len(mainScriptList(marker)) }

func mainScriptList(marker string) []string {
	isMain := func(pid int) bool {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		return len(args) > 2 && args[0] == "sh" && args[len(args)-1] == "kill9-main-"+marker
	}
	var list []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !isMain(pid) {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || isZombie(st) {
			continue
		}
		if ppid, _ := strconv.Atoi(statField(st, 4)); !isMain(ppid) {
			list = append(list, string(st))
		}
	}
	return list
}

func kill9(t *testing.T, supervisorToo bool) {
	bin, err := buildBinary()
	require.NoError(t, err)
	hub := hubtest.NewServer()
	defer hub.Close()
	alice, botUser := hub.AddUser("alice"), hub.AddUser("hubbot-ci")
	_, err = hub.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte("# tiny\n")}})
	require.NoError(t, err)

	marker := randomHex(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	// The main script ticks for a few seconds; its child sleeps in the
	// background, in the command's session, without a parent-death signal.
	script := `echo started; sh -c 'sleep 300; :' kill9-child-$KILL9_MARKER & i=0; while [ $i -lt 25 ]; do echo tick $i; sleep 0.2; i=$((i+1)); done; echo finished`
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`
[server]
shutdown_grace = "1s"
[hub]
endpoint = %q
[store]
data_dir = %q
[[actions]]
name = "slow"
uses = "run"
on = ["push"]
[actions.with]
command = ["sh", "-c", %q, "kill9-main-%s"]
env = { KILL9_MARKER = %q }
`, hub.URL, filepath.Join(dir, "data"), script, marker, marker)), 0o600))
	env := []string{"HF_TOKEN=" + botUser.Token, "WEBHOOK_SECRET=" + attackWebhookSecret, "HUBBOT_ADMIN_TOKEN=" + attackAdminToken, "HOME=" + dir}

	// Never two copies of the script at once, before or after the restart.
	var most atomic.Int64
	stop := make(chan struct{})
	var watching sync.WaitGroup
	watching.Add(1)
	go func() {
		defer watching.Done()
		for {
			list := mainScriptList(marker)
			if n := int64(len(list)); n > most.Load() {
				most.Store(n)
				if n > 1 {
					t.Logf("copies: %q", list)
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); watching.Wait() }()

	first := startBot(t, bin, env, cfg)
	_, err = hub.AddWebhook(hubtest.Webhook{URL: first.base + "/webhooks/hub", Secret: attackWebhookSecret, Domains: []string{"repo"}})
	require.NoError(t, err)
	sha, err := hub.Push(alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)

	// Wait for the command and its child to run, then note every process
	// of the run.
	var old []oldProcess
	started := assert.Eventually(t, func() bool {
		old = runProcesses(marker)
		child := false
		for _, p := range old {
			child = child || strings.Contains(p.line, "kill9-child-"+marker)
		}
		return child && mainScripts(marker) == 1
	}, 60*time.Second, 20*time.Millisecond, "the command never started")
	if !started {
		first.cmd.Process.Kill()
		first.cmd.Wait()
		t.Fatalf("the bot said:\n%s", first.out)
	}
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	if supervisorToo {
		// The script's session is its supervisor's: its id is the pid.
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", old[0].pid))
		require.NoError(t, err)
		supervisor, err := strconv.Atoi(statField(st, 6))
		require.NoError(t, err)
		require.NoError(t, syscall.Kill(supervisor, syscall.SIGKILL))
	}
	first.cmd.Wait()
	if supervisorToo {
		// Nothing but the sweep will kill the child now: check it is there
		// for the sweep to find.
		time.Sleep(200 * time.Millisecond)
		var left []string
		for _, p := range old {
			if p.alive() {
				left = append(left, p.line)
			}
		}
		require.NotEmpty(t, left, "the child should outlive a supervisor killed with SIGKILL, for the sweep to find")
	}

	second := startBot(t, bin, env, cfg)
	// The sweep runs before the bot serves.
	for _, p := range old {
		assert.False(t, p.alive(), "process %d of the old run is alive after the restart: %s", p.pid, p.line)
	}
	api := newBotAPI(t, second.base)
	job := api.waitJob(t, sha, 90*time.Second)
	assert.Equal(t, "succeeded", job.State)
	full := api.job(t, job.ID)
	assert.Equal(t, 1, strings.Count(full.Log, "\nfinished\n"), "the command completed once:\n%s", full.Log)
	var ofSHA []string
	for _, j := range api.jobs(t) {
		if j.Spec.SHA == sha {
			ofSHA = append(ofSHA, fmt.Sprintf("%d %s attempt %d", j.ID, j.State, j.Attempt))
		}
	}
	assert.Len(t, ofSHA, 1, "one job for the push")
	assert.Empty(t, runProcesses(marker), "processes of the run alive after the job ended")
	assert.Equal(t, int64(1), most.Load(), "copies of the script seen running at once")

	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	second.cmd.Wait()
	if supervisorToo {
		assert.Contains(t, second.out.String(), "sandbox: killed processes a previous run left behind")
	}
}

// TestCommandThatKillsItsSupervisorLeavesNothing: where a command may
// signal its supervisor (the bot not root and Landlock below ABI 6; here
// the sandbox is off, which allows the same), it can kill it with SIGKILL
// after moving a process to a session of its own (its parent is the
// spawner; the supervisor is the spawner's parent). That process becomes
// the bot's (a subreaper), which kills it when the command's run ends.
func TestCommandThatKillsItsSupervisorLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildBinary()
	require.NoError(t, err)
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	alice, botUser := hub.AddUser("alice"), hub.AddUser("hubbot-ci")
	_, err = hub.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte("# tiny\n")}})
	require.NoError(t, err)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
[server]
shutdown_grace = "1s"
[hub]
endpoint = %q
[store]
data_dir = %q
[sandbox]
mode = "off"
[[actions]]
name = "ci"
uses = "run"
on = ["pull_request"]
[actions.with]
command = ["sh", "ci.sh"]
`, hub.URL, filepath.Join(dir, "data"))), 0o600))
	var attr *syscall.SysProcAttr
	if os.Geteuid() == 0 {
		// As root the command runs as another user and cannot signal the
		// supervisor: run the bot as an ordinary user.
		attr = runAsUser(t, bin, dir, 1000)
	}
	bot := startBotWith(t, bin, []string{"HF_TOKEN=" + botUser.Token, "WEBHOOK_SECRET=" + attackWebhookSecret,
		"HUBBOT_ADMIN_TOKEN=" + attackAdminToken, "HOME=" + dir}, cfgPath, attr)
	_, err = hub.AddWebhook(hubtest.Webhook{URL: bot.base + "/webhooks/hub", Secret: attackWebhookSecret, Domains: []string{"repo", "discussion"}})
	require.NoError(t, err)

	marker := "hubbot-escape-" + randomHex(t)
	script := fmt.Sprintf(`setsid -f sh -c 'sleep 120; :' %[1]s-setsid
(setsid sh -c 'sleep 120; :' %[1]s-double &) 
sleep 0.5
supervisor=$(awk '/^PPid:/ { print $2 }' /proc/$PPID/status)
kill -9 $supervisor
echo "kill said $?"
sleep 120
`, marker)
	pr, err := hub.OpenPR(alice, "alice/tiny", "Speed up the tests", "", hubtest.Change{Files: map[string][]byte{"ci.sh": []byte(script)}})
	require.NoError(t, err)
	api := newBotAPI(t, bot.base)
	job := api.waitJob(t, pr.SHA, 2*time.Minute)
	full := api.job(t, job.ID)
	assert.Contains(t, full.Log, "the supervisor ended without a report", "the command killed its supervisor")
	assert.Empty(t, processesWith(marker), "processes of the command alive after its run")
	time.Sleep(500 * time.Millisecond)
	assert.Empty(t, processesWith(marker), "processes of the command alive after its run")

	require.NoError(t, bot.cmd.Process.Signal(syscall.SIGTERM))
	bot.cmd.Wait()
}
