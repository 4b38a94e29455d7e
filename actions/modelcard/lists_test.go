package modelcard

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVocabularies(t *testing.T) {
	v := loadVocabularies()
	// The sizes the sources had when the snapshots were taken.
	assert.Len(t, v.licenses.sorted, 83)
	assert.Len(t, v.pipelines.sorted, 57)
	assert.Len(t, v.libraries.sorted, 240)
	for _, l := range []string{"apache-2.0", "mit", "llama3.1", "openrail++", "other"} {
		assert.True(t, v.licenses.has(l), l)
	}
	for _, p := range []string{"text-generation", "image-text-to-text", "other"} {
		assert.True(t, v.pipelines.has(p), p)
	}
	for _, l := range []string{"transformers", "diffusers", "peft", "sentence-transformers", "timm", "transformers.js", "mlx"} {
		assert.True(t, v.libraries.has(l), l)
	}
	assert.False(t, v.libraries.has("gguf"), "file formats are not libraries")
	assert.Contains(t, strings.SplitN(librariesText, "\n", 4)[2], "("+librariesSnapshot+";",
		"the snapshot date in messages matches the file's header")
}

func TestClosest(t *testing.T) {
	v := loadVocabularies()
	tests := []struct {
		voc  vocab
		in   string
		want string
	}{
		{v.licenses, "Apache-2.0", "apache-2.0"},
		{v.licenses, "cc-by-nc-4", "cc-by-nc-4.0"},
		{v.licenses, "CC BY-SA 4.0", "cc-by-sa-4.0"},
		{v.licenses, "proprietary", ""},
		{v.pipelines, "text_generation", "text-generation"},
		{v.pipelines, "image-clasification", "image-classification"},
		{v.libraries, "sentence_transformers", "sentence-transformers"},
		{v.libraries, "Diffusers", "diffusers"},
		{v.libraries, "xyz", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.voc.closest(tt.in), tt.in)
	}
	assert.Equal(t, 3, editDistance("kitten", "sitting", 5))
	assert.Equal(t, 2, editDistance("kitten", "sitting", 2), "capped at max")
	assert.Equal(t, 0, editDistance("é", "é", 3))
}
