package safetensors

import (
	"archive/zip"
	"bytes"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flakyReader returns a wrong byte the first time a read starts at from,
// the start of a storage, as a failing disk or a bug in the copy would.
// (Smaller reads that merely cover it, such as the sniffing of the file's
// first bytes, are left alone.)
type flakyReader struct {
	data    []byte
	from    int64
	mu      sync.Mutex
	flipped bool
}

func (f *flakyReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(f.data).ReadAt(p, off)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.flipped && off == f.from && n > 0 {
		f.flipped = true
		p[0] ^= 0xff
	}
	return n, err
}

// storageOffset returns where a zip entry's bytes start.
func storageOffset(t *testing.T, path, entry string) int64 {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == entry {
			off, err := f.DataOffset()
			require.NoError(t, err)
			return off
		}
	}
	t.Fatalf("no entry %s", entry)
	return 0
}

func TestVerificationCatchesABadCopy(t *testing.T) {
	tests := []struct {
		name, file, entry string
	}{
		{"whole storage, checked by CRC32", "testdata/good/x.bin", "x/data/0"},
		{"partial view, compared byte for byte", "testdata/good/views.bin", "views/data/0"},
		{"non-contiguous, compared element by element", "testdata/good/transposed.bin", "transposed/data/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			require.NoError(t, err)
			src := &source{r: &flakyReader{data: data, from: storageOffset(t, tt.file, tt.entry)}, size: int64(len(data)), lim: Limits{}.withDefaults()}
			out, err := os.Create(t.TempDir() + "/out.safetensors")
			require.NoError(t, err)
			defer out.Close()
			_, err = convertTo(t.Context(), src, &sink{w: out, back: out}, &Options{})
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrVerify)
			assert.Contains(t, err.Error(), "differ")
		})
	}
}
