package hubclient_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// rangeHub is a hub with alice/ranged holding big.bin, an LFS file, and
// small.txt, a regular one.
func rangeHub(t *testing.T) (*hub, []byte) {
	t.Helper()
	h := newHub(t, hubtest.Options{})
	big := fakeWeights(3<<20+123, 7)
	_, err := h.srv.CreateRepo(h.alice, hubtest.RepoSpec{ID: "alice/ranged", Files: map[string][]byte{
		"big.bin": big, "small.txt": []byte("hello, ranges\n"),
	}})
	require.NoError(t, err)
	return h, big
}

func oidOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// readPattern reads f the way the converter does: the end first, then
// everything in order, in odd-sized pieces.
func readPattern(t *testing.T, f io.ReaderAt, size int64) []byte {
	t.Helper()
	tail := make([]byte, min(100, size))
	_, err := f.ReadAt(tail, size-int64(len(tail)))
	require.NoError(t, err)
	out := make([]byte, size)
	for off := int64(0); off < size; off += 300007 {
		n := min(300007, size-off)
		_, err := f.ReadAt(out[off:off+n], off)
		require.NoError(t, err)
	}
	assert.Equal(t, tail, out[size-int64(len(tail)):])
	return out
}

func TestRemoteFileReadsRanges(t *testing.T) {
	h, big := rangeHub(t)
	c := h.client(t, h.alice.Token)
	for _, tt := range []struct {
		path string
		want []byte
	}{{"big.bin", big}, {"small.txt", []byte("hello, ranges\n")}} {
		t.Run(tt.path, func(t *testing.T) {
			f, err := c.OpenFile(t.Context(), model("alice/ranged"), "main", tt.path)
			require.NoError(t, err)
			defer f.Close()
			require.Equal(t, int64(len(tt.want)), f.Size())
			assert.Len(t, f.Commit(), 40)
			got := readPattern(t, f, f.Size())
			assert.True(t, bytes.Equal(tt.want, got))
			// Probe, tail, then one answer for the whole sequential pass.
			assert.Equal(t, 3, f.Requests())

			n, err := f.ReadAt(make([]byte, 10), f.Size()-5)
			assert.Equal(t, 5, n)
			assert.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestRemoteFileFaults(t *testing.T) {
	tests := []struct {
		name  string
		arm   func(h *hub, oid string)
		err   error  // nil: the read recovers
		msg   string // in the error
		extra int    // answers beyond the fault-free 3
	}{
		{name: "connection reset mid-body is reopened where it stopped",
			arm: func(h *hub, oid string) {
				// The first use meets the 100-byte tail read, which ends
				// before the reset; the second cuts the sequential pass.
				h.srv.FailStorage(hubtest.StorageFault{OID: oid, OnlyRanges: true, Times: 2, ResetAfter: 1 << 20})
			}, extra: 1},
		{name: "5xx from storage is retried",
			arm: func(h *hub, _ string) {
				h.srv.Fail(hubtest.Fault{Method: http.MethodGet, Path: "/lfs/", Times: 2, Status: http.StatusBadGateway})
			}},
		{name: "200 instead of 206 is refused",
			arm: func(h *hub, oid string) {
				h.srv.FailStorage(hubtest.StorageFault{OID: oid, OnlyRanges: true, Times: -1, IgnoreRange: true})
			}, err: hubclient.ErrNoRanges, msg: "answered with the whole file (200)"},
		{name: "ranges refused",
			arm: func(h *hub, oid string) {
				h.srv.FailStorage(hubtest.StorageFault{OID: oid, OnlyRanges: true, Times: -1, RefuseRange: true})
			}, msg: "416"},
		{name: "object changed is refused",
			arm: func(h *hub, oid string) {
				h.srv.FailStorage(hubtest.StorageFault{OID: oid, Times: -1, Content: fakeWeights(3<<20+123, 8)})
			}, err: hubclient.ErrChanged, msg: "the file changed while it was being read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, big := rangeHub(t)
			c := h.client(t, h.alice.Token)
			f, err := c.OpenFile(t.Context(), model("alice/ranged"), "main", "big.bin")
			require.NoError(t, err)
			defer f.Close()
			tt.arm(h, oidOf(big))
			out := make([]byte, f.Size())
			_, err = f.ReadAt(out[:100], f.Size()-100)
			if err == nil {
				_, err = f.ReadAt(out, 0)
			}
			if tt.err == nil && tt.msg == "" {
				require.NoError(t, err)
				assert.True(t, bytes.Equal(big, out))
				assert.GreaterOrEqual(t, f.Requests(), 3+tt.extra)
				return
			}
			require.Error(t, err)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
			}
			assert.Contains(t, err.Error(), tt.msg)
			assert.NotContains(t, err.Error(), h.alice.Token)
		})
	}
}

// Readers going through different parts at once each keep their answer,
// as parallel upload parts do.
func TestRemoteFileParallelReaders(t *testing.T) {
	h, big := rangeHub(t)
	c := h.client(t, h.alice.Token)
	f, err := c.OpenFile(t.Context(), model("alice/ranged"), "", "big.bin")
	require.NoError(t, err)
	defer f.Close()
	const parts = 4
	quarter := f.Size() / parts
	out := make([]byte, f.Size())
	var g errgroup.Group
	for i := range int64(parts) {
		g.Go(func() error {
			end := (i + 1) * quarter
			if i == parts-1 {
				end = f.Size()
			}
			for off := i * quarter; off < end; off += 1 << 18 {
				if _, err := f.ReadAt(out[off:min(end, off+1<<18)], off); err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	assert.True(t, bytes.Equal(big, out))
	assert.Equal(t, 1+parts, f.Requests(), "the probe, then one answer per reader")
}
