package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/webhook"
)

func TestSummarize(t *testing.T) {
	seq := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(n-i) * time.Millisecond // reversed: summarize must sort
		}
		return out
	}
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want distribution
	}{
		{"empty", nil, distribution{}},
		{"one", []time.Duration{7 * ms}, distribution{N: 1, P50: 7 * ms, P90: 7 * ms, P99: 7 * ms, Max: 7 * ms}},
		{"ten", seq(10), distribution{N: 10, P50: 5 * ms, P90: 9 * ms, P99: 10 * ms, Max: 10 * ms}},
		{"hundred", seq(100), distribution{N: 100, P50: 50 * ms, P90: 90 * ms, P99: 99 * ms, Max: 100 * ms}},
		{"thousand", seq(1000), distribution{N: 1000, P50: 500 * ms, P90: 900 * ms, P99: 990 * ms, Max: 1000 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.in...)
			assert.Equal(t, tt.want, summarize(tt.in))
			assert.Equal(t, in, tt.in, "the input is left as it was")
		})
	}
}

func testRepo() repoInfo {
	return repoInfo{Name: benchRepo, ID: "6366c000a2abcdf2fd69a080", OwnerID: "61d2000c3c2083e1c08af22d",
		Web: "http://127.0.0.1:1/" + benchRepo, API: "http://127.0.0.1:1/api/models/" + benchRepo,
		Head: "575db8b7a51b6f85eb06eee540738584589f131c"}
}

// TestPayloadRoutesToOneJob checks the bench's payloads and config against
// hubbot's own decoder, router and config loader: every delivery must be
// a valid v3 push that queues exactly one run of the bench action.
func TestPayloadRoutesToOneJob(t *testing.T) {
	cfg, err := config.Parse("bench.toml", []byte(botConfig(7860, t.TempDir(), 2)))
	require.NoError(t, err)
	route := bot.ContentRoute(cfg)
	src := &refSource{prefix: "run-throughput-64"}

	tests := []struct {
		name string
		u    refUpdate
	}{
		{"new branch", src.next()},
		{"another new branch", src.next()},
		{"existing branch", refUpdate{Ref: "refs/heads/x-1", Old: strings.Repeat("a", 40), New: strings.Repeat("b", 40)}},
	}
	keys := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := contentPayload(testRepo(), tt.u)
			require.NoError(t, err)
			p, err := webhook.Decode(body)
			require.NoError(t, err)
			assert.Equal(t, "repo.content", p.Event.Scope)
			assert.Equal(t, "update", p.Event.Action)
			assert.Equal(t, benchRepo, p.RepoPath())
			require.Len(t, p.UpdatedRefs, 1)
			assert.Equal(t, tt.u.Old, p.UpdatedRefs[0].Old())
			assert.Equal(t, tt.u.New, p.UpdatedRefs[0].New())
			assert.False(t, keys[p.Key()], "delivery key %s is not unique", p.Key())
			keys[p.Key()] = true

			d, err := route(t.Context(), p)
			require.NoError(t, err)
			assert.Empty(t, d.Ignore)
			require.Len(t, d.Jobs, 1)
			assert.Equal(t, jobs.KindRun, d.Jobs[0].Kind)
			assert.Equal(t, benchAction, d.Jobs[0].Action)
			assert.Equal(t, config.OnPush, d.Jobs[0].Trigger)
			assert.Equal(t, tt.u.Ref, d.Jobs[0].Ref)
		})
	}
}

func TestRefSourceConcurrent(t *testing.T) {
	src := &refSource{prefix: "p"}
	const n, goroutines = 200, 8
	got := make(chan refUpdate, n*goroutines)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range n {
				got <- src.next()
			}
		})
	}
	wg.Wait()
	close(got)
	refs, shas := map[string]bool{}, map[string]bool{}
	for u := range got {
		assert.Len(t, u.New, 40)
		refs[u.Ref], shas[u.New] = true, true
	}
	assert.Len(t, refs, n*goroutines)
	assert.Len(t, shas, n*goroutines)
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP hubbot_jobs_total Jobs entering a state, by action and state.
# TYPE hubbot_jobs_total counter
hubbot_jobs_total{action="bench",state="queued"} 120
hubbot_jobs_total{action="bench",state="running"} 7
hubbot_jobs_total{action="other",state="queued"} 3
hubbot_deliveries_total{action="update",outcome="queued",scope="repo.content"} 1.2e+02
hubbot_odd{reason="a } b"} 2
process_cpu_seconds_total 12.5
hubbot_queue_depth 113 1700000000000
`
	m, err := parseMetrics(strings.NewReader(text))
	require.NoError(t, err)
	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"no labels", "process_cpu_seconds_total", nil, 12.5},
		{"with a timestamp", "hubbot_queue_depth", nil, 113},
		{"every series", "hubbot_jobs_total", nil, 130},
		{"one label", "hubbot_jobs_total", []string{`state="queued"`}, 123},
		{"two labels", "hubbot_jobs_total", []string{`action="bench"`, `state="queued"`}, 120},
		{"exponent", "hubbot_deliveries_total", []string{`outcome="queued"`}, 120},
		{"brace in a label value", "hubbot_odd", nil, 2},
		{"absent", "hubbot_nothing", nil, 0},
		{"name prefix is not a match", "hubbot_jobs", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, m.sum(tt.metric, tt.labels...), 1e-9)
		})
	}

	for _, bad := range []string{"lonely_name", `x{a="b"}`, "x notanumber"} {
		_, err := parseMetrics(strings.NewReader(bad + "\n"))
		assert.Error(t, err, bad)
	}
}

// fakeReceiver stands in for the bot: it checks the secret, records the ref
// of every delivery and answers with status(n) for the n-th (from 1).
type fakeReceiver struct {
	secret string
	status func(n int) int

	mu     sync.Mutex
	n      int
	refs   map[string]int
	noAuth int
}

func (f *fakeReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var p struct {
		UpdatedRefs []struct {
			Ref string `json:"ref"`
		} `json:"updatedRefs"`
	}
	if err := json.Unmarshal(body, &p); err != nil || len(p.UpdatedRefs) != 1 {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.n++
	n := f.n
	if f.refs == nil {
		f.refs = map[string]int{}
	}
	f.refs[p.UpdatedRefs[0].Ref]++
	if r.Header.Get("X-Webhook-Secret") != f.secret {
		f.noAuth++
	}
	f.mu.Unlock()
	status := http.StatusAccepted
	if f.status != nil {
		status = f.status(n)
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":"queued","jobs":[%d]}`, n)
}

func (f *fakeReceiver) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *fakeReceiver) unauthorized() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.noAuth
}

func (f *fakeReceiver) duplicates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := 0
	for _, c := range f.refs {
		d += c - 1
	}
	return d
}

func builder(prefix string) func() ([]byte, error) {
	src := &refSource{prefix: prefix}
	return func() ([]byte, error) { return contentPayload(testRepo(), src.next()) }
}

func TestClosedLoop(t *testing.T) {
	tests := []struct {
		name       string
		status     func(int) int
		wantErrors string // the one error label expected, "" for none
	}{
		{"all accepted", nil, ""},
		{"some fail", func(n int) int {
			if n%5 == 1 { // the first one always fails
				return http.StatusInternalServerError
			}
			return http.StatusAccepted
		}, "HTTP 500"},
		{"duplicates are not accepted", func(int) int { return http.StatusOK }, "HTTP 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeReceiver{secret: "s3cret", status: tt.status}
			srv := httptest.NewServer(f)
			defer srv.Close()
			s := newSender(srv.URL, "s3cret", 4)

			res, err := closedLoop(t.Context(), s, builder("closed"), 4, 0, 300*time.Millisecond)
			require.NoError(t, err)
			assert.Equal(t, 4, res.Conns)
			assert.Equal(t, f.count(), res.Sent, "every request sent reached the server")
			assert.LessOrEqual(t, res.Accepted+res.Errors.counts.total(), res.Sent)
			assert.Equal(t, res.Accepted, res.Latency.N)
			assert.Len(t, res.BySecond, 1, "300 ms fit in one second")
			assert.GreaterOrEqual(t, res.BySecond[0], res.Accepted, "every 202 is in a second, warm-up or not")
			assert.Zero(t, f.duplicates())
			assert.Zero(t, f.unauthorized())
			if tt.wantErrors == "" {
				assert.Empty(t, res.Errors.counts)
				assert.Positive(t, res.Accepted)
				return
			}
			require.Len(t, res.Errors.counts, 1)
			assert.Positive(t, res.Errors.counts[tt.wantErrors])
		})
	}
}

func TestClosedLoopBuildError(t *testing.T) {
	srv := httptest.NewServer(&fakeReceiver{secret: "s"})
	defer srv.Close()
	boom := errors.New("boom")
	_, err := closedLoop(t.Context(), newSender(srv.URL, "s", 2), func() ([]byte, error) { return nil, boom }, 2, 0, time.Second)
	assert.ErrorIs(t, err, boom)
}

func TestOpenLoop(t *testing.T) {
	f := &fakeReceiver{secret: "s3cret", status: func(n int) int {
		if n == 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := newSender(srv.URL, "s3cret", 100)

	// 1000/s for 10 ms of warm-up and 40 ms measured: 50 requests, the
	// last 40 measured, whatever the machine's speed.
	res, err := openLoop(t.Context(), s, builder("open"), 1000, 10*time.Millisecond, 40*time.Millisecond, 100)
	require.NoError(t, err)
	assert.Equal(t, 50, res.Sent)
	assert.Equal(t, 50, f.count())
	assert.Equal(t, 40, res.Measured)
	assert.Equal(t, counts{"HTTP 503": 1}, res.Errors.counts, "a warm-up error still counts")
	assert.Equal(t, 40, res.Accepted)
	assert.Equal(t, 40, res.Latency.N)
	assert.Equal(t, 40, res.Service.N)
	assert.GreaterOrEqual(t, res.Latency.P50, res.Service.P50, "latency from the due time includes the send lag")
	assert.Zero(t, f.duplicates())
	assert.Zero(t, f.unauthorized())
}

func TestOpenLoopGivesUpWhenTheBotStalls(t *testing.T) {
	arrived := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // never answers; released when the client gives up
	}))
	defer srv.Close()
	// One request may be in flight; the second is due a microsecond later,
	// long before the first could be answered.
	_, err := openLoop(t.Context(), newSender(srv.URL, "s", 1), builder("stall"), 1e6, 0, time.Second, 1)
	assert.ErrorIs(t, err, errMaxInFlight)
}

func TestOpenLoopRejectsBadRate(t *testing.T) {
	_, err := openLoop(t.Context(), newSender("http://127.0.0.1:1", "s", 1), builder("x"), 0, 0, time.Second, 1)
	assert.ErrorContains(t, err, "rate must be positive")
}

// fakeBot answers deliveries with one new job each and reports that job,
// through GET /api/jobs/{id}, as queued on the first ask and then as
// finished, 5 ms after it started.
type fakeBot struct {
	status int // answer to deliveries; 0 for 202

	mu    sync.Mutex
	next  int64
	asked map[int64]int
	start map[int64]time.Time
}

func (f *fakeBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.asked == nil {
		f.asked, f.start = map[int64]int{}, map[int64]time.Time{}
	}
	if r.Method == http.MethodPost && r.URL.Path == webhookPath {
		if f.status != 0 {
			w.WriteHeader(f.status)
			fmt.Fprint(w, `{"status":"duplicate"}`)
			return
		}
		f.next++
		f.start[f.next] = time.Now().Truncate(time.Millisecond)
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"status":"queued","delivery":"k","jobs":[%d]}`, f.next)
		return
	}
	idText, ok := strings.CutPrefix(r.URL.Path, "/api/jobs/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || f.start[id].IsZero() {
		http.NotFound(w, r)
		return
	}
	f.asked[id]++
	job := map[string]any{"id": id, "state": "queued", "created_at": f.start[id]}
	if f.asked[id] > 1 {
		job["state"] = "succeeded"
		job["started_at"] = f.start[id]
		job["finished_at"] = f.start[id].Add(5 * time.Millisecond)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"job": job})
}

func TestPickupPhase(t *testing.T) {
	updates := make([]refUpdate, 4)
	src := &refSource{prefix: "pickup"}
	for i := range updates {
		updates[i] = src.next()
	}
	build := func(u refUpdate) ([]byte, error) { return contentPayload(testRepo(), u) }
	tests := []struct {
		name       string
		status     int
		wantStates counts
		wantErrors counts
	}{
		{"queued", 0, counts{"succeeded": 4}, nil},
		{"not queued", http.StatusOK, counts{}, counts{"HTTP 200": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeBot{status: tt.status}
			srv := httptest.NewServer(f)
			defer srv.Close()
			s := newSender(srv.URL+webhookPath, "s", 2)

			res, err := pickupPhase(t.Context(), s, srv.URL, updates, build, 1000, time.Minute)
			require.NoError(t, err)
			assert.Equal(t, 4, res.N)
			assert.Equal(t, tt.wantStates, res.States)
			assert.Equal(t, tt.wantErrors, res.Errors.counts)
			assert.Zero(t, res.Unstated)
			if tt.status == 0 {
				assert.Equal(t, 4, res.Pickup.N)
				assert.Equal(t, 4, res.FromSend.N)
				assert.Equal(t, distribution{N: 4, P50: 5 * time.Millisecond, P90: 5 * time.Millisecond,
					P99: 5 * time.Millisecond, Max: 5 * time.Millisecond}, res.Run)
				f.mu.Lock()
				for id, n := range f.asked {
					assert.GreaterOrEqual(t, n, 2, "job %d was polled until it finished", id)
				}
				f.mu.Unlock()
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", []string{"-hubbot", "x"}, ""},
		{"sweep", []string{"-hubbot", "x", "-conns", "16, 64,256", "-phases", "throughput"}, ""},
		{"no binary", nil, "-hubbot is required"},
		{"unknown phase", []string{"-hubbot", "x", "-phases", "throughput,speed"}, `unknown phase "speed"`},
		{"bad conns", []string{"-hubbot", "x", "-conns", "64,0"}, `-conns: "0"`},
		{"bad rate", []string{"-hubbot", "x", "-rate", "0"}, "-rate and -pickup-rate must be positive"},
		{"too many pickups", []string{"-hubbot", "x", "-pickup-n", "501"}, "-pickup-n"},
		{"stray argument", []string{"-hubbot", "x", "now"}, "unexpected arguments: now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.NotEmpty(t, o.phases)
			assert.NotEmpty(t, o.conns)
		})
	}
	o, err := parseFlags([]string{"-hubbot", "x", "-conns", "16, 64,256"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []int{16, 64, 256}, o.conns)
	assert.Equal(t, phaseNames(), o.phases)
}

func TestReportVerdicts(t *testing.T) {
	o, err := parseFlags([]string{"-hubbot", "x"}, io.Discard)
	require.NoError(t, err)
	ms := time.Millisecond
	r := &report{opts: o, started: time.Unix(0, 0), finished: time.Unix(60, 0), version: "hubbot test", load: "1 1 1", loadEnd: "1 1 1",
		throughput: []throughputRun{
			{res: closedResult{Conns: 16, Window: 10 * time.Second, Accepted: 12000}, stats: phaseStats{Name: "throughput-16"}},
			{res: closedResult{Conns: 64, Window: 10 * time.Second, Accepted: 5000}, stats: phaseStats{Name: "throughput-64"}},
		},
		latency: &latencyRun{res: openResult{Latency: distribution{N: 10, P50: ms, P99: 30 * ms}}, stats: phaseStats{Name: "latency"}},
		pickup: &pickupRun{res: pickupResult{Pickup: distribution{N: 5, P50: 20 * ms}, Errors: errorTally{counts: counts{"HTTP 500": 1}}},
			stats: phaseStats{Name: "pickup"}},
	}
	text := r.String()
	lines := map[string]string{}
	for l := range strings.SplitSeq(text, "\n") {
		for _, key := range []string{"16 conns", "64 conns", "p99", "pickup p50"} {
			if strings.Contains(l, key) && lines[key] == "" {
				lines[key] = l
			}
		}
	}
	assert.Contains(t, lines["16 conns"], "1200/s")
	assert.True(t, strings.HasSuffix(lines["16 conns"], "met"), lines["16 conns"])
	assert.Contains(t, lines["64 conns"], "500/s")
	assert.True(t, strings.HasSuffix(lines["64 conns"], "MISSED"), lines["64 conns"])
	assert.True(t, strings.HasSuffix(lines["p99"], "MISSED"), lines["p99"])
	assert.True(t, strings.HasSuffix(lines["pickup p50"], "MISSED (errors)"), lines["pickup p50"])
	assert.False(t, r.failed())

	r.latency.stats.Err = errors.New("bot did not start")
	assert.True(t, r.failed())
	assert.Contains(t, r.String(), "FAILED: bot did not start")
}

func TestFilesystem(t *testing.T) {
	if runtime.GOOS != "linux" {
		assert.Equal(t, "unknown", filesystem(t.TempDir()))
		return
	}
	assert.NotEqual(t, "unknown", filesystem(t.TempDir()))
	assert.NotEqual(t, "unknown", filesystem("/"))
}
