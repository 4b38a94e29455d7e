package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions/safetensors"
)

// checkpoint is the demo repo's small real PyTorch checkpoint.
const checkpoint = "devenv/demo/pytorch_model.bin"

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	require.NoError(t, os.MkdirAll(model, 0o755))
	data, err := os.ReadFile(checkpoint)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(model, "pytorch_model.bin"), data, 0o644))

	convert := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"convert"}, args...), &out, &errOut, noEnv)
		return code, out.String(), errOut.String()
	}

	t.Run("folder", func(t *testing.T) {
		dst := filepath.Join(dir, "out")
		code, out, errOut := convert(model, dst)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "wrote model.safetensors")
		assert.Empty(t, errOut, "no progress when stderr is not a terminal")
		assert.FileExists(t, filepath.Join(dst, "model.safetensors"))

		// A second run refuses to overwrite, leaves the file as it was,
		// and --force replaces it.
		before, err := os.Stat(filepath.Join(dst, "model.safetensors"))
		require.NoError(t, err)
		code, _, errOut = convert(model, dst)
		assert.Equal(t, 1, code)
		assert.Regexp(t, `^hubbot: convert: .*model.safetensors already exists; give --force to overwrite it\n$`, errOut)
		code, _, errOut = convert("--force", model, dst)
		require.Equal(t, 0, code, errOut)
		after, err := os.Stat(filepath.Join(dst, "model.safetensors"))
		require.NoError(t, err)
		assert.Equal(t, before.Size(), after.Size())
		entries, err := os.ReadDir(dst)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "no staging folder left behind")
	})

	t.Run("file destination", func(t *testing.T) {
		dst := filepath.Join(dir, "weights.safetensors")
		code, out, errOut := convert(filepath.Join(model, "pytorch_model.bin"), dst, "--format", "json")
		require.Equal(t, 0, code, errOut)
		var summary struct {
			Files []struct {
				Source  string `json:"source"`
				Output  string `json:"output"`
				Tensors int    `json:"tensors"`
			} `json:"files"`
			Skipped []any `json:"skipped"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &summary), out)
		require.Len(t, summary.Files, 1)
		assert.Equal(t, "weights.safetensors", summary.Files[0].Output)
		assert.Positive(t, summary.Files[0].Tensors)
		assert.NotNil(t, summary.Skipped)
		head := make([]byte, 8)
		f, err := os.Open(dst)
		require.NoError(t, err)
		defer f.Close()
		_, err = f.Read(head)
		require.NoError(t, err)
		assert.NotZero(t, head, "a safetensors header length")
	})

	t.Run("refused input leaves nothing", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.bin")
		require.NoError(t, os.WriteFile(bad, []byte("PK\x03\x04 not really a zip"), 0o644))
		dst := filepath.Join(dir, "refused")
		code, _, errOut := convert(bad, dst)
		assert.Equal(t, 1, code)
		assert.Regexp(t, `^hubbot: convert: [^\n]*bad.bin[^\n]*\n$`, errOut)
		assert.NoDirExists(t, dst)
		matches, _ := filepath.Glob(filepath.Join(dir, ".hubbot-convert-*"))
		assert.Empty(t, matches)
	})
}

// TestConvertProgress draws the progress line as the converter reports
// tensors: bytes of the total, tensors, where the current file is, rate and
// time left, on a clock the test moves.
func TestConvertProgress(t *testing.T) {
	var line bytes.Buffer
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p := newProgress(&line, 4000, func() time.Time { return now })
	var opts safetensors.Options
	p.options(&opts, "")
	step := func(d time.Duration, done, total int, written int64) string {
		now = now.Add(d)
		opts.Progress(done, total, written)
		return p.line()
	}
	p.Write([]byte("converting a.bin -> a.safetensors\n"))
	assert.Equal(t, "converting: 100 B of 4.0 kB, 0 tensors (file 1: 0 of 3), 100 B/s, 39s left", step(time.Second, 0, 3, 100))
	assert.Equal(t, "converting: 1.0 kB of 4.0 kB, 2 tensors (file 1: 2 of 3), 500 B/s, 6s left", step(time.Second, 2, 3, 1000))
	step(0, 3, 3, 2000)
	p.Write([]byte("converting b.bin -> b.safetensors\n"))
	assert.Equal(t, "converting: 2.1 kB of 4.0 kB, 3 tensors (file 2: 0 of 1), 700 B/s, 3s left", step(time.Second, 0, 1, 100),
		"the first file's bytes and tensors carry over")
	assert.Equal(t, "converting: 4.0 kB of 4.0 kB, 4 tensors (file 2: 1 of 1), 1.0 kB/s, ? left", step(time.Second, 1, 1, 2000))
	p.stop()
	assert.True(t, bytes.HasSuffix(line.Bytes(), []byte("\r\x1b[K")), "the line is cleared at the end")
}
