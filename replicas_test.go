package main

// End-to-end tests of several replicas: processes of the real binary on one
// Postgres database, behind a round-robin proxy, against hubtest.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs/jobstest"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

const replicaSecret = "replica-secret-0123456789"

// cluster is n replicas of hubbot on one database, and the fake Hub whose
// webhook reaches them through a round-robin proxy.
type cluster struct {
	t        *testing.T
	dbURL    string
	hub      *hubtest.Server
	alice    hubtest.User
	botUser  hubtest.User
	replicas []*replica
	next     atomic.Int64
}

// replica is one hubbot process.
type replica struct {
	cmd  *exec.Cmd
	base string
	dead atomic.Bool
}

func startCluster(t *testing.T, n int, actions string) *cluster {
	t.Helper()
	bin, hub := binaryTest(t)
	dbURL := jobstest.PostgresURL(t)
	c := &cluster{t: t, hub: hub.Server, alice: hub.alice, botUser: hub.botUser, dbURL: dbURL}
	for range n {
		dir := t.TempDir()
		cfg := writeBotConfig(t, dir, hub.URL, "rescue_after = \"2s\"\n"+actions)
		env := hub.botEnv(dir, replicaSecret, "HUBBOT_DATABASE_URL="+dbURL)
		p := startBot(t, bin, env, cfg)
		c.replicas = append(c.replicas, &replica{cmd: p.cmd, base: p.base})
	}
	proxy := httptest.NewServer(http.HandlerFunc(c.roundRobin))
	t.Cleanup(proxy.Close)
	_, err := c.hub.AddWebhook(hubtest.Webhook{URL: proxy.URL + "/webhooks/hub", Secret: replicaSecret, Domains: []string{"repo"}})
	require.NoError(t, err)
	return c
}

// roundRobin forwards each delivery to the next live replica, as a load
// balancer would.
func (c *cluster) roundRobin(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	for range len(c.replicas) {
		rp := c.replicas[int(c.next.Add(1))%len(c.replicas)]
		if rp.dead.Load() {
			continue
		}
		status, answer, err := c.post(rp, body)
		if err != nil {
			continue
		}
		w.WriteHeader(status)
		w.Write(answer)
		return
	}
	w.WriteHeader(http.StatusBadGateway)
}

func (c *cluster) post(rp *replica, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, rp.base+"/webhooks/hub", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", replicaSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

type replicaJob struct {
	ID       int64  `json:"id"`
	Delivery string `json:"delivery"` // what queued it: a delivery key, "recovery", "schedule:N"
	State    string `json:"state"`
	Attempt  int    `json:"attempt"`
	Log      string `json:"log"`
	Spec     struct {
		SHA string `json:"sha"`
		Ref string `json:"ref"`
	} `json:"spec"`
}

// jobs lists the jobs as a replica's API shows them.
func (c *cluster) jobs(rp *replica) []replicaJob {
	resp, err := http.Get(rp.base + "/api/jobs?limit=1000")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out struct {
		Jobs []replicaJob `json:"jobs"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	return out.Jobs
}

// botEventsMentioning counts the bot's comments, on every discussion of the
// repo, that name a revision.
func (c *cluster) botEventsMentioning(sha string) int {
	n := 0
	for num := 1; ; num++ {
		d, ok := c.hub.Discussion("alice/tiny", num)
		if !ok {
			return n
		}
		for _, e := range d.Events {
			if e.Author == c.botUser.Name && strings.Contains(e.Content, sha[:7]) {
				n++
			}
		}
	}
}

// TestReplicasShareOneDatabase: deliveries spread round-robin over three
// replicas, each replayed to another replica, make one job each, one
// report each.
func TestReplicasShareOneDatabase(t *testing.T) {
	c := startCluster(t, 3, `
[[actions]]
name = "tests"
uses = "run"
on = ["push"]
branches = ["*"]
[actions.with]
command = ["sh", "-c", "echo ok"]
`)
	var shas []string
	for i := range 6 {
		sha, err := c.hub.Push(c.alice, "alice/tiny", fmt.Sprintf("refs/heads/b%d", i), hubtest.Change{
			Files: map[string][]byte{"f.txt": []byte(fmt.Sprint(i))}})
		require.NoError(t, err)
		shas = append(shas, sha)
	}
	deliveries, err := c.hub.WaitIdle(t.Context())
	require.NoError(t, err)
	require.Len(t, deliveries, 6)
	for i, d := range deliveries {
		require.Equal(t, http.StatusAccepted, d.Status, "%s", d.Response)
		// The same delivery again, to another replica than the proxy chose.
		status, answer, err := c.post(c.replicas[i%3], d.Payload)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, string(answer), "duplicate")
	}
	// Generous: three replicas and the fake Hub share two loaded cores in CI.
	var states []string
	require.Eventually(t, func() bool {
		// One job per pushed revision, each succeeded: a replay on another
		// replica made no second one. (The leader's start-up recovery scan
		// adds a job for main's head, the repo's first commit, which no push
		// named, when it runs after the first delivery: on a loaded machine
		// it may. See TestRecoveryRunsOnceOnTheLeader.)
		per := map[string]int{}
		states = states[:0]
		for _, j := range c.jobs(c.replicas[1]) {
			states = append(states, fmt.Sprintf("%d:%s:%.7s", j.ID, j.State, j.Spec.SHA))
			if j.State == "succeeded" {
				per[j.Spec.SHA]++
			}
		}
		for _, sha := range shas {
			if per[sha] != 1 {
				return false
			}
		}
		return true
	}, 150*time.Second, 100*time.Millisecond, "one succeeded job for each push; last seen %v", &states)
	require.Eventually(t, func() bool {
		for _, sha := range shas {
			if c.botEventsMentioning(sha) != 1 {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "one report for each push")
	for _, sha := range shas {
		assert.Equal(t, 1, c.botEventsMentioning(sha))
	}
}

// TestKilledReplicasJobCompletesOnAnother: kill -9 of the replica running a
// job; another replica runs it to the end, and it is reported once.
func TestKilledReplicasJobCompletesOnAnother(t *testing.T) {
	c := startCluster(t, 3, `
[[actions]]
name = "slow"
uses = "run"
on = ["push"]
[actions.with]
command = ["sh", "-c", "sleep 3; echo finished"]
`)
	sha, err := c.hub.Push(c.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	// The replica running the job is the one whose API shows its live log.
	var victim *replica
	require.Eventually(t, func() bool {
		for _, rp := range c.replicas {
			for _, j := range c.jobs(rp) {
				if j.State != "running" {
					continue
				}
				resp, err := http.Get(fmt.Sprintf("%s/api/jobs/%d", rp.base, j.ID))
				if err != nil {
					continue
				}
				var out struct {
					Job replicaJob `json:"job"`
				}
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if out.Job.Log != "" {
					victim = rp
					return true
				}
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "a replica runs the job")
	victim.dead.Store(true)
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	victim.cmd.Wait()

	var survivor *replica
	for _, rp := range c.replicas {
		if !rp.dead.Load() {
			survivor = rp
		}
	}
	var job replicaJob
	require.Eventually(t, func() bool {
		list := c.jobs(survivor)
		if len(list) != 1 {
			return false
		}
		job = list[0]
		return job.State == "succeeded"
	}, 60*time.Second, 50*time.Millisecond, "the job completes on another replica")
	assert.Equal(t, sha, job.Spec.SHA)
	assert.Equal(t, 2, job.Attempt, "one attempt on the dead replica, one on the survivor")
	require.Eventually(t, func() bool { return c.botEventsMentioning(sha) == 1 }, 30*time.Second, 50*time.Millisecond)

	// Draining a replica (SIGTERM) is clean.
	require.NoError(t, survivor.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, survivor.cmd.Wait())
}

// count runs a COUNT query on the replicas' database, for what only
// River's tables show: which periodic jobs fired, and who is the leader.
func (c *cluster) count(query string, args ...any) int {
	c.t.Helper()
	var n int
	require.NoError(c.t, c.queryRow(query, args...).Scan(&n))
	return n
}

func (c *cluster) queryRow(query string, args ...any) pgx.Row {
	c.t.Helper()
	conn, err := pgx.Connect(c.t.Context(), c.dbURL)
	require.NoError(c.t, err)
	c.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.QueryRow(c.t.Context(), query, args...)
}

// leader is the replica River elected; nil while there is none.
func (c *cluster) leader() *replica {
	c.t.Helper()
	var id string
	if err := c.queryRow(`SELECT leader_id FROM river_leader WHERE expires_at > now()`).Scan(&id); err != nil {
		return nil
	}
	for _, rp := range c.replicas {
		// River's client id ends in the process id (see jobs.clientID).
		if strings.HasSuffix(id, fmt.Sprintf("_pid%d", rp.cmd.Process.Pid)) {
			return rp
		}
	}
	c.t.Fatalf("leader %q is none of the replicas", id)
	return nil
}

// TestRecoveryRunsOnceOnTheLeader: the recovery scan runs once per leader,
// not once per replica. Replicas that join a running leader scan nothing;
// when the leader stops, the replica elected next scans once at the start
// of its term. That scan is where a job no delivery asked for comes from:
// the repo is among the repos of past deliveries by then, and the head of
// main (the repo's first commit, made before the webhook existed) was never
// processed, so it queues that one revision, once.
func TestRecoveryRunsOnceOnTheLeader(t *testing.T) {
	c := startCluster(t, 3, `
[[actions]]
name = "tests"
uses = "run"
on = ["push"]
branches = ["*"]
[actions.with]
command = ["sh", "-c", "echo ok"]
`)
	scans := func() int {
		return c.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'hubbot_maintain' AND args->>'task' = 'recover' AND state = 'completed'`)
	}
	require.Eventually(t, func() bool { return scans() >= 1 }, 60*time.Second, 50*time.Millisecond, "the leader's start-up scan")
	first := c.leader()
	require.NotNil(t, first)

	sha, err := c.hub.Push(c.alice, "alice/tiny", "refs/heads/b0", hubtest.Change{Files: map[string][]byte{"f.txt": []byte("0")}})
	require.NoError(t, err)
	var seen []replicaJob
	require.Eventually(t, func() bool {
		seen = c.jobs(c.replicas[2])
		return len(seen) == 1 && seen[0].State == "succeeded"
	}, 60*time.Second, 50*time.Millisecond, "one job for the push; seen %v", &seen)
	assert.Equal(t, sha, seen[0].Spec.SHA)
	require.Same(t, first, c.leader(), "the leader changed: the count below would not mean anything")
	assert.Equal(t, 1, scans(), "three replicas, one leader, one start-up scan")

	// The leader drains; another replica is elected and scans once.
	first.dead.Store(true)
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, first.cmd.Wait())
	main, ok := c.hub.Ref("alice/tiny", "refs/heads/main")
	require.True(t, ok)
	var survivor *replica
	for _, rp := range c.replicas {
		if !rp.dead.Load() {
			survivor = rp
		}
	}
	var recovered []replicaJob
	require.Eventually(t, func() bool {
		recovered = recovered[:0]
		for _, j := range c.jobs(survivor) {
			if j.Delivery == "recovery" {
				recovered = append(recovered, j)
			}
		}
		return len(recovered) == 1 && recovered[0].State == "succeeded"
	}, 90*time.Second, 50*time.Millisecond, "the new leader's scan queues the never-processed head of main; seen %v", &recovered)
	assert.Equal(t, main, recovered[0].Spec.SHA)
	assert.Equal(t, "refs/heads/main", recovered[0].Spec.Ref)
	next := c.leader()
	require.NotNil(t, next)
	assert.NotSame(t, first, next)
	assert.Equal(t, 2, scans(), "one scan for each leader's term")
	assert.Len(t, c.jobs(survivor), 2, "b0 was not queued again")
}

// TestScheduleFiresOncePerTickAcrossReplicas: a schedule fires on River's
// leader only, and a tick fired twice during a leader handover is claimed
// once, so each tick makes at most one run however many replicas there
// are; and its report is one discussion.
func TestScheduleFiresOncePerTickAcrossReplicas(t *testing.T) {
	c := startCluster(t, 3, `
[[actions]]
name = "nightly"
uses = "run"
on = ["schedule"]
[actions.with]
command = ["sh", "-c", "echo checked"]

[[schedules]]
cron = "@every 2s"
action = "nightly"
repos = ["alice/tiny"]
`)
	main, ok := c.hub.Ref("alice/tiny", "refs/heads/main")
	require.True(t, ok)
	ticks := func() int {
		return c.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'hubbot_schedule' AND state = 'completed'`)
	}
	runs := func() (n int) {
		for _, j := range c.jobs(c.replicas[0]) {
			if j.Delivery == "schedule:0" && j.State == "succeeded" {
				n++
			}
		}
		return n
	}
	require.Eventually(t, func() bool { return ticks() >= 3 && runs() >= 3 }, 120*time.Second, 100*time.Millisecond,
		"three ticks and their runs")

	// Each tick runs once: River fires schedules on its leader only, and
	// should two replicas both fire a tick while leadership moves, the
	// second finds the first one's claim (see jobs.claimTick). So there are
	// no more runs than distinct ticks, each of main's head.
	fired := c.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'hubbot_schedule'`)
	distinct := c.count(`SELECT COUNT(DISTINCT scheduled_at) FROM river_job WHERE kind = 'hubbot_schedule'`)
	claims := c.count(`SELECT COUNT(*) FROM hubbot_locks WHERE key LIKE 'tick:schedule:0:%'`)
	assert.LessOrEqual(t, claims, distinct, "a tick claimed twice")
	all := 0
	for _, j := range c.jobs(c.replicas[1]) {
		if j.Delivery != "schedule:0" {
			continue
		}
		all++
		assert.Equal(t, main, j.Spec.SHA)
		assert.Equal(t, "refs/heads/main", j.Spec.Ref)
	}
	assert.LessOrEqual(t, all, claims, "more runs than ticks")
	t.Logf("%d schedule jobs fired for %d ticks, %d ticks claimed, %d runs queued", fired, distinct, claims, all)
	// The same clean result on every tick is one report discussion, opened
	// once (and closed, as the result is clean).
	discussions, comments := 0, 0
	for num := 1; ; num++ {
		d, ok := c.hub.Discussion("alice/tiny", num)
		if !ok {
			break
		}
		if d.Author == c.botUser.Name {
			discussions++
		}
		for _, e := range d.Events {
			if e.Author == c.botUser.Name && e.Type == "comment" {
				comments++
			}
		}
	}
	assert.Equal(t, 1, discussions)
	assert.Equal(t, 1, comments)
}
