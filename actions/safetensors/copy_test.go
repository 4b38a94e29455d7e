package safetensors

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingReader counts its reads and can end early or run a hook.
type countingReader struct {
	data   []byte
	reads  atomic.Int64
	before func(off int64) // called before each read
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	if c.before != nil {
		c.before(off)
	}
	return bytes.NewReader(c.data).ReadAt(p, off)
}

func smallBufs(k, size int) [][]byte {
	bufs := make([][]byte, k)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs
}

func TestCopyRangeWritesAndChecksumsEveryChunk(t *testing.T) {
	data := make([]byte, 10_000)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	const off, n = 37, 9_000
	want := data[off : off+n]
	for _, k := range []int{1, 2, 3} {
		for _, size := range []int{64, 1000, 9_000, 20_000} {
			src := &source{r: &countingReader{data: data}, size: int64(len(data))}
			var out bytes.Buffer
			var crc uint32
			require.NoError(t, src.copyRange(t.Context(), &out, off, n, smallBufs(k, size), &crc))
			assert.Equal(t, want, out.Bytes(), "%d buffers of %d bytes", k, size)
			assert.Equal(t, crc32.ChecksumIEEE(want), crc, "%d buffers of %d bytes", k, size)
		}
	}
}

// failingWriter fails its write number fail.
type failingWriter struct {
	n, fail int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	f.n++
	if f.n == f.fail {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestCopyRangeStopsReadingOnError(t *testing.T) {
	data := make([]byte, 64*100)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tests := []struct {
		name  string
		size  int64 // the bytes the source holds
		w     io.Writer
		hook  func(off int64)
		check func(t *testing.T, err error)
	}{
		{"write error", int64(len(data)), &failingWriter{fail: 5}, nil, func(t *testing.T, err error) {
			assert.ErrorContains(t, err, "write tensor bytes: disk full")
		}},
		{"source ends early", 64 * 50, io.Discard, nil, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, ErrMalformed)
			assert.ErrorContains(t, err, "the checkpoint ended while copying bytes 3200 to 3264")
		}},
		{"cancelled", int64(len(data)), io.Discard, func(off int64) {
			if off >= 64*10 {
				cancel()
			}
		}, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, context.Canceled)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &countingReader{data: data[:tt.size], before: tt.hook}
			src := &source{r: r, size: tt.size}
			err := src.copyRange(ctx, tt.w, 0, int64(len(data)), smallBufs(2, 64), nil)
			require.Error(t, err)
			tt.check(t, err)
			// The reader has stopped: no read happens after the return.
			reads := r.reads.Load()
			time.Sleep(20 * time.Millisecond)
			assert.Equal(t, reads, r.reads.Load())
			assert.Less(t, reads, int64(100), "the reader stopped early")
		})
	}
}

// A tensor of several chunks goes through the read-ahead copy; a chunk
// read wrong in its middle is caught by the CRC32 of the written bytes.
func TestConvertLargeTensorAcrossChunks(t *testing.T) {
	data := synthCheckpoint(t, []synthTensor{{"big", 1024, 1500}, {"small", 3, 5}}, 7) // 3 MB and 30 bytes
	dir := t.TempDir()
	in := filepath.Join(dir, "pytorch_model.bin")
	require.NoError(t, os.WriteFile(in, data, 0o644))
	rep, err := ConvertPath(t.Context(), in, filepath.Join(dir, "out"), Options{})
	require.NoError(t, err)
	require.Len(t, rep.Files, 1)
	out, err := os.ReadFile(filepath.Join(dir, "out", "model.safetensors"))
	require.NoError(t, err)
	h, err := ReadHeader(bytes.NewReader(out), int64(len(out)))
	require.NoError(t, err)
	big := h.Tensors["big"]
	start := storageOffset(t, in, "archive/data/0")
	assert.Equal(t, data[start:start+1024*1500*2], out[8+h.Len+big.Begin:8+h.Len+big.End])

	src := &source{r: &flakyReader{data: data, from: start + copyBuf}, size: int64(len(data)), lim: Limits{}.withDefaults()}
	f, err := os.Create(filepath.Join(dir, "bad.safetensors"))
	require.NoError(t, err)
	defer f.Close()
	_, err = convertTo(t.Context(), src, &sink{w: f, back: f}, &Options{})
	assert.ErrorIs(t, err, ErrVerify)
	assert.ErrorContains(t, err, `tensor "big": the written bytes differ from the checkpoint`)
}
