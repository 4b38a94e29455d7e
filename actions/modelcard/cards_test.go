package modelcard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileList builds a file list: "name" for a regular file, "name=SIZE" for
// an LFS file of that size.
func fileList(specs ...string) []File {
	files := []File{{Path: "README.md", Size: 1000}}
	for _, s := range specs {
		name, size, lfs := strings.Cut(s, "=")
		f := File{Path: name, Size: 100}
		if lfs {
			var n int64
			for _, ch := range size {
				n = n*10 + int64(ch-'0')
			}
			f.Size, f.LFS = n, true
		}
		files = append(files, f)
	}
	return files
}

// realCards are cards written in the style of popular models of each kind,
// with the files such a repo holds.
func realCards() map[string][]File {
	return map[string][]File{
		"bert.md": fileList("config.json", "model.safetensors=440449768", "tokenizer.json", "vocab.txt"),
		"llama-finetune.md": fileList("config.json", "generation_config.json", "tokenizer.json",
			"model-00001-of-00004.safetensors=4976698672", "model-00002-of-00004.safetensors=4999802720",
			"model-00003-of-00004.safetensors=4915916176", "model-00004-of-00004.safetensors=1168138808",
			"model.safetensors.index.json"),
		"diffusers.md": fileList("model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors=5135149760",
			"vae/diffusion_pytorch_model.safetensors=334643268", "text_encoder/model.safetensors=492265168",
			"images/astronaut.png=512000"),
		"adapter.md":    fileList("adapter_config.json", "adapter_model.safetensors=54560368"),
		"merge.md":      fileList("LICENSE", "config.json", "model-00001-of-00002.safetensors=9942981696", "model-00002-of-00002.safetensors=4540516344"),
		"embeddings.md": fileList("config.json", "modules.json", "config_sentence_transformers.json", "model.safetensors=470637416"),
	}
}

func readCard(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cards", name))
	require.NoError(t, err)
	return b
}

func TestRealCardsAreClean(t *testing.T) {
	for name, files := range realCards() {
		t.Run(name, func(t *testing.T) {
			rep := Check(readCard(t, name), files, Options{})
			assert.Empty(t, rep.Findings)
			assert.False(t, rep.Failed())
			assert.Equal(t, "✅ Model card: no problems found", rep.Summary())
		})
	}
}
