package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// distribution summarises a set of durations.
type distribution struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// summarize sorts a copy of ds and takes nearest-rank percentiles: the
// p-th percentile is the smallest value with at least p% of the set at or
// below it, so p99 of 100 values is the 99th, not an interpolation.
func summarize(ds []time.Duration) distribution {
	if len(ds) == 0 {
		return distribution{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return distribution{N: len(s), P50: rank(s, 50), P90: rank(s, 90), P99: rank(s, 99), Max: s[len(s)-1]}
}

func rank(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted) + 99) / 100 // ceil(p/100 * n), 1-based
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

// ms renders a duration in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func (d distribution) String() string {
	if d.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  (n=%d)", ms(d.P50), ms(d.P90), ms(d.P99), ms(d.Max), d.N)
}

// counts is a tally by label, such as answers by HTTP status.
type counts map[string]int

func (c counts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func (c counts) String() string {
	if len(c) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, c[k])
	}
	return strings.Join(parts, ", ")
}

// metricSet is a scrape of Prometheus text exposition: the value of every
// series, keyed by its name and labels as exposed ("name{a=\"b\"}").
type metricSet map[string]float64

// parseMetrics reads the text format. Only what the benchmark needs is
// supported: one sample per line, no timestamps required.
func parseMetrics(r io.Reader) (metricSet, error) {
	m := metricSet{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The series may hold spaces inside label values; the value follows
		// the closing brace, or the name when there are no labels.
		cut := strings.LastIndexByte(line, '}')
		if cut < 0 {
			cut = strings.IndexByte(line, ' ')
			if cut < 0 {
				return nil, fmt.Errorf("read metrics: no value in %q", line)
			}
		} else {
			cut++
		}
		series := line[:cut]
		fields := strings.Fields(line[cut:])
		if len(fields) == 0 {
			return nil, fmt.Errorf("read metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("read metrics: value of %s: %w", series, err)
		}
		m[series] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return m, nil
}

// sum adds the series of a metric whose labels include every given
// name="value" pair.
func (m metricSet) sum(name string, labels ...string) float64 {
	total := 0.0
	for series, v := range m {
		base, rest, _ := strings.Cut(series, "{")
		if base != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
				break
			}
		}
		if ok {
			total += v
		}
	}
	return total
}

// loadAverage returns the 1, 5 and 15 minute load averages as uptime shows
// them, or "n/a" off Linux.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

// filesystem names the type of the filesystem holding dir, from
// /proc/self/mounts (the longest mount point that contains it), since an
// fsync on tmpfs costs nothing and on a disk most of a commit; "unknown"
// off Linux.
func filesystem(dir string) string {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "unknown"
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	best, kind := "", "unknown"
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mount := f[1]
		inside := dir == mount || strings.HasPrefix(dir, strings.TrimSuffix(mount, "/")+"/")
		if inside && len(mount) >= len(best) {
			best, kind = mount, f[2]
		}
	}
	return kind
}
