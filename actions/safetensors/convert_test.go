package safetensors

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixtures under testdata/ are made by testdata/gen/gen.py with Debian's
// torch; the expected outputs in testdata/want* are built there by a Python
// writer that follows the Rust writer's layout, from torch.load's tensors.

// treeFiles returns the files under dir, relative, with their content.
func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	require.NoError(t, err)
	return out
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestConvertGoodFixturesMatchExpectedBytes(t *testing.T) {
	entries, err := os.ReadDir("testdata/good")
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "out")
			rep, err := ConvertPath(t.Context(), filepath.Join("testdata/good", e.Name()), dst, Options{})
			require.NoError(t, err)
			want, err := os.ReadFile(filepath.Join("testdata/want", outputName(e.Name())))
			require.NoError(t, err)
			got := treeFiles(t, dst)
			require.Equal(t, []string{outputName(e.Name())}, keys(got), "only the output is left in DST")
			assert.True(t, bytes.Equal(want, got[outputName(e.Name())]), "output differs from the expected bytes")
			require.Len(t, rep.Files, 1)
			assert.Equal(t, int64(len(want)), rep.Files[0].OutputBytes)
		})
	}
}

func TestConvertReportsLayoutDecisions(t *testing.T) {
	tests := []struct {
		file        string
		format      string
		aliases     map[string]string
		gathered    []string
		overlapping []string
	}{
		{file: "tied.bin", format: "zip", aliases: map[string]string{"lm_head.weight": "embed.weight"}},
		// convert.py without transformers would keep lm_head.weight here.
		{file: "llama_tie.bin", format: "zip", aliases: map[string]string{"lm_head.weight": "model.embed_tokens.weight"}},
		{file: "subview.bin", format: "zip", overlapping: []string{"full", "x"}},
		{file: "multiview.bin", format: "zip", overlapping: []string{"a", "full", "z"}},
		{file: "views.bin", format: "zip"},
		{file: "transposed.bin", format: "zip", gathered: []string{"c", "p", "s", "t"}, overlapping: []string{"p", "s"}},
		{file: "legacy.bin", format: "legacy", aliases: map[string]string{"w": "tied"}},
		{file: "legacy_views.bin", format: "legacy", overlapping: []string{"view", "whole"}},
		{file: "torch2.bin", format: "zip", aliases: map[string]string{"u16_tied_b": "u16_tied_a"},
			gathered: []string{"f8_t"}, overlapping: []string{"h", "param_state", "subclass"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rep, err := ConvertPath(t.Context(), filepath.Join("testdata/good", tt.file), t.TempDir(), Options{})
			require.NoError(t, err)
			require.Len(t, rep.Files, 1)
			f := rep.Files[0]
			assert.Equal(t, tt.format, f.Format)
			if tt.aliases == nil {
				tt.aliases = map[string]string{}
			}
			assert.Equal(t, tt.aliases, f.Aliases)
			assert.ElementsMatch(t, tt.gathered, f.Gathered)
			assert.ElementsMatch(t, tt.overlapping, f.Overlapping)
			text := rep.String()
			for removed, kept := range tt.aliases {
				assert.Contains(t, text, "removed "+removed+": same tensor as "+kept)
			}
		})
	}
}

func TestConvertDiscardNamesOption(t *testing.T) {
	// With no discard names, the alphabetical rule of convert.py keeps lm_head.weight.
	rep, err := ConvertPath(t.Context(), "testdata/good/llama_tie.bin", t.TempDir(), Options{DiscardNames: []string{}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"model.embed_tokens.weight": "lm_head.weight"}, rep.Files[0].Aliases)
}

func TestConvertRefusesBadFixtures(t *testing.T) {
	tests := []struct {
		file string
		kind error
		msg  string
	}{
		{"evil_system.bin", ErrUnsafe, "refusing GLOBAL posix.system"},
		{"evil_eval.pt", ErrUnsafe, "refusing GLOBAL builtins.eval"},
		{"bigstring.bin", ErrNotCheckpoint, "BINUNICODE8 needs 1152921504606846976 bytes, but only 9 remain"},
		{"bigstring_zip.bin", ErrMalformed, "BINUNICODE8 needs 1152921504606846976 bytes, but only 9 remain"},
		{"deep_marks.bin", ErrLimit, "MARKs nested deeper than 100"},
		{"deep_tuples.bin", ErrLimit, "containers nested deeper than 100"},
		{"deep_lists.bin", ErrLimit, "containers nested deeper than 100"},
		{"view_past.bin", ErrMalformed, `tensor "w": its view ends at byte 12 of a 8-byte storage, past its end`},
		{"neg_bit.bin", ErrUnsupported, "tensor metadata neg is not supported"},
		{"dotdot.bin", ErrMalformed, `unsafe zip entry name "archive/../../etc/evil"`},
		{"dup.bin", ErrMalformed, `duplicate zip entry "archive/data.pkl"`},
		{"bomb.bin", ErrLimit, "more than 131072 values on the stack"},
		{"bomb_lie.bin", ErrMalformed, "more data than its declared size"},
		{"storage_deflated.bin", ErrUnsupported, "is compressed (method 8)"},
		{"crc.bin", ErrMalformed, `storage record "x/data/0" is corrupt`},
		{"truncated_zip.bin", ErrMalformed, "no zip directory found"},
		{"truncated_legacy.bin", ErrMalformed, "the file ends inside the data of storage"},
		{"truncated_pickle.bin", ErrMalformed, "but only 0 remain"},
		{"tar.bin", ErrUnsupported, "tar archive"},
		{"random.bin", ErrNotCheckpoint, "unknown file format"},
		{"empty.bin", ErrNotCheckpoint, "the file is empty"},
		{"lfs_pointer.bin", ErrNotCheckpoint, "Git LFS pointer"},
		{"torchscript.bin", ErrUnsupported, "TorchScript archive"},
		{"bigendian.bin", ErrUnsupported, `byte order "big"`},
		{"plain_pickle.bin", ErrNotCheckpoint, "without torch's magic number"},
		{"expanded.bin", ErrSizeRule, "more than 1% larger than the 750-byte input"},
		{"training_args.bin", ErrNotTensors, "refusing GLOBAL transformers.training_args.TrainingArguments"},
		{"optimizer.pt", ErrNotTensors, `entry "state" is a dict, not a tensor`},
		{"complex128.bin", ErrUnsupported, "complex128"},
		{"int_key.bin", ErrNotTensors, "key of type int"},
		{"no_tensors.bin", ErrNotTensors, "holds no tensors"},
	}
	entries, err := os.ReadDir("testdata/bad")
	require.NoError(t, err)
	require.Len(t, tests, len(entries), "every bad fixture has a case")
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "out", "deeper")
			_, err := ConvertPath(t.Context(), filepath.Join("testdata/bad", tt.file), dst, Options{})
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), tt.file+": "), "the error names the file: %v", err)
			assert.NotContains(t, err.Error(), "\n")
			assert.Empty(t, treeFiles(t, parent), "nothing is left behind")
			_, statErr := os.Stat(filepath.Join(parent, "out"))
			assert.ErrorIs(t, statErr, os.ErrNotExist, "the folders this call created are removed")

			// An existing destination is left as it was.
			existing := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(existing, "keep.txt"), []byte("x"), 0o644))
			_, err = ConvertPath(t.Context(), filepath.Join("testdata/bad", tt.file), existing, Options{})
			require.Error(t, err)
			assert.Equal(t, []string{"keep.txt"}, keys(treeFiles(t, existing)))
		})
	}
}

func TestConvertFolders(t *testing.T) {
	tests := []struct {
		repo    string
		skipped []string
	}{
		{repo: "sharded"},
		{repo: "single"},
		{repo: "diffusers", skipped: []string{"optimizer.pt", "training_args.bin"}},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			dst := t.TempDir()
			rep, err := ConvertPath(t.Context(), filepath.Join("testdata/repos", tt.repo), dst, Options{})
			require.NoError(t, err)
			want := treeFiles(t, filepath.Join("testdata/want-repos", tt.repo))
			got := treeFiles(t, dst)
			require.Equal(t, keys(want), keys(got))
			for name, w := range want {
				assert.True(t, bytes.Equal(w, got[name]), "%s differs from the expected bytes", name)
			}
			var skipped []string
			for _, s := range rep.Skipped {
				skipped = append(skipped, s.Path)
				assert.NotEmpty(t, s.Reason)
			}
			assert.Equal(t, tt.skipped, skipped)
			assert.Contains(t, rep.String(), "verified:")
		})
	}
}

func TestConvertShardedReport(t *testing.T) {
	rep, err := ConvertPath(t.Context(), "testdata/repos/sharded", t.TempDir(), Options{})
	require.NoError(t, err)
	require.Len(t, rep.Indexes, 1)
	ix := rep.Indexes[0]
	assert.Equal(t, "pytorch_model.bin.index.json", ix.Source)
	assert.Equal(t, "model.safetensors.index.json", ix.Output)
	assert.Equal(t, 2, ix.Shards)
	assert.Equal(t, 4, ix.Tensors) // lm_head.weight is tied and stored once
	var outs []string
	for _, f := range rep.Files {
		outs = append(outs, f.Output)
	}
	assert.Equal(t, []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}, outs)
	assert.Contains(t, rep.String(), "wrote model.safetensors.index.json (2 shards, 4 tensors")
}

func TestConvertIndexFileAsSource(t *testing.T) {
	dst := t.TempDir()
	_, err := ConvertPath(t.Context(), "testdata/repos/diffusers/vae/diffusion_pytorch_model.bin.index.json", dst, Options{})
	require.NoError(t, err)
	want := treeFiles(t, "testdata/want-repos/diffusers/vae")
	assert.Equal(t, keys(want), keys(treeFiles(t, dst)))
}

func TestConvertNeverOverwrites(t *testing.T) {
	dst := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dst, "x.safetensors"), []byte("mine"), 0o644))
	_, err := ConvertPath(t.Context(), "testdata/good/x.bin", dst, Options{})
	require.ErrorContains(t, err, "already exists")
	b, err := os.ReadFile(filepath.Join(dst, "x.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, "mine", string(b))
}

func TestConvertFolderWithNothingToConvert(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "README.md"), []byte("# hi"), 0o644))
	_, err := ConvertPath(t.Context(), src, filepath.Join(t.TempDir(), "out"), Options{})
	assert.ErrorIs(t, err, ErrNotCheckpoint)

	b, err := os.ReadFile("testdata/bad/training_args.bin")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(src, "training_args.bin"), b, 0o644))
	parent := t.TempDir()
	_, err = ConvertPath(t.Context(), src, filepath.Join(parent, "out"), Options{})
	assert.ErrorIs(t, err, ErrNotTensors)
	assert.ErrorContains(t, err, "training_args.bin: data.pkl: pickle at byte 2: refusing GLOBAL")
	assert.Empty(t, treeFiles(t, parent))
}

func TestConvertGenericFolderStopsOnHostileFile(t *testing.T) {
	src := t.TempDir()
	for name, from := range map[string]string{
		"a/model.bin":    "testdata/good/x.bin",
		"b/evil.bin":     "testdata/bad/evil_system.bin",
		"training.bin":   "testdata/bad/training_args.bin",
		"z/weights.ckpt": "testdata/good/wrapped.ckpt",
	} {
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, name), b, 0o644))
	}
	parent := t.TempDir()
	_, err := ConvertPath(t.Context(), src, filepath.Join(parent, "out"), Options{})
	assert.ErrorIs(t, err, ErrUnsafe)
	assert.ErrorContains(t, err, "b/evil.bin: ")
	assert.Empty(t, treeFiles(t, parent), "no partial set")
}

func TestConvertCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	parent := t.TempDir()
	_, err := ConvertPath(ctx, "testdata/good/dtypes.bin", filepath.Join(parent, "out"), Options{})
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, Refused(err))
	assert.Empty(t, treeFiles(t, parent))
}

func TestConvertErrorsStayOnOneLine(t *testing.T) {
	src := t.TempDir()
	b, err := os.ReadFile("testdata/bad/view_past.bin")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(src, "bad\nname.bin"), b, 0o644))
	_, err = ConvertPath(t.Context(), src, filepath.Join(t.TempDir(), "out"), Options{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\n")
	assert.Contains(t, err.Error(), `"bad\nname.bin": `)
}
