package safetensors

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type progressCall struct {
	done, total int
	written     int64
}

// TestProgressPerTensor: Options.Progress hears of each file's tensors as
// they are written, from none to all, with the bytes written, ending at the
// file's size; contiguous, gathered and sharded files alike.
func TestProgressPerTensor(t *testing.T) {
	dir := t.TempDir()
	for name, data := range synthSharded(t, 2, 3, 8, 4) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	for name, src := range map[string]string{"sharded": dir, "transposed": "testdata/good/transposed.bin", "views": "testdata/good/views.bin"} {
		t.Run(name, func(t *testing.T) {
			var calls []progressCall
			rep, err := ConvertPath(t.Context(), src, t.TempDir(), Options{Progress: func(done, total int, written int64) {
				calls = append(calls, progressCall{done, total, written})
			}})
			require.NoError(t, err)
			require.NotEmpty(t, rep.Files)
			for _, f := range rep.Files {
				require.GreaterOrEqual(t, len(calls), f.Tensors+1, "%s: once before each tensor and once after the last", f.Output)
				file := calls[:f.Tensors+1]
				calls = calls[f.Tensors+1:]
				for i, c := range file {
					assert.Equal(t, i, c.done)
					assert.Equal(t, f.Tensors, c.total)
					if i > 0 {
						assert.GreaterOrEqual(t, c.written, file[i-1].written)
					}
				}
				assert.Positive(t, file[0].written, "the header comes first")
				assert.Equal(t, f.OutputBytes, file[f.Tensors].written, "%s: the last call has the whole file", f.Output)
			}
			assert.Empty(t, calls)
		})
	}
}
