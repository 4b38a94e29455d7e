package hubclient_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
	"github.com/hubbot/hubbot/lfs"
)

// BenchmarkUpload commits one large file through the whole upload path
// against hubtest on loopback: hashing, preupload, the LFS batch, multipart
// parts to the fake CDN, completion, verify and the commit call. It reports
// MB/s and the peak memory of the process during the upload, which must not
// grow with the size of the file. bench/upload/run.sh runs both sizes and
// prints a table.
//
// The client and the fake Hub share the process, so the peak covers both;
// hubtest keeps only one byte of each request body and the last requests
// (Options.MaxRecordedBody, MaxRecordedRequests) so that its request log,
// which grows with the number of parts, does not pass for the client's.
func BenchmarkUpload(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int64
	}{
		{"100MiB", 100 << 20},
		{"1GiB", 1 << 30},
	} {
		b.Run("size="+size.name, func(b *testing.B) { benchmarkUpload(b, size.bytes) })
	}
}

func benchmarkUpload(b *testing.B, size int64) {
	srv, err := hubtest.New(hubtest.Options{MaxRecordedBody: 1, MaxRecordedRequests: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	alice := srv.AddUser("alice")
	path := filepath.Join(b.TempDir(), "weights.bin")
	sum, err := writeRandomFile(path, size, 1)
	if err != nil {
		b.Fatal(err)
	}
	c, err := hubclient.New(hubclient.Options{Endpoint: srv.URL, Token: alice.Token})
	if err != nil {
		b.Fatal(err)
	}

	var peak, base memory
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// A fresh repo each time: the Hub keeps LFS objects per repo, so the
		// content is uploaded again instead of being found already there.
		id := fmt.Sprintf("alice/bench-%d", i)
		if _, err := srv.CreateRepo(alice, hubtest.RepoSpec{ID: id}); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		base = base.max(readMemory())
		stop := sampleMemory(2 * time.Millisecond)
		b.StartTimer()

		res, err := c.CreateCommit(b.Context(), hubclient.Repo{ID: id}, hubclient.CommitRequest{
			Summary: "Add weights",
			Files:   []hubclient.CommitFile{{PathInRepo: "weights.bin", LocalPath: path}},
		})

		b.StopTimer()
		peak = peak.max(stop())
		if err != nil {
			b.Fatal(err)
		}
		if head, _ := srv.Ref(id, "main"); head != res.CommitOID {
			b.Fatalf("main is at %s, the commit answered %s", head, res.CommitOID)
		}
		raw, err := srv.RawFile(id, "main", "weights.bin")
		if err != nil {
			b.Fatal(err)
		}
		if p, ok := lfs.Parse(raw); !ok || p.OID != sum || p.Size != size {
			b.Fatalf("weights.bin is %q, want a pointer to %s (%d bytes)", raw, sum, size)
		}
		b.StartTimer()
	}
	b.StopTimer()
	const mib = 1 << 20
	b.ReportMetric(float64(base.heap)/mib, "base-heap-MiB")
	b.ReportMetric(float64(peak.heap)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(peak.total)/mib, "peak-sys-MiB")
}

// memory is what the Go runtime holds: heap is MemStats.HeapInuse (spans
// with objects, live or not yet swept), total is MemStats.Sys (everything
// mapped from the OS).
type memory struct{ heap, total uint64 }

func (m memory) max(o memory) memory { return memory{max(m.heap, o.heap), max(m.total, o.total)} }

// readMemory reads the runtime's memory classes. runtime/metrics does not
// stop the world, unlike runtime.ReadMemStats, so sampling every few
// milliseconds does not slow the upload down.
func readMemory() memory {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	metrics.Read(samples)
	return memory{
		heap:  samples[0].Value.Uint64() + samples[1].Value.Uint64(),
		total: samples[2].Value.Uint64(),
	}
}

// sampleMemory reads the memory every interval until the returned function
// is called, which returns the highest values seen.
func sampleMemory(interval time.Duration) (stop func() memory) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak memory
	wg.Go(func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			peak = peak.max(readMemory())
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	})
	return func() memory {
		close(done)
		wg.Wait()
		return peak.max(readMemory())
	}
}
