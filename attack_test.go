package main

// The sandbox's proof: a pull request that attacks the bot from inside a
// `run` command, through the real binary (`serve` as a subprocess, so the
// bot is non-dumpable and the sandbox is wired as in production), against
// hubtest. The attacker's tool is testdata/attack; its probes print one
// line each, and the test checks every line, every place a secret could be
// posted or stored, and every process the command started.

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

const (
	attackWebhookSecret = "attack-webhook-secret-0123456789"
	attackAdminToken    = "attack-admin-token-9876543210"
	// attackProcesses is the [sandbox] processes cap of the attacked bot.
	attackProcesses = 128
	// lateDelay is how long the detached sleepers wait after the job's
	// script ended before they write.
	lateDelay = 2 * time.Second
)

// attackTool builds testdata/attack once, static, and returns it gzipped
// and base64-encoded: a text file the Hub keeps out of LFS, as an attacker
// would commit it.
var attackTool = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "hubbot-attack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "attack")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/attack")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build the attack tool: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString(gz.Bytes())
	var lines strings.Builder
	for len(enc) > 76 {
		lines.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	lines.WriteString(enc + "\n")
	return []byte(lines.String()), nil
})

// attackScript is the pull request's ci.sh: the shell attacks of the
// issue, then the tool's probes, then a fork bomb that is still running
// when the script ends.
const attackScript = `export ATTACK_MARKER={{marker}}
try() {
	name=$1; shift
	if out=$("$@" 2>&1); then
		echo "probe $name: OPEN: $(printf %s "$out" | base64 -w0)"
	else
		echo "probe $name: blocked: $(printf %s "$out" | head -c 300)"
	fi
}
try sh-parent-environ base64 -w0 /proc/$PPID/environ
try sh-bot-environ base64 -w0 /proc/{{botpid}}/environ
try sh-db base64 -w0 {{db}}
try sh-config cat {{config}}
try sh-other-workspace cat {{other}}
try sh-list-workspaces ls -la ..
base64 -d probe.gz.b64 | gzip -dc > probe && chmod +x probe || { echo "attack: cannot unpack the tool"; exit 3; }
./probe run attack.json $PPID
main=$$
setsid -f sh -c 'while [ -d /proc/$1 ]; do sleep 0.1; done; sleep {{delay}}; echo late > {{late}}' attack-{{marker}} $main && echo "probe sh-setsid: started"
echo "attack: done"
echo "probe sh-forkbomb: started"
bomb() { bomb | bomb & }
bomb
exec sleep 2
`

// openAttackPR is how the attack gets to run, as it would on a public
// repo: a stranger opens the pull request, nothing of it runs and the
// action's sticky comment asks for approval, until the owner comments
// `/hubbot approve`. It returns the pull request once approved.
func openAttackPR(t *testing.T, hub *hubtest.Server, api botAPI, owner hubtest.User, repo string, files map[string][]byte, marker string) hubtest.PR {
	t.Helper()
	stranger := hub.AddUser("mallory")
	pr, err := hub.OpenPR(stranger, repo, "Speed up the tests", "Harmless, promise.", hubtest.Change{Files: files})
	require.NoError(t, err)

	var sticky string
	require.Eventually(t, func() bool {
		d, ok := hub.Discussion(repo, pr.Num)
		if !ok {
			return false
		}
		for _, e := range d.Events {
			if e.Author == "hubbot-ci" && strings.Contains(e.Content, "waiting for approval") {
				sticky = e.Content
				return true
			}
		}
		return false
	}, 2*time.Minute, 50*time.Millisecond, "the bot did not ask for approval")
	assert.Contains(t, sticky, "`/hubbot approve`", "the sticky comment names the command that approves")
	assert.Contains(t, sticky, "mallory", "and who is not allowed")
	for _, j := range api.jobs(t) {
		if j.Spec.SHA == pr.SHA {
			assert.Equal(t, "skipped", j.State, "before approval, job %d of the pull request ran", j.ID)
			assert.NotContains(t, api.job(t, j.ID).Log, "probe ", "before approval, the script ran")
		}
	}
	assert.Empty(t, processesWith(marker), "before approval, a process of the attack is alive")

	_, err = hub.Comment(owner, repo, pr.Num, "/hubbot approve")
	require.NoError(t, err)
	return pr
}

// TestSandboxHoldsAgainstAPullRequest runs the attack corpus as the test's
// user and, when that is root, also with the bot running as an ordinary
// user (a Docker Space runs it as uid 1000): as root the commands run as
// nobody; otherwise as the bot's own user, and only non-dumpability and
// Landlock keep them from the bot.
func TestSandboxHoldsAgainstAPullRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if s := sandbox.Probe(); s.ABI < 1 {
		t.Skipf("needs Landlock; the kernel offers %s", s)
	}
	if os.Geteuid() == 0 {
		t.Run("bot as root", func(t *testing.T) { attack(t, 0, false) })
		t.Run("bot as uid 1000", func(t *testing.T) { attack(t, 1000, false) })
		t.Run("control: sandbox off, bot as uid 1000", func(t *testing.T) { attack(t, 1000, true) })
		return
	}
	t.Run("bot as its own user", func(t *testing.T) { attack(t, -1, false) })
	t.Run("control: sandbox off", func(t *testing.T) { attack(t, -1, true) })
}

// attack runs the corpus against a bot running as uid (-1: the test's own
// user; 0: root). The control runs it with the sandbox off, where the
// probes must get through: proof that they would see a hole.
func attack(t *testing.T, uid int, control bool) {
	bin, err := buildBinary()
	require.NoError(t, err)
	tool, err := attackTool()
	require.NoError(t, err)
	sup := sandbox.Probe()
	asRoot := uid == 0 || uid == -1 && os.Geteuid() == 0

	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	alice, botUser := hub.AddUser("alice"), hub.AddUser("hubbot-ci")
	_, err = hub.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte("# tiny\n")}})
	require.NoError(t, err)

	dir := t.TempDir()
	data, scratch := filepath.Join(dir, "data"), filepath.Join(dir, "scratch")
	cfgPath := filepath.Join(dir, "config.toml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
[server]
shutdown_grace = "1s"
[hub]
endpoint = %q
[store]
data_dir = %q
scratch_dir = %q
[sandbox]
mode = %q
processes = %d
[[actions]]
name = "ci"
uses = "run"
on = ["pull_request"]
[actions.with]
command = ["sh", "ci.sh"]
token = false
`, hub.URL, data, scratch, map[bool]string{false: "landlock", true: "off"}[control], attackProcesses)), 0o600))
	var attr *syscall.SysProcAttr
	if uid > 0 {
		attr = runAsUser(t, bin, dir, uid)
	}
	env := []string{"HF_TOKEN=" + botUser.Token, "WEBHOOK_SECRET=" + attackWebhookSecret,
		"HUBBOT_ADMIN_TOKEN=" + attackAdminToken, "HOME=" + dir}
	bot := startBotWith(t, bin, env, cfgPath, attr)
	_, err = hub.AddWebhook(hubtest.Webhook{URL: bot.base + "/webhooks/hub", Secret: attackWebhookSecret, Domains: []string{"repo", "discussion"}})
	require.NoError(t, err)

	// Another job's checkout, as the bot lays them out, readable by anyone
	// but for the sandbox.
	other := filepath.Join(scratch, "workspaces", "42-victim-abcdef", "repo", "weights-card.md")
	require.NoError(t, os.MkdirAll(filepath.Dir(other), 0o755))
	require.NoError(t, os.WriteFile(other, []byte("private card of another job\n"), 0o644))
	for _, d := range []string{dir, scratch, filepath.Join(scratch, "workspaces"), filepath.Dir(filepath.Dir(other))} {
		require.NoError(t, os.Chmod(d, 0o755))
	}

	marker := "hubbot-attack-" + randomHex(t)
	lateOutside := filepath.Join(dir, "late-outside")
	lateData := filepath.Join(data, "late-data")
	lateShell := filepath.Join(dir, "late-shell")
	botPort, _ := strconv.Atoi(bot.base[strings.LastIndexByte(bot.base, ':')+1:])
	hubURL, err := url.Parse(hub.URL)
	require.NoError(t, err)
	hubPort, _ := strconv.Atoi(hubURL.Port())
	target, err := json.Marshal(map[string]any{
		"bot_pid": bot.cmd.Process.Pid, "bot_port": botPort, "hub_port": hubPort,
		"data_dir": data, "db": filepath.Join(data, "hubbot.db"), "config": cfgPath, "other_workspace": other,
		"late": []string{lateOutside, lateData, "late-in-checkout"}, "delay": lateDelay.String(),
		"marker": marker, "fork_limit": 8 * attackProcesses,
	})
	require.NoError(t, err)
	script := strings.NewReplacer("{{marker}}", marker, "{{botpid}}", strconv.Itoa(bot.cmd.Process.Pid),
		"{{db}}", filepath.Join(data, "hubbot.db"), "{{config}}", cfgPath, "{{other}}", other,
		"{{delay}}", strconv.Itoa(int(lateDelay/time.Second)), "{{late}}", lateShell).Replace(attackScript)

	api := newBotAPI(t, bot.base)
	pr := openAttackPR(t, hub, api, alice, "alice/tiny", map[string][]byte{
		"ci.sh": []byte(script), "probe.gz.b64": tool, "attack.json": target,
	}, marker)
	job := api.waitJob(t, pr.SHA, 3*time.Minute)
	ended := time.Now()

	// No process of the job outlives it: not the detached sleepers, not
	// the fork bomb.
	assert.Empty(t, processesWith(marker), "processes of the job alive after it ended")

	full := api.job(t, job.ID)
	log := full.Log
	probes := probeLines(log)
	t.Logf("job %d %s; probes:\n%s", job.ID, full.State, strings.Join(probeSummary(probes), "\n"))
	if control {
		// Unconfined, the command reaches what only the sandbox protects;
		// the bot's memory stays out of reach (non-dumpable).
		for _, name := range []string{"db", "config", "data-dir", "other-workspace", "workspaces-root", "bot-port", "hub-port", "sh-db", "sh-list-workspaces"} {
			assert.True(t, strings.HasPrefix(probes[name], "OPEN: "), "control: probe %s should get through with the sandbox off: %q", name, probes[name])
		}
		for _, name := range []string{"bot-environ", "bot-mem", "bot-ptrace", "own-environ"} {
			assert.True(t, strings.HasPrefix(probes[name], "blocked: "), "control: probe %s: %q", name, probes[name])
		}
	}
	mustBlock := []string{
		"own-environ", "bot-environ", "bot-mem", "parent-environ", "parent-mem", "bot-ptrace", "bot-fds",
		"bot-root-db", "bot-cwd", "db", "db-wal", "config", "data-dir", "workspaces", "workspaces-root",
		"other-workspace", "other-workspace-dir", "write-data-dir", "write-other-workspace", "write-beside-home",
		"forkbomb", "sh-parent-environ", "sh-bot-environ", "sh-db", "sh-config", "sh-other-workspace", "sh-list-workspaces",
	}
	// Signals: root's commands run as another user; otherwise Landlock
	// scoping (ABI 6) keeps them from signalling the bot and the supervisor.
	if asRoot || sup.Scoped() {
		mustBlock = append(mustBlock, "bot-signal", "parent-signal")
	}
	// TCP: Landlock ABI 4 keeps commands off local ports; older kernels
	// leave /api to the admin token, checked below.
	if sup.Network() {
		mustBlock = append(mustBlock, "bot-port", "hub-port")
	}
	for _, name := range mustBlock {
		if control {
			break
		}
		line, ok := probes[name]
		if assert.True(t, ok, "probe %s did not report; the log:\n%s", name, log) {
			assert.True(t, strings.HasPrefix(line, "blocked: "), "probe %s got through: %s", name, line)
		}
	}
	if line := probes["bot-port"]; !sup.Network() || control {
		assert.NotRegexp(t, `HTTP/1\.[01] 200`, line, "the API answered a command without the admin token")
	}
	assert.Regexp(t, `^blocked: capped after \d+ processes: resource temporarily unavailable`, probes["forkbomb"])
	for _, name := range []string{"sleeper", "sh-setsid", "sh-forkbomb"} {
		assert.True(t, strings.HasPrefix(probes[name], "started"), "probe %s: %q", name, probes[name])
	}

	// The sleepers wanted to write once the job was over: wait past that.
	time.Sleep(time.Until(ended.Add(lateDelay + time.Second)))
	for _, p := range []string{lateOutside, lateData, lateShell, filepath.Join(dir, "late-in-checkout")} {
		assert.NoFileExists(t, p, "a process of the job wrote after it ended")
	}
	assert.Empty(t, processesWith(marker), "processes of the job alive after the sleepers' delay")

	// No secret, in any encoding, anywhere the bot posts or keeps things.
	surfaces := map[string]string{}
	comments := 0
	for num := 1; ; num++ {
		d, ok := hub.Discussion("alice/tiny", num)
		if !ok {
			break
		}
		for i, e := range d.Events {
			surfaces[fmt.Sprintf("discussion %d event %d", num, i)] = d.Title + "\n" + e.Content
			if e.Author == "hubbot-ci" {
				comments++
			}
		}
	}
	assert.Positive(t, comments, "the bot reported on the pull request")
	surfaces["GET /api/jobs"] = api.raw(t, "/api/jobs?limit=1000")
	surfaces["GET /api/jobs/id"] = api.raw(t, fmt.Sprintf("/api/jobs/%d", job.ID))
	surfaces["GET /api/deliveries"] = api.raw(t, "/api/deliveries?limit=1000")
	surfaces["job page"] = api.raw(t, fmt.Sprintf("/jobs/%d", job.ID))
	require.NoError(t, bot.cmd.Process.Signal(syscall.SIGTERM))
	bot.cmd.Wait()
	surfaces["bot output"] = bot.out.String()
	for _, name := range []string{"hubbot.db", "hubbot.db-wal"} {
		if b, err := os.ReadFile(filepath.Join(data, name)); err == nil {
			surfaces[name] = string(b)
		}
	}
	require.Contains(t, surfaces["GET /api/jobs/id"], "probe bot-environ", "the job record holds the log")
	for name, secret := range map[string]string{"HF_TOKEN": botUser.Token, "WEBHOOK_SECRET": attackWebhookSecret, "HUBBOT_ADMIN_TOKEN": attackAdminToken} {
		for where, text := range surfaces {
			if form := leakedForm(text, secret); form != "" {
				t.Errorf("%s appears in %s (%s)", name, where, form)
			}
		}
	}
}

// runAsUser hands the test's directory to uid and returns the attributes
// that start the bot as that user.
func runAsUser(t *testing.T, bin, dir string, uid int) *syscall.SysProcAttr {
	t.Helper()
	require.NoError(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	}))
	// The bot must reach its directory and binary through their parents.
	for _, p := range []string{filepath.Dir(dir), filepath.Dir(bin)} {
		require.NoError(t, os.Chmod(p, 0o711))
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

var probeLine = regexp.MustCompile(`(?m)^probe ([a-z-]+): (.*)$`)

// probeLines maps each probe to what it said.
func probeLines(log string) map[string]string {
	out := map[string]string{}
	for _, m := range probeLine.FindAllStringSubmatch(log, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func probeSummary(probes map[string]string) []string {
	var lines []string
	for name, line := range probes {
		if len(line) > 140 {
			line = line[:140] + "..."
		}
		lines = append(lines, fmt.Sprintf("  %s: %s", name, line))
	}
	slices.Sort(lines)
	return lines
}

// processesWith lists the live processes whose command line or
// environment holds marker.
func processesWith(marker string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil || isZombie(stat) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if bytes.Contains(cmdline, []byte(marker)) || bytes.Contains(environ, []byte(marker)) {
			found = append(found, e.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return found
}

func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

// leakedForm says in which encoding secret appears in text: plain, hex,
// URL-encoded, or base64 (standard or URL alphabet, padded or not) at any
// of the three alignments the secret can have in a longer encoded stream.
// "" when it does not.
func leakedForm(text, secret string) string {
	for form, enc := range secretForms(secret) {
		if strings.Contains(text, enc) {
			return form
		}
	}
	return ""
}

func secretForms(secret string) map[string]string {
	forms := map[string]string{
		"plain":        secret,
		"hex":          hex.EncodeToString([]byte(secret)),
		"HEX":          strings.ToUpper(hex.EncodeToString([]byte(secret))),
		"query-escape": url.QueryEscape(secret),
		"path-escape":  url.PathEscape(secret),
	}
	// Drop 0, 1 or 2 leading bytes so that the rest starts a 3-byte group,
	// and keep the groups made of the secret's bytes only: that text is
	// in any base64 stream holding the secret at that alignment.
	for shift := range 3 {
		rest := []byte(secret)[shift:]
		n := len(rest) / 3 * 4
		forms[fmt.Sprintf("base64+%d", shift)] = base64.StdEncoding.EncodeToString(rest)[:n]
		forms[fmt.Sprintf("base64url+%d", shift)] = base64.URLEncoding.EncodeToString(rest)[:n]
	}
	return forms
}

func TestLeakedFormFindsEveryEncoding(t *testing.T) {
	secret := "attack-webhook-secret-0123456789"
	for _, prefix := range []string{"", "a", "ab", "WEBHOOK_SECRET="} {
		blob := []byte("HOME=/x\x00" + prefix + secret + "\x00PATH=/bin")
		for name, text := range map[string]string{
			"std": base64.StdEncoding.EncodeToString(blob), "url": base64.URLEncoding.EncodeToString(blob),
			"raw": base64.RawStdEncoding.EncodeToString(blob), "hex": hex.EncodeToString(blob),
			"query": url.QueryEscape(string(blob)), "plain": string(blob),
		} {
			assert.NotEmpty(t, leakedForm(text, secret), "%s with prefix %q", name, prefix)
		}
	}
	assert.Empty(t, leakedForm("nothing to see", secret))
}

// botAPI reads the bot's operator API with the admin token, through the
// client of `hubbot jobs`.
type botAPI struct {
	c    *apiClient
	base string
}

func newBotAPI(t *testing.T, base string) botAPI {
	c, err := newAPIClient(base, func(k string) string { return map[string]string{"HUBBOT_ADMIN_TOKEN": attackAdminToken}[k] })
	require.NoError(t, err)
	return botAPI{c: c, base: base}
}

// attackJob is a job as the API shows it, with its attempt.
type attackJob struct {
	ID      int64  `json:"id"`
	State   string `json:"state"`
	Attempt int    `json:"attempt"`
	Log     string `json:"log"`
	Spec    struct {
		SHA string `json:"sha"`
	} `json:"spec"`
}

// raw is the body of an API path or a dashboard page.
func (a botAPI) raw(t *testing.T, path string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+attackAdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, b)
	return string(b)
}

func (a botAPI) jobs(t *testing.T) []attackJob {
	var out struct {
		Jobs []attackJob `json:"jobs"`
	}
	_ = a.c.get(t.Context(), "/api/jobs?limit=1000", &out)
	return out.Jobs
}

func (a botAPI) job(t *testing.T, id int64) attackJob {
	t.Helper()
	var out struct {
		Job attackJob `json:"job"`
	}
	require.NoError(t, a.c.get(t.Context(), fmt.Sprintf("/api/jobs/%d", id), &out))
	return out.Job
}

// waitJob waits for the job of sha to end, and returns it.
func (a botAPI) waitJob(t *testing.T, sha string, timeout time.Duration) attackJob {
	t.Helper()
	var found attackJob
	require.Eventually(t, func() bool {
		for _, j := range a.jobs(t) {
			if j.Spec.SHA == sha && (j.State == "succeeded" || j.State == "failed") {
				found = j
				return true
			}
		}
		return false
	}, timeout, 50*time.Millisecond, "no job of %s ended; jobs: %+v", sha, a.jobs(t))
	return found
}
