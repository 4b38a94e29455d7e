// Command receiver benchmarks hubbot's webhook receiver over loopback.
//
// It starts a fake Hub (hubtest) in its own process and the real hubbot
// binary, once per phase, each with a fresh data dir, and measures:
//
//   - throughput: accepted (202) deliveries per second, closed loop, with
//     N keep-alive connections each sending the next delivery as soon as
//     the last is answered; every 202 means the delivery and its job were
//     committed to SQLite (WAL, synchronous=FULL) before the answer;
//   - latency: answer latency at a fixed rate (open loop), p50/p90/p99/max;
//   - pickup: time from a delivery's 202 to the moment a worker starts its
//     job, at a low rate so the workers are free.
//
// Usage:
//
//	go build -o /tmp/hubbot . && go run ./bench/receiver -hubbot /tmp/hubbot
//
// bench/receiver/run.sh does that and writes bench/out/receiver.txt.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Targets from the issue, for a 2-core machine.
const (
	targetPerSecond = 1000
	targetP99       = 25 * time.Millisecond
	targetPickupP50 = 100 * time.Millisecond
)

// options are the command-line flags.
type options struct {
	hubbot       string
	out          string
	dir          string
	keep         bool
	phases       []string
	workers      int
	conns        []int
	warmup       time.Duration
	duration     time.Duration
	rate         float64
	rateDuration time.Duration
	maxInFlight  int
	pickupN      int
	pickupRate   float64
	perfDir      string
	isolate      bool
	pg           string
}

// phaseNames are the phases, in the order they run by default.
func phaseNames() []string { return []string{"throughput", "latency", "pickup"} }

// extraPhases run only when asked for: "stores" compares SQLite with
// Postgres (one and three replicas) and needs a Postgres server.
func extraPhases() []string { return []string{"stores"} }

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.hubbot, "hubbot", "", "the hubbot binary to run (required; build it with go build -o)")
	fs.StringVar(&o.out, "out", "", "also write the summary to this file")
	fs.StringVar(&o.dir, "dir", "", "keep the bots' data and logs in a new run-* dir under this one (default: a temp dir, removed); its filesystem decides what an fsync costs")
	fs.BoolVar(&o.keep, "keep", false, "keep the work dir (bot logs, databases) after the run")
	phases := fs.String("phases", strings.Join(phaseNames(), ","), "phases to run, comma-separated")
	fs.IntVar(&o.workers, "workers", 2, "workers.concurrency of the bot")
	conns := fs.String("conns", "64", "throughput: concurrent connections, comma-separated for a sweep (one fresh bot each)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "throughput and latency: warm-up before measuring")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "throughput: measured time")
	fs.Float64Var(&o.rate, "rate", 200, "latency: deliveries per second")
	fs.DurationVar(&o.rateDuration, "rate-duration", 20*time.Second, "latency: measured time")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 1000, "latency: give up when this many deliveries wait for an answer")
	fs.IntVar(&o.pickupN, "pickup-n", 50, "pickup: deliveries to send")
	fs.Float64Var(&o.pickupRate, "pickup-rate", 10, "pickup: at most this many deliveries per second, each sent once the job before has finished")
	fs.BoolVar(&o.isolate, "isolate", false, "throughput and latency: park the workers (their Hub calls never answer) to measure the receiver alone")
	fs.StringVar(&o.pg, "pg", os.Getenv("HUBBOT_TEST_DATABASE_URL"), "stores: a Postgres server on which to create the bench databases (default $HUBBOT_TEST_DATABASE_URL)")
	fs.StringVar(&o.perfDir, "perf", "", "record the bot with `perf record -g` during the throughput and latency phases, into this dir")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.hubbot == "" {
		return nil, errors.New("-hubbot is required: build the binary with `go build -o DIR/hubbot .` and pass its path")
	}
	for p := range strings.SplitSeq(*phases, ",") {
		p = strings.TrimSpace(p)
		if known := append(phaseNames(), extraPhases()...); !slices.Contains(known, p) {
			return nil, fmt.Errorf("-phases: unknown phase %q (known: %s)", p, strings.Join(known, ", "))
		}
		o.phases = append(o.phases, p)
	}
	for c := range strings.SplitSeq(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-conns: %q is not a positive number", c)
		}
		o.conns = append(o.conns, n)
	}
	switch {
	case o.workers < 1:
		return nil, errors.New("-workers must be at least 1")
	case o.duration <= 0 || o.rateDuration <= 0 || o.warmup < 0:
		return nil, errors.New("-duration and -rate-duration must be positive, -warmup not negative")
	case o.rate <= 0 || o.pickupRate <= 0:
		return nil, errors.New("-rate and -pickup-rate must be positive")
	case o.pickupN < 1 || o.pickupN > 500:
		return nil, errors.New("-pickup-n must be between 1 and 500")
	case o.maxInFlight < 1:
		return nil, errors.New("-max-in-flight must be at least 1")
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "receiver: %v\n", err)
		return 2
	}
	rep, err := benchmark(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "receiver: %v\n", err)
		return 1
	}
	text := rep.String()
	fmt.Fprint(stdout, text)
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o750); err != nil {
			fmt.Fprintf(stderr, "receiver: write summary: %v\n", err)
			return 1
		}
		if err := os.WriteFile(o.out, []byte(text), 0o640); err != nil {
			fmt.Fprintf(stderr, "receiver: write summary: %v\n", err)
			return 1
		}
	}
	if rep.failed() {
		return 1
	}
	return 0
}

// benchmark runs the phases, each on a fresh bot, and collects a report.
// A phase that fails is reported as such; the others still run.
func benchmark(ctx context.Context, o *options, progress io.Writer) (*report, error) {
	bin, err := filepath.Abs(o.hubbot)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("hubbot binary: %w", err)
	}
	// Each run gets a directory of its own, so that no bot ever starts on
	// the database and queue of an earlier run.
	var dir string
	if o.dir == "" {
		if dir, err = os.MkdirTemp("", "hubbot-receiver-bench-"); err != nil {
			return nil, err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	} else {
		if err := os.MkdirAll(o.dir, 0o750); err != nil {
			return nil, err
		}
		if dir, err = os.MkdirTemp(o.dir, "run-"); err != nil {
			return nil, err
		}
	}
	if o.perfDir != "" {
		if err := os.MkdirAll(o.perfDir, 0o750); err != nil {
			return nil, err
		}
	}
	hub, err := startHub()
	if err != nil {
		return nil, err
	}
	defer hub.Close()

	runID := randomHex(4)
	secret := "bench-" + randomHex(16)
	env := botEnv{HubURL: hub.srv.URL, Token: hub.bot.Token, Secret: secret}
	loadEnv := env // for the throughput and latency phases
	if o.isolate {
		parking, err := startParkingHub(hub.srv.URL)
		if err != nil {
			return nil, err
		}
		defer parking.Close()
		loadEnv.HubURL = parking.URL
	}
	rep := &report{opts: o, started: time.Now(), version: hubbotVersion(bin), dir: dir, fs: filesystem(dir), load: loadAverage()}
	logf := func(format string, args ...any) { fmt.Fprintf(progress, "receiver: "+format+"\n", args...) }

	for _, phase := range o.phases {
		switch phase {
		case "throughput":
			for _, conns := range o.conns {
				name := fmt.Sprintf("throughput-%d", conns)
				logf("%s: closed loop, %d connections, %s warm-up + %s", name, conns, o.warmup, o.duration)
				refs := &refSource{prefix: runID + "-" + name}
				var res closedResult
				st := withBot(ctx, name, bin, filepath.Join(dir, name), loadEnv, o.workers, progress, func(b *botProc) error {
					s := newSender(b.base+webhookPath, secret, conns)
					build := func() ([]byte, error) { return contentPayload(hub.repo, refs.next()) }
					stopPerf := startPerf(o.perfDir, name, b, o.warmup+o.duration, progress)
					defer stopPerf()
					var err error
					res, err = closedLoop(ctx, s, build, conns, o.warmup, o.duration)
					return err
				})
				rep.throughput = append(rep.throughput, throughputRun{res, st})
			}
		case "latency":
			logf("latency: open loop, %v/s, %s warm-up + %s", o.rate, o.warmup, o.rateDuration)
			refs := &refSource{prefix: runID + "-latency"}
			var res openResult
			st := withBot(ctx, "latency", bin, filepath.Join(dir, "latency"), loadEnv, o.workers, progress, func(b *botProc) error {
				s := newSender(b.base+webhookPath, secret, o.maxInFlight)
				build := func() ([]byte, error) { return contentPayload(hub.repo, refs.next()) }
				stopPerf := startPerf(o.perfDir, "latency", b, o.warmup+o.rateDuration, progress)
				defer stopPerf()
				var err error
				res, err = openLoop(ctx, s, build, o.rate, o.warmup, o.rateDuration, o.maxInFlight)
				return err
			})
			rep.latency = &latencyRun{res, st}
		case "pickup":
			logf("pickup: creating %d branches on the fake Hub", o.pickupN)
			updates, err := hub.branches(ctx, runID+"-pickup", o.pickupN)
			if err != nil {
				rep.pickup = &pickupRun{stats: phaseStats{Name: "pickup", Err: err}}
				continue
			}
			logf("pickup: %d deliveries, at most %v/s, each once the job before has finished", o.pickupN, o.pickupRate)
			var res pickupResult
			st := withBot(ctx, "pickup", bin, filepath.Join(dir, "pickup"), env, o.workers, progress, func(b *botProc) error {
				s := newSender(b.base+webhookPath, secret, 4)
				build := func(u refUpdate) ([]byte, error) { return contentPayload(hub.repo, u) }
				var err error
				res, err = pickupPhase(ctx, s, b.base, updates, build, o.pickupRate, time.Minute)
				return err
			})
			rep.pickup = &pickupRun{res, st}
		case "stores":
			rep.stores = storesPhase(ctx, o, hub, env, bin, dir, runID, o.pg, logf)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	rep.loadEnd = loadAverage()
	rep.finished = time.Now()
	return rep, nil
}

// phaseStats is what surrounds a phase's own measurement: the machine and
// the bot's costs while it ran.
type phaseStats struct {
	Name                string
	Wall                time.Duration
	Startup, Shutdown   time.Duration
	LoadBefore, LoadEnd string
	BotCPU              float64 // seconds of CPU the bot used during the phase
	BenchCPU            float64 // seconds of CPU this process used (load generator and fake Hub)
	Jobs                counts  // jobs of the bench action entering each state during the phase
	QueueDepth          float64 // jobs still queued at the end
	Dir                 string
	Err                 error
}

// withBot starts a fresh bot, runs fn against it, and stops it, noting the
// costs of the phase. Errors are kept in the stats rather than returned,
// so that one failed phase does not hide the others.
func withBot(ctx context.Context, name, bin, dir string, env botEnv, workers int, progress io.Writer, fn func(*botProc) error) phaseStats {
	st := phaseStats{Name: name, Dir: dir, LoadBefore: loadAverage()}
	b, err := startBot(ctx, bin, dir, env, workers)
	if err != nil {
		st.Err = err
		return st
	}
	st.Startup = b.Startup
	client := &http.Client{Timeout: 10 * time.Second}
	before, errBefore := b.metrics(ctx, client)
	cpuBefore := selfCPU()
	began := time.Now()
	st.Err = fn(b)
	st.Wall = time.Since(began)
	st.BenchCPU = selfCPU() - cpuBefore
	after, errAfter := b.metrics(ctx, client)
	if err := errors.Join(errBefore, errAfter); err == nil {
		st.BotCPU = after.sum("process_cpu_seconds_total") - before.sum("process_cpu_seconds_total")
		st.QueueDepth = after.sum("hubbot_queue_depth")
		st.Jobs = counts{}
		for _, state := range []string{"queued", "running", "succeeded", "failed", "cancelled", "skipped"} {
			a, l := `action="`+benchAction+`"`, `state="`+state+`"`
			if d := after.sum("hubbot_jobs_total", a, l) - before.sum("hubbot_jobs_total", a, l); d > 0 {
				st.Jobs[state] = int(d)
			}
		}
	} else {
		fmt.Fprintf(progress, "receiver: %s: %v\n", name, err)
	}
	st.LoadEnd = loadAverage()
	took, err := b.stop()
	st.Shutdown = took
	st.Err = errors.Join(st.Err, err)
	return st
}

// startPerf records the bot with perf for d, when dir is set; the returned
// func waits for the recording to end.
func startPerf(dir, name string, b *botProc, d time.Duration, progress io.Writer) func() {
	if dir == "" {
		return func() {}
	}
	out := filepath.Join(dir, name+".perf.data")
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-p", b.pid(), "-o", out, "--",
		"sleep", strconv.FormatFloat(d.Seconds(), 'f', 1, 64))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(progress, "receiver: perf: %v\n", err)
		return func() {}
	}
	return func() {
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(progress, "receiver: perf: %v\n", err)
			return
		}
		fmt.Fprintf(progress, "receiver: perf: %s (perf report -i %s --no-children)\n", out, out)
	}
}

// selfCPU is the CPU time this process has used, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
