package main

// End-to-end tests of several replicas: processes of the real binary on one
// Postgres database, behind a round-robin proxy, against hubtest.

import (
	"bytes"
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
	c := &cluster{t: t, hub: hub.Server, alice: hub.alice, botUser: hub.botUser}
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
	ID      int64  `json:"id"`
	State   string `json:"state"`
	Attempt int    `json:"attempt"`
	Log     string `json:"log"`
	Spec    struct {
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
		// replica made no second one. (Recovery, on the leader, may add a
		// job for a revision no push named, such as the repo's first commit.)
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
