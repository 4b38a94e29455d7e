package safetensors

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memSource is a checkpoint in memory, as a remote file is: no *os.File.
func memSource(data []byte) *source {
	return &source{r: bytes.NewReader(data), size: int64(len(data)), lim: Limits{}.withDefaults()}
}

func readSection(t *testing.T, s *streamed, off, n int64) ([]byte, error) {
	t.Helper()
	rc, err := s.Section(t.Context(), off, n)
	require.NoError(t, err)
	defer rc.Close()
	return io.ReadAll(rc)
}

// Every good fixture streamed gives the local path's bytes: the same
// sha256 and size in pass 1, and any section in pass 2.
func TestStreamedMatchesLocal(t *testing.T) {
	entries, err := os.ReadDir("testdata/good")
	require.NoError(t, err)
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/good", e.Name()))
			require.NoError(t, err)
			want, err := os.ReadFile(filepath.Join("testdata/want", outputName(e.Name())))
			require.NoError(t, err)

			res, err := streamFile(t.Context(), memSource(data), &Options{})
			require.NoError(t, err)
			s := res.stream
			sum := sha256.Sum256(want)
			assert.Equal(t, hex.EncodeToString(sum[:]), s.SHA256())
			assert.Equal(t, int64(len(want)), s.Size())

			got, err := readSection(t, s, 0, s.Size())
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "whole file")
			rng := rand.New(rand.NewPCG(1, uint64(len(data))))
			for range 20 {
				off := rng.Int64N(s.Size())
				n := rng.Int64N(s.Size() - off + 1)
				got, err := readSection(t, s, off, n)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(want[off:off+n], got), "section [%d, %d)", off, off+n)
			}
		})
	}
}

// An input that changes between the passes fails pass 2 before the
// changed block is handed out.
func TestStreamedRefusesAChangedInput(t *testing.T) {
	data, err := os.ReadFile("testdata/good/transposed.bin")
	require.NoError(t, err)
	for _, entry := range []string{"transposed/data/0", "transposed/data/1"} {
		t.Run(entry, func(t *testing.T) {
			buf := bytes.Clone(data)
			res, err := streamFile(t.Context(), memSource(buf), &Options{})
			require.NoError(t, err)
			buf[storageOffset(t, "testdata/good/transposed.bin", entry)] ^= 0x40

			got, err := readSection(t, res.stream, 0, res.stream.Size())
			require.ErrorIs(t, err, ErrVerify)
			assert.ErrorIs(t, err, errDiffers)
			assert.Empty(t, got, "a one-block file: nothing of it is handed out")
		})
	}
}

// Pass 1 refuses what the local path refuses, with the same errors.
func TestStreamedRefusesBadFixtures(t *testing.T) {
	for _, name := range []string{"evil_system.bin", "crc.bin", "truncated_zip.bin", "bomb.bin", "view_past.bin"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/bad", name))
			require.NoError(t, err)
			_, local := ConvertPath(t.Context(), filepath.Join("testdata/bad", name), t.TempDir(), Options{})
			require.Error(t, local)
			_, err = streamFile(t.Context(), memSource(data), &Options{})
			require.Error(t, err)
			assert.Equal(t, local.Error(), name+": "+err.Error())
		})
	}
}
