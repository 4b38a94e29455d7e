package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// storeSetup is one store the stores phase compares: the embedded SQLite
// store, or Postgres with one or several replicas behind a round-robin
// sender.
type storeSetup struct {
	Name     string
	Postgres bool
	Replicas int
}

var storeSetups = []storeSetup{
	{"sqlite", false, 1},
	{"postgres x1", true, 1},
	{"postgres x3", true, 3},
}

// storeRun is what the stores phase measured on one store.
type storeRun struct {
	Setup      storeSetup
	Throughput closedResult
	Latency    openResult
	LatencyErr error // set when the store could not keep the rate
	Pickup     pickupResult
	Err        error
}

// storesPhase measures pickup, answer latency (open loop) and ingest
// (closed loop) on each store in turn, in the same run, so that the figures can be
// read as ratios against SQLite. Each Postgres setup gets a database of
// its own on the server at pgURL.
func storesPhase(ctx context.Context, o *options, hub *fakeHub, env botEnv, bin, dir, runID, pgURL string, logf func(string, ...any)) []storeRun {
	var out []storeRun
	for i, setup := range storeSetups {
		run := storeRun{Setup: setup}
		e := env
		if setup.Postgres {
			if pgURL == "" {
				run.Err = errors.New("no Postgres: pass -pg postgres://... or set HUBBOT_TEST_DATABASE_URL")
				out = append(out, run)
				continue
			}
			dbURL, drop, err := freshDatabase(ctx, pgURL, fmt.Sprintf("hubbot_bench_%s_%d", runID, i))
			if err != nil {
				run.Err = err
				out = append(out, run)
				continue
			}
			defer drop()
			e.DatabaseURL = dbURL
		}
		logf("stores: %s: %d replica(s)", setup.Name, setup.Replicas)
		run.Err = withReplicas(ctx, bin, filepath.Join(dir, "stores-"+strings.ReplaceAll(setup.Name, " ", "")), e, o.workers, setup.Replicas,
			func(bots []*botProc) error {
				urls := make([]string, len(bots))
				for i, b := range bots {
					urls[i] = b.base + webhookPath
				}
				conns := o.conns[0]
				s := newSender(urls[0], env.Secret, max(conns, o.maxInFlight))
				s.more = urls[1:]
				refs := &refSource{prefix: runID + "-stores-" + fmt.Sprint(i)}
				build := func() ([]byte, error) { return contentPayload(hub.repo, refs.next()) }
				// Pickup first, while the workers are idle; the load phases
				// leave a backlog behind them. Every store runs the same
				// sequence, so the figures compare.
				updates, err := hub.branches(ctx, fmt.Sprintf("%s-stores%d-pickup", runID, i), o.pickupN)
				if err != nil {
					return err
				}
				if run.Pickup, err = pickupPhase(ctx, s, bots[0].base, updates,
					func(u refUpdate) ([]byte, error) { return contentPayload(hub.repo, u) }, o.pickupRate, time.Minute); err != nil {
					return err
				}
				// A store that cannot keep the rate is a finding, not a
				// failed run: the table says so, and ingest is measured all
				// the same.
				run.Latency, err = openLoop(ctx, s, build, o.rate, o.warmup, o.rateDuration, o.maxInFlight)
				if errors.Is(err, errMaxInFlight) {
					run.LatencyErr, err = err, nil
				}
				if err != nil {
					return err
				}
				run.Throughput, err = closedLoop(ctx, s, build, conns, o.warmup, o.duration)
				return err
			})
		out = append(out, run)
		if ctx.Err() != nil {
			break
		}
	}
	return out
}

// withReplicas starts n bots on one store, runs fn, and stops them.
func withReplicas(ctx context.Context, bin, dir string, env botEnv, workers, n int, fn func([]*botProc) error) error {
	var bots []*botProc
	defer func() {
		for _, b := range bots {
			b.stop()
		}
	}()
	for i := range n {
		b, err := startBot(ctx, bin, filepath.Join(dir, fmt.Sprintf("replica-%d", i)), env, workers)
		if err != nil {
			return err
		}
		bots = append(bots, b)
	}
	return fn(bots)
}

// freshDatabase creates a database on the server at admin and returns its
// URL and a function that drops it.
func freshDatabase(ctx context.Context, admin, name string) (string, func(), error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, fmt.Errorf("-pg: not a URL")
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect to Postgres at %s: %w", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// writeStores writes the stores table, with ratios against SQLite.
func writeStores(b *strings.Builder, runs []storeRun, o *options) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintf(b, "\nstores: the same load on each store, in this run; %d conns closed loop, %v/s open loop, %d pickups\n",
		o.conns[0], o.rate, o.pickupN)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "store\tdeliveries/s\tvs sqlite\tp50 at rate\tp99 at rate\tpickup p50\tpickup p99\terrors")
	var base float64
	for _, r := range runs {
		if r.Err != nil {
			fmt.Fprintf(tw, "%s\tFAILED: %v\t\t\t\t\t\t\n", r.Setup.Name, r.Err)
			continue
		}
		per := r.Throughput.PerSecond()
		if r.Setup.Name == "sqlite" {
			base = per
		}
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.2fx", per/base)
		}
		errs := r.Throughput.Errors.counts.total() + r.Latency.Errors.counts.total() + r.Pickup.Errors.counts.total() + r.Pickup.Unstated
		p50, p99 := ms(r.Latency.Latency.P50), ms(r.Latency.Latency.P99)
		if r.LatencyErr != nil {
			p50, p99 = "missed the rate", fmt.Sprintf("(%d in flight)", o.maxInFlight)
		}
		fmt.Fprintf(tw, "%s\t%.0f/s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Setup.Name, per, ratio,
			p50, p99, ms(r.Pickup.Pickup.P50), ms(r.Pickup.Pickup.P99), errs)
	}
	tw.Flush()
}
