package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type throughputRun struct {
	res   closedResult
	stats phaseStats
}

type latencyRun struct {
	res   openResult
	stats phaseStats
}

type pickupRun struct {
	res   pickupResult
	stats phaseStats
}

// report is the outcome of a benchmark run.
type report struct {
	opts              *options
	version           string
	dir               string
	fs                string // type of the filesystem under dir
	started, finished time.Time
	load, loadEnd     string
	throughput        []throughputRun
	latency           *latencyRun
	pickup            *pickupRun
	stores            []storeRun
}

// verdict compares a result with its target; a phase with errors misses
// its target whatever its numbers.
func verdict(ok bool, err error, errors int) string {
	switch {
	case err != nil:
		return "FAILED"
	case errors > 0:
		return "MISSED (errors)"
	case ok:
		return "met"
	}
	return "MISSED"
}

// failed reports whether a phase could not run at all. A missed target is
// a result, not a failure.
func (r *report) failed() bool {
	for _, t := range r.throughput {
		if t.stats.Err != nil {
			return true
		}
	}
	return r.latency != nil && r.latency.stats.Err != nil || r.pickup != nil && r.pickup.stats.Err != nil
}

func (r *report) String() string {
	var b strings.Builder
	o := r.opts
	fmt.Fprintf(&b, "hubbot webhook receiver benchmark, %s\n", r.started.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "machine: %d CPUs, %s/%s; load average at start %s, at end %s\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, r.load, r.loadEnd)
	fmt.Fprintf(&b, "bot: %s; workers.concurrency=%d; embedded SQLite (WAL, synchronous=FULL) under %s (filesystem %s); one fresh bot per phase\n",
		r.version, o.workers, r.dir, r.fs)
	fmt.Fprintf(&b, "load: v3 repo.content pushes of new branches (unique ref and sha each), %d bytes, keep-alive connections\n",
		r.payloadSize())
	if o.isolate {
		fmt.Fprintf(&b, "-isolate: during throughput and latency the workers are parked in their first Hub call; the receiver has the database to itself\n")
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tresult\ttarget\tverdict")
	fmt.Fprintln(tw, "-------\t------\t------\t-------")
	for _, t := range r.throughput {
		fmt.Fprintf(tw, "accepted deliveries/s, closed loop, %d conns\t%s\t>= %d/s\t%s\n", t.res.Conns,
			orFailed(t.stats.Err, fmt.Sprintf("%.0f/s", t.res.PerSecond())), targetPerSecond,
			verdict(t.res.PerSecond() >= targetPerSecond, t.stats.Err, t.res.Errors.counts.total()))
	}
	if l := r.latency; l != nil {
		errs := l.res.Errors.counts.total()
		fmt.Fprintf(tw, "answer latency at %v/s, p50\t%s\t\t\n", o.rate, orFailed(l.stats.Err, ms(l.res.Latency.P50)))
		fmt.Fprintf(tw, "answer latency at %v/s, p90\t%s\t\t\n", o.rate, orFailed(l.stats.Err, ms(l.res.Latency.P90)))
		fmt.Fprintf(tw, "answer latency at %v/s, p99\t%s\t< %s\t%s\n", o.rate, orFailed(l.stats.Err, ms(l.res.Latency.P99)),
			ms(targetP99), verdict(l.res.Latency.P99 < targetP99, l.stats.Err, errs))
		fmt.Fprintf(tw, "answer latency at %v/s, max\t%s\t\t\n", o.rate, orFailed(l.stats.Err, ms(l.res.Latency.Max)))
	}
	if p := r.pickup; p != nil {
		errs := p.res.Errors.counts.total() + p.res.Unstated
		fmt.Fprintf(tw, "job pickup p50, %d deliveries, idle workers\t%s\t< %s\t%s\n", o.pickupN,
			orFailed(p.stats.Err, ms(p.res.Pickup.P50)), ms(targetPickupP50),
			verdict(p.res.Pickup.P50 < targetPickupP50, p.stats.Err, errs))
	}
	tw.Flush()

	for _, t := range r.throughput {
		fmt.Fprintf(&b, "\n%s: closed loop, %d connections, %s warm-up + %s measured\n", t.stats.Name, t.res.Conns, o.warmup, o.duration)
		if t.stats.Err == nil {
			fmt.Fprintf(&b, "  accepted         %d in %s = %.0f/s (sent %d in all, warm-up included)\n",
				t.res.Accepted, t.res.Window, t.res.PerSecond(), t.res.Sent)
			fmt.Fprintf(&b, "  202s by second   %s\n", joinInts(t.res.BySecond))
			fmt.Fprintf(&b, "  answer latency   %s\n", t.res.Latency)
			fmt.Fprintf(&b, "  errors           %s\n", t.res.Errors)
		}
		writeStats(&b, t.stats, r.loadNote(), r.kept())
	}
	if l := r.latency; l != nil {
		fmt.Fprintf(&b, "\nlatency: open loop, %v/s, %s warm-up + %s measured\n", o.rate, o.warmup, o.rateDuration)
		if l.stats.Err == nil {
			fmt.Fprintf(&b, "  accepted         %d of %d measured (sent %d in all)\n", l.res.Accepted, l.res.Measured, l.res.Sent)
			fmt.Fprintf(&b, "  latency (due)    %s\n", l.res.Latency)
			fmt.Fprintf(&b, "  service (sent)   %s\n", l.res.Service)
			fmt.Fprintf(&b, "  generator lag    %s\n", l.res.Lag)
			fmt.Fprintf(&b, "  errors           %s\n", l.res.Errors)
		}
		writeStats(&b, l.stats, r.loadNote(), r.kept())
	}
	if p := r.pickup; p != nil {
		fmt.Fprintf(&b, "\npickup: %d deliveries, at most %v/s and each once the job before finished (a worker is always free);\n"+
			"  each pushes a branch that exists on the fake Hub, so every job clones, runs `true` and reports\n", o.pickupN, o.pickupRate)
		if p.stats.Err == nil {
			fmt.Fprintf(&b, "  202 -> started   %s\n", p.res.Pickup)
			fmt.Fprintf(&b, "  send -> started  %s\n", p.res.FromSend)
			fmt.Fprintf(&b, "  job run time     %s\n", p.res.Run)
			fmt.Fprintf(&b, "  final states     %s; not started in time: %d\n", p.res.States, p.res.Unstated)
			fmt.Fprintf(&b, "  errors           %s\n", p.res.Errors)
		}
		writeStats(&b, p.stats, "each job run to the end included", r.kept())
	}
	writeStores(&b, r.stores, o)
	fmt.Fprintf(&b, "\ntook %s\n", r.finished.Sub(r.started).Round(time.Second))
	return b.String()
}

// writeStats writes what surrounds a phase; cpuNote says what the bot's
// CPU per delivery covers.
func writeStats(b *strings.Builder, st phaseStats, cpuNote string, kept bool) {
	if st.Err != nil {
		fmt.Fprintf(b, "  FAILED: %v\n", st.Err)
	}
	if st.Wall > 0 {
		fmt.Fprintf(b, "  CPU              bot %.1f s (%.2f cores); bench process, load generator and fake Hub, %.1f s (%.2f cores)\n",
			st.BotCPU, st.BotCPU/st.Wall.Seconds(), st.BenchCPU, st.BenchCPU/st.Wall.Seconds())
		if n := st.Jobs["queued"]; n > 0 {
			// Each delivery queues one job. Unlike a rate, CPU per
			// delivery hardly depends on what else the machine runs.
			fmt.Fprintf(b, "  bot CPU/delivery %.2f ms (%d deliveries queued; %s)\n", 1000*st.BotCPU/float64(n), n, cpuNote)
		}
		fmt.Fprintf(b, "  jobs             %s; still queued at the end: %.0f\n", st.Jobs, st.QueueDepth)
	}
	fmt.Fprintf(b, "  load average     %s before, %s after\n", st.LoadBefore, st.LoadEnd)
	where := "data and log in " + st.Dir
	if !kept {
		where = "data and log removed (-keep keeps them)"
	}
	fmt.Fprintf(b, "  bot              ready in %s, stopped in %s after SIGTERM; %s\n",
		st.Startup.Round(time.Millisecond), st.Shutdown.Round(time.Millisecond), where)
}

// kept reports whether the bots' data dirs outlive the run.
func (r *report) kept() bool { return r.opts.keep || r.opts.dir != "" }

// loadNote says what the bot did besides receiving in the load phases.
func (r *report) loadNote() string {
	if r.opts.isolate {
		return "workers parked: the receiver alone"
	}
	return "with the jobs its workers ran meanwhile"
}

func orFailed(err error, s string) string {
	if err != nil {
		return "-"
	}
	return s
}

// payloadSize is the size of one delivery, for the record.
func (r *report) payloadSize() int {
	b, err := contentPayload(repoInfo{Name: benchRepo, ID: strings.Repeat("0", 24), OwnerID: strings.Repeat("0", 24),
		Web: "http://127.0.0.1:40000/" + benchRepo, API: "http://127.0.0.1:40000/api/models/" + benchRepo,
		Head: strings.Repeat("0", 40)}, (&refSource{prefix: "00000000-throughput-64"}).next())
	if err != nil {
		return 0
	}
	return len(b)
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, " ")
}
