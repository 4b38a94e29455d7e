package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// privatePostgres is a Postgres server of the test's own, which it may stop
// and start: initdb in a temp dir, run as the postgres user when the test
// runs as root (Postgres refuses root).
type privatePostgres struct {
	bin, dir string
	port     int
	asUser   []string // runuser prefix, when root
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin): cannot run a private server to restart")
	}
	p := &privatePostgres{bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "hubbot-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	p.dir = filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root without a postgres user to run a private server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
		p.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p.run(t, "initdb", "-D", p.dir, "-A", "trust", "-U", "postgres")
	p.start(t)
	t.Cleanup(func() { p.ctl("stop", "-m", "immediate") })
	return p
}

func (p *privatePostgres) run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := append(append([]string{}, p.asUser...), append([]string{filepath.Join(p.bin, name)}, args...)...)
	out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
	require.NoError(t, err, "%s: %s", name, out)
}

func (p *privatePostgres) ctl(args ...string) error {
	cmd := append(append([]string{}, p.asUser...), append([]string{filepath.Join(p.bin, "pg_ctl"), "-D", p.dir, "-w"}, args...)...)
	return exec.Command(cmd[0], cmd[1:]...).Run()
}

func (p *privatePostgres) start(t *testing.T) {
	t.Helper()
	p.run(t, "pg_ctl", "-D", p.dir, "-w", "-l", filepath.Join(filepath.Dir(p.dir), "log"), "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, filepath.Dir(p.dir)), "start")
}

func (p *privatePostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// TestPostgresRestart: while Postgres is down the bot answers 503 (never a
// 2xx for a delivery it could not record); once it is back, the bot
// reconnects by itself and the delivery, sent again, runs.
func TestPostgresRestart(t *testing.T) {
	bin, hub := binaryTest(t)
	pg := startPrivatePostgres(t)
	dir := t.TempDir()
	cfg := writeBotConfig(t, dir, hub.URL, `
[[actions]]
name = "tests"
uses = "run"
on = ["push"]
branches = ["*"]
[actions.with]
command = ["sh", "-c", "echo ok"]
`)
	env := hub.botEnv(dir, replicaSecret, "HUBBOT_DATABASE_URL="+pg.url())
	bot := startBot(t, bin, env, cfg)
	c := &cluster{t: t, hub: hub.Server, alice: hub.alice, botUser: hub.botUser, replicas: []*replica{{cmd: bot.cmd, base: bot.base}}}
	_, err := hub.AddWebhook(hubtest.Webhook{URL: bot.base + "/webhooks/hub", Secret: replicaSecret, Domains: []string{"repo"}})
	require.NoError(t, err)

	push := func(branch string) hubtest.Delivery {
		t.Helper()
		_, err := hub.Push(hub.alice, "alice/tiny", branch, hubtest.Change{Files: map[string][]byte{"f.txt": []byte(branch)}})
		require.NoError(t, err)
		all, err := hub.WaitIdle(t.Context())
		require.NoError(t, err)
		return all[len(all)-1]
	}
	succeeded := func(n int) func() bool {
		return func() bool {
			done := 0
			for _, j := range c.jobs(c.replicas[0]) {
				if j.State == "succeeded" {
					done++
				}
			}
			return done == n
		}
	}
	ready := func() int {
		resp, err := http.Get(bot.base + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	d := push("refs/heads/before")
	require.Equal(t, http.StatusAccepted, d.Status, "%s", d.Response)
	require.Eventually(t, succeeded(1), 30*time.Second, 50*time.Millisecond)

	require.NoError(t, pg.ctl("stop", "-m", "fast"))
	lost := push("refs/heads/while-down")
	assert.Equal(t, http.StatusServiceUnavailable, lost.Status, "%s", lost.Response)
	assert.NotEqual(t, http.StatusOK, ready(), "not ready without its database")

	pg.start(t)
	require.Eventually(t, func() bool { return ready() == http.StatusOK }, 30*time.Second, 100*time.Millisecond)
	// The Hub does not retry: the operator (or recovery) sends it again.
	status, answer, err := c.post(c.replicas[0], lost.Payload)
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, status, "%s", answer)
	after := push("refs/heads/after")
	assert.Equal(t, http.StatusAccepted, after.Status, "%s", after.Response)
	require.Eventually(t, succeeded(3), 60*time.Second, 50*time.Millisecond, "the workers reconnected")
}
