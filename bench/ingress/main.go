//go:build linux

// Command ingress measures what an attack on the webhook receiver costs the
// bot: for each hubbot binary given, it starts `hubbot serve` on loopback in
// dry-run with its own data dir, sends valid deliveries at a fixed rate,
// first alone and then while N attackers keep POSTing large bodies with a
// wrong secret, and reports the bot's peak RSS and the valid deliveries'
// answers and latency. See run.sh.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const secret = "bench-ingress-secret-0123456789"

func main() {
	var (
		bins      = flag.String("bins", "", "comma-separated name=path of hubbot binaries, e.g. new=/tmp/hubbot,old=/tmp/hubbot-old")
		attackers = flag.Int("attackers", 300, "concurrent wrong-secret senders")
		size      = flag.Int("size", 4<<20, "bytes of each attacking body")
		rate      = flag.Int("rate", 20, "valid deliveries per second")
		calm      = flag.Duration("calm", 5*time.Second, "valid deliveries alone, before the attack")
		attack    = flag.Duration("attack", 20*time.Second, "valid deliveries under attack")
		dir       = flag.String("dir", "", "work directory (default: a temp dir, removed)")
	)
	flag.Parse()
	if *bins == "" {
		fmt.Fprintln(os.Stderr, "ingress: -bins is required")
		os.Exit(2)
	}
	work := *dir
	if work == "" {
		d, err := os.MkdirTemp("", "hubbot-ingress-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "ingress:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		work = d
	}
	junk := bytes.Repeat([]byte("x"), *size)
	fmt.Printf("%d attackers x %d-byte bodies with a wrong secret; valid deliveries at %d/s (%s calm, %s under attack)\n\n",
		*attackers, *size, *rate, *calm, *attack)
	fmt.Printf("%-6s %-8s %10s %10s %10s %10s %10s %12s %12s\n", "binary", "phase", "valid", "answered", "p50", "p99", "max", "attack reqs", "peak RSS MB")
	failed := false
	for _, spec := range strings.Split(*bins, ",") {
		name, bin, ok := strings.Cut(spec, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "ingress: -bins entry %q is not name=path\n", spec)
			os.Exit(2)
		}
		if err := runOne(name, bin, filepath.Join(work, name), junk, *attackers, *rate, *calm, *attack); err != nil {
			fmt.Fprintf(os.Stderr, "ingress: %s: %v\n", name, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func runOne(name, bin, dir string, junk []byte, attackers, rate int, calm, attack time.Duration) error {
	bot, err := start(bin, dir)
	if err != nil {
		return err
	}
	defer bot.stop()
	rss := &rssSampler{pid: bot.cmd.Process.Pid}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rss.run(ctx)

	v := valid(ctx, bot.url, rate, calm)
	fmt.Printf("%-6s %-8s %s %10s %12s\n", name, "calm", v, "-", fmtMB(rss.peak()))

	actx, stopAttack := context.WithCancel(ctx)
	var sent atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: attackers, MaxConnsPerHost: 0}}
	for range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for actx.Err() == nil {
				req, _ := http.NewRequestWithContext(actx, http.MethodPost, bot.url, bytes.NewReader(junk))
				req.Header.Set("X-Webhook-Secret", "wrong-secret")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				sent.Add(1)
			}
		}()
	}
	time.Sleep(time.Second) // let the attack build up before measuring
	v = valid(ctx, bot.url, rate, attack)
	stopAttack()
	wg.Wait()
	fmt.Printf("%-6s %-8s %s %10d %12s\n", name, "attacked", v, sent.Load(), fmtMB(max(rss.peak(), bot.hwm())))
	if !bot.alive() {
		return fmt.Errorf("the bot died under attack; see %s", bot.logPath)
	}
	return nil
}

// validResult sums up the valid deliveries of a phase.
type validResult struct {
	sent, ok  int
	latencies []time.Duration
}

func (r validResult) String() string {
	slices.Sort(r.latencies)
	q := func(p float64) string {
		if len(r.latencies) == 0 {
			return "-"
		}
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))].Round(100 * time.Microsecond).String()
	}
	maxL := "-"
	if len(r.latencies) > 0 {
		maxL = r.latencies[len(r.latencies)-1].Round(100 * time.Microsecond).String()
	}
	return fmt.Sprintf("%10d %10s %10s %10s %10s", r.sent, fmt.Sprintf("%d 2xx", r.ok), q(0.5), q(0.99), maxL)
}

// valid sends rate valid deliveries a second for d, open loop, each a
// distinct push so that none is a duplicate, and measures each answer.
func valid(ctx context.Context, url string, rate int, d time.Duration) validResult {
	client := &http.Client{Timeout: 30 * time.Second}
	var mu sync.Mutex
	var res validResult
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.After(d)
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return res
		case <-end:
			wg.Wait()
			return res
		case <-tick.C:
		}
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			body := payload(n)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
			req.Header.Set("X-Webhook-Secret", secret)
			req.Header.Set("Content-Type", "application/json")
			began := time.Now()
			resp, err := client.Do(req)
			took := time.Since(began)
			ok := false
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ok = resp.StatusCode/100 == 2
			}
			mu.Lock()
			res.sent++
			if ok {
				res.ok++
				res.latencies = append(res.latencies, took)
			}
			mu.Unlock()
		}(n)
	}
}

// payload is a v3 repo.content push of a new sha on main.
func payload(n int) string {
	sha := fmt.Sprintf("%040x", time.Now().UnixNano()+int64(n))
	return `{"event":{"action":"update","scope":"repo.content"},"repo":{"type":"model","name":"bench/tiny",` +
		`"id":"6573b6a7f2b8d4e5a1c3d2e1","private":false,"url":{"web":"https://huggingface.co/bench/tiny",` +
		`"api":"https://huggingface.co/api/models/bench/tiny"},"headSha":"` + sha + `","owner":{"id":"6573b6a7f2b8d4e5a1c3d2e0"}},` +
		`"updatedRefs":[{"ref":"refs/heads/main","oldSha":null,"newSha":"` + sha + `"}],` +
		`"webhook":{"id":"6573b6a7f2b8d4e5a1c3d2ff","version":3}}`
}

type botProc struct {
	cmd     *exec.Cmd
	url     string
	base    string
	logPath string
	done    chan struct{}
}

// start runs `hubbot serve` in dry-run (no token: nothing reaches a Hub) on
// a free loopback port with its own data dir, and waits for /readyz.
func start(bin, dir string) (*botProc, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := filepath.Join(dir, "config.toml")
	doc := fmt.Sprintf("[server]\nlisten = \"127.0.0.1:%d\"\nlog_level = \"warn\"\n[hub]\nendpoint = \"http://127.0.0.1:1\"\n[store]\ndata_dir = %q\n",
		port, filepath.Join(dir, "data"))
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "hubbot.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Env = []string{"WEBHOOK_SECRET=" + secret, "PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &botProc{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), logPath: logPath, done: make(chan struct{})}
	b.url = b.base + "/webhooks/hub"
	go func() { cmd.Wait(); close(b.done) }()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(b.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b, nil
			}
		}
		if !b.alive() {
			return nil, fmt.Errorf("hubbot exited at start; see %s", logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.stop()
	return nil, errors.New("hubbot never became ready")
}

func (b *botProc) alive() bool {
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

func (b *botProc) stop() {
	if b.alive() {
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(15 * time.Second):
			b.cmd.Process.Kill()
			<-b.done
		}
	}
}

// hwm is the kernel's peak resident set of the bot (VmHWM), in bytes.
func (b *botProc) hwm() int64 { return statusKB(b.cmd.Process.Pid, "VmHWM:") * 1024 }

// rssSampler keeps the largest VmRSS seen, in case VmHWM is not available.
type rssSampler struct {
	pid int
	max atomic.Int64
}

func (s *rssSampler) run(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if v := statusKB(s.pid, "VmRSS:") * 1024; v > s.max.Load() {
			s.max.Store(v)
		}
	}
}

func (s *rssSampler) peak() int64 { return s.max.Load() }

func statusKB(pid int, key string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func fmtMB(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
