package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOutputName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"pytorch_model.bin", "model.safetensors"},
		{"pytorch_model-00002-of-00003.bin", "model-00002-of-00003.safetensors"},
		{"sub/pytorch_model-00001-of-00002.bin", "sub/model-00001-of-00002.safetensors"},
		{"pytorch_model.fp16.bin", "model.fp16.safetensors"},
		{"pytorch_model_ema.ckpt", "model_ema.safetensors"},
		{"unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.safetensors"},
		{"pytorch_models.bin", "pytorch_models.safetensors"},
		{"weights.pt", "weights.safetensors"},
		{"model.ckpt", "model.safetensors"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, outputName(tt.in))
		})
	}
}

// A shard converted on its own, without its index, gets the name loaders
// look for, as it would in its set.
func TestConvertLoneShardIsRenamed(t *testing.T) {
	src := filepath.Join(t.TempDir(), "pytorch_model-00002-of-00003.bin")
	data, err := os.ReadFile("testdata/good/x.bin")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(src, data, 0o644))
	dst := filepath.Join(t.TempDir(), "out")

	rep, err := ConvertPath(t.Context(), src, dst, Options{})
	require.NoError(t, err)

	got := treeFiles(t, dst)
	require.Equal(t, []string{"model-00002-of-00003.safetensors"}, keys(got))
	want, err := os.ReadFile("testdata/want/x.safetensors")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got["model-00002-of-00003.safetensors"]))
	require.Len(t, rep.Files, 1)
	assert.Equal(t, "model-00002-of-00003.safetensors", rep.Files[0].Output)
}
