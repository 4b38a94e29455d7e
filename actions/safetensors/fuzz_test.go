package safetensors

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Fuzzing runs with small limits so that the allocation bound it checks is
// tight: whatever the input, the unpickler may allocate at most what it
// charged against Limits.MaxPickleMemory plus a fixed slack (its 64 KiB
// read buffer and bookkeeping), and a whole conversion at most the pickle
// budget plus a multiple of the input size (archive/zip's directory, a
// non-contiguous tensor read into memory when the source is not a file)
// plus its fixed buffers.
//
//	go test ./actions/safetensors -run '^$' -fuzz FuzzUnpickle -fuzztime 5m
//	go test ./actions/safetensors -run '^$' -fuzz FuzzConvert -fuzztime 5m
var fuzzLimits = Limits{
	MaxPickleBytes:  1 << 20,
	MaxPickleMemory: 8 << 20,
	MaxZipEntries:   1 << 12,
	MaxGatherBytes:  8 << 20,
}

const (
	unpickleSlack = 256 << 10
	convertSlack  = 8 << 20
)

// convertBound is the most a conversion of an input of n bytes may allocate.
func convertBound(n int) uint64 {
	return uint64(fuzzLimits.MaxPickleMemory) + 16*uint64(n) + convertSlack
}

// unpickleWithBudget decodes data and returns what the unpickler charged.
func unpickleWithBudget(data []byte) (int64, error) {
	u := newUnpickler(bytes.NewReader(data), 0, int64(len(data)), fuzzLimits.withDefaults())
	u.persistentLoad = func(pid any) (any, error) {
		t, ok := pid.(*pyTuple)
		if !ok || len(t.items) != 5 {
			return nil, refuse(ErrMalformed, "bad persistent id")
		}
		typ, key, numel, err := storagePID(t.items)
		if err != nil {
			return nil, err
		}
		size, ok := mulNonNeg(numel, typ.dt.size)
		if !ok {
			return nil, refuse(ErrMalformed, "storage too large")
		}
		rec := &record{name: key, size: size}
		return &storageRef{rec: rec, elem: typ.dt, size: size}, nil
	}
	v, err := u.load()
	if err == nil {
		_, _ = stateDict(&checkpoint{obj: v})
	}
	return u.mem, err
}

// zipPickles returns the data.pkl of every zip fixture.
func zipPickles(t testing.TB) [][]byte {
	var out [][]byte
	for _, dir := range []string{"testdata/good", "testdata/bad"} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			zr, err := zip.OpenReader(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			for _, f := range zr.File {
				if strings.HasSuffix(f.Name, "/data.pkl") && f.UncompressedSize64 < 1<<16 {
					rc, err := f.Open()
					if err == nil {
						b, _ := io.ReadAll(rc)
						rc.Close()
						out = append(out, b)
					}
					break
				}
			}
			zr.Close()
		}
	}
	return out
}

// fixtureFiles returns the bytes of every fixture file below 64 KiB.
func fixtureFiles(t testing.TB) [][]byte {
	var out [][]byte
	for _, dir := range []string{"testdata/good", "testdata/bad"} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			if len(b) < 1<<16 {
				out = append(out, b)
			}
		}
	}
	return out
}

func FuzzUnpickle(f *testing.F) {
	for _, b := range zipPickles(f) {
		f.Add(b)
	}
	for _, s := range []string{"\x80\x02}q\x00.", "\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00]\x94K\x01a.", "(((ttt."} {
		f.Add([]byte(s))
	}
	heapAllocated() // runtime/metrics allocates its tables on first use
	f.Fuzz(func(t *testing.T, data []byte) {
		var grew uint64
		var charged int64
		// A second run tells a real excess (deterministic) from an
		// allocation elsewhere in the process during the first.
		for range 2 {
			before := heapAllocated()
			charged, _ = unpickleWithBudget(data)
			if grew = heapAllocated() - before; grew <= uint64(charged)+unpickleSlack {
				return
			}
		}
		t.Fatalf("allocated %d bytes, charged %d (input %d bytes)", grew, charged, len(data))
	})
}

// convertBytes runs the whole conversion of data into out, from memory.
func convertBytes(data []byte, out *os.File) (*FileResult, error) {
	src := &source{r: bytes.NewReader(data), size: int64(len(data)), lim: fuzzLimits.withDefaults()}
	return convertTo(context.Background(), src, &sink{w: out, back: out}, &Options{Limits: fuzzLimits})
}

func FuzzConvert(f *testing.F) {
	for _, b := range fixtureFiles(f) {
		f.Add(b)
	}
	// One output file per fuzzing process, emptied before each input.
	out, err := os.CreateTemp(f.TempDir(), "out-*")
	require.NoError(f, err)
	f.Cleanup(func() { out.Close() })
	heapAllocated() // runtime/metrics allocates its tables on first use
	f.Fuzz(func(t *testing.T, data []byte) {
		if trace := os.Getenv("FUZZ_TRACE"); trace != "" {
			_ = os.WriteFile(trace, data, 0o644)
		}
		var res *FileResult
		var err error
		for try := 0; ; try++ {
			require.NoError(t, out.Truncate(0))
			_, err = out.Seek(0, io.SeekStart)
			require.NoError(t, err)
			before := heapAllocated()
			res, err = convertBytes(data, out)
			grew := heapAllocated() - before
			if grew <= convertBound(len(data)) {
				break
			}
			if try == 1 { // twice: not an allocation elsewhere in the process
				t.Fatalf("allocated %d bytes for a %d-byte input, above the bound %d", grew, len(data), convertBound(len(data)))
			}
		}
		if err != nil {
			if !Refused(err) {
				t.Fatalf("an input error is not reported as a refusal: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		fi, err := out.Stat()
		require.NoError(t, err)
		if _, err := ReadHeader(out, fi.Size()); err != nil {
			t.Fatalf("converted output does not read back: %v", err)
		}
		if fi.Size() != res.OutputBytes || 100*(fi.Size()-int64(len(data))) > int64(len(data)) {
			t.Fatalf("output of %d bytes for a %d-byte input", fi.Size(), len(data))
		}
	})
}

// TestFuzzCorpusFigures replays the seeds and a fuzzing corpus (the
// committed one, plus the fuzzer's cache when HUBBOT_FUZZ_CACHE names its
// folder) and reports the slowest input, the largest allocation and the
// largest share of the allocation bound, for the record.
func TestFuzzCorpusFigures(t *testing.T) {
	cache := os.Getenv("HUBBOT_FUZZ_CACHE")
	if cache == "" {
		t.Skip("set HUBBOT_FUZZ_CACHE to $(go env GOCACHE)/fuzz/github.com/hubbot/hubbot/actions/safetensors")
	}
	for _, target := range []string{"FuzzUnpickle", "FuzzConvert"} {
		inputs := fixtureFiles(t)
		if target == "FuzzUnpickle" {
			inputs = zipPickles(t)
		}
		for _, d := range []string{filepath.Join("testdata/fuzz", target), filepath.Join(cache, target)} {
			entries, _ := os.ReadDir(d)
			for _, e := range entries {
				b, err := readCorpusFile(filepath.Join(d, e.Name()))
				require.NoError(t, err)
				inputs = append(inputs, b)
			}
		}
		dir := t.TempDir()
		var maxAlloc, maxRatio float64
		var slowest time.Duration
		var largest int
		for _, in := range inputs {
			largest = max(largest, len(in))
			before := heapAllocated()
			start := time.Now()
			var bound uint64
			if target == "FuzzUnpickle" {
				charged, _ := unpickleWithBudget(in)
				bound = uint64(charged) + unpickleSlack
			} else {
				bound = convertBound(len(in))
				out, err := os.CreateTemp(dir, "out-*")
				require.NoError(t, err)
				_, _ = convertBytes(in, out)
				out.Close()
				os.Remove(out.Name())
			}
			slowest = max(slowest, time.Since(start))
			grew := float64(heapAllocated() - before)
			maxAlloc = max(maxAlloc, grew)
			maxRatio = max(maxRatio, grew/float64(bound))
		}
		t.Logf("%s: %d inputs (largest %d bytes), slowest %v, largest allocation %.0f bytes, highest share of the bound %.3f",
			target, len(inputs), largest, slowest, maxAlloc, maxRatio)
	}
}

// readCorpusFile reads one input of Go's fuzzing corpus format.
func readCorpusFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "[]byte("); ok {
			s, err := strconv.Unquote(strings.TrimSuffix(rest, ")"))
			return []byte(s), err
		}
	}
	return nil, fmt.Errorf("%s: no []byte value", path)
}
