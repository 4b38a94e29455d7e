package safetensors

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*.bin", "pytorch_model.bin", true},
		{"*.bin", "unet/model.bin", false},
		{"**/*.bin", "unet/model.bin", true},
		{"**/*.bin", "model.bin", true},
		{"unet/**", "unet/a/b.bin", true},
		{"unet/**", "vae/a.bin", false},
		{"**", "anything/at/all", true},
		{"a/**/b.bin", "a/b.bin", true},
		{"a/**/b.bin", "a/x/y/b.bin", true},
		{"a/**/b.bin", "a/x/y/c.bin", false},
		{"checkpoint-*/**", "checkpoint-500/optimizer.pt", true},
		{"[a-c]*.pt", "b.pt", true},
		{"?.pt", "ab.pt", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, matchGlob(tt.pattern, tt.name), "%s ~ %s", tt.pattern, tt.name)
	}
	assert.Error(t, checkGlob("[a-"))
	assert.Error(t, checkGlob(""))
	assert.NoError(t, checkGlob("**/*.bin"))
}
