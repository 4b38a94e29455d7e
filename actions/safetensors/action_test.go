package safetensors

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/lfs"
)

// fakeContent serves LFS content by oid and counts fetches.
type fakeContent struct {
	mu      sync.Mutex
	blobs   map[string][]byte
	fetched []string
	fail    error
}

func (f *fakeContent) Fetch(ctx context.Context, path string, p lfs.Pointer, w io.Writer) error {
	f.mu.Lock()
	f.fetched = append(f.fetched, path)
	b, ok := f.blobs[p.OID]
	f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if !ok {
		return errors.New("no such object")
	}
	_, err := w.Write(b)
	return err
}

// fakePrior answers FindProposal and records what it was asked.
type fakePrior struct {
	url   string
	found bool
	err   error
	asked []string
}

func (p *fakePrior) FindProposal(ctx context.Context, repo actions.Repo, baseSHA string) (string, bool, error) {
	p.asked = append(p.asked, repo.ID+"@"+baseSHA)
	return p.url, p.found, p.err
}

// workspace copies a fixture folder into a temporary checkout. With
// pointers, every checkpoint file is replaced by its LFS pointer and its
// content is served by the returned fetcher.
func workspace(t *testing.T, from string, pointers bool) (*actions.Workspace, *fakeContent) {
	t.Helper()
	dir := t.TempDir()
	content := &fakeContent{blobs: make(map[string][]byte)}
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if pointers && isCheckpointName(rel) {
			sum := sha256.Sum256(b)
			ptr := lfs.Pointer{OID: hex.EncodeToString(sum[:]), Size: int64(len(b))}
			content.blobs[ptr.OID] = b
			b = []byte(ptr.String())
		}
		target := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	require.NoError(t, err)
	ws := &actions.Workspace{
		Dir:  dir,
		Repo: actions.Repo{ID: "org/model", Type: "model"},
		Ref:  "refs/heads/main",
		SHA:  "0123456789abcdef0123456789abcdef01234567",
	}
	if pointers {
		ws.Content = content
	}
	return ws, content
}

// addFile writes a file into the workspace.
func addFile(t *testing.T, ws *actions.Workspace, rel string, content []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(ws.Path(rel)), 0o755))
	require.NoError(t, os.WriteFile(ws.Path(rel), content, 0o644))
}

func copyFixture(t *testing.T, ws *actions.Workspace, rel, from string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	addFile(t, ws, rel, b)
}

func newAction(t *testing.T, opts actions.Options, prior PriorProposals) *Action {
	t.Helper()
	a, err := New(opts, prior)
	require.NoError(t, err)
	return a
}

// leftovers lists hubbot's output folders left in the workspace.
func leftovers(t *testing.T, ws *actions.Workspace) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(ws.Dir, ".hubbot-*"))
	require.NoError(t, err)
	return matches
}

func TestActionConvertsShardedRepoFromPointers(t *testing.T) {
	ws, content := workspace(t, "testdata/repos/sharded", true)
	prior := &fakePrior{}
	var log bytes.Buffer
	res, err := newAction(t, nil, prior).Run(t.Context(), ws, &log)
	require.NoError(t, err)

	assert.Equal(t, actions.Success, res.Conclusion, res.Summary)
	assert.Equal(t, []string{"org/model@" + ws.SHA}, prior.asked)
	assert.ElementsMatch(t, []string{"pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"}, content.fetched)
	require.NotNil(t, res.Proposal)
	assert.Equal(t, ProposalTitle, res.Proposal.Title)

	want := treeFiles(t, "testdata/want-repos/sharded")
	var paths []string
	for _, f := range res.Proposal.Files {
		paths = append(paths, f.PathInRepo)
		got, err := os.ReadFile(f.LocalPath)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want[f.PathInRepo], got), "%s differs from the expected bytes", f.PathInRepo)
	}
	assert.Equal(t, []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"}, paths)

	assert.Contains(t, res.Summary, "Converted 2 PyTorch files")
	assert.Contains(t, res.Details, "| `pytorch_model.bin.index.json` | `model.safetensors.index.json` | 2 shards | 4 |")
	assert.Contains(t, res.Details, "`lm_head.weight` is the same tensor as `model.embed_tokens.weight`")
	d := res.Proposal.Description
	assert.Contains(t, d, "at commit `0123456789ab`")
	assert.Contains(t, d, "hubbot convert . out/")
	assert.Contains(t, d, "The new index lists every tensor exactly once")
	assert.Contains(t, d, "CRC32")
	assert.Contains(t, log.String(), "converting pytorch_model-00001-of-00002.bin -> model-00001-of-00002.safetensors")
}

func TestActionConvertsDiffusersFolder(t *testing.T) {
	ws, _ := workspace(t, "testdata/repos/diffusers", false)
	res, err := newAction(t, nil, nil).Run(t.Context(), ws, io.Discard)
	require.NoError(t, err)
	require.Equal(t, actions.Success, res.Conclusion, res.Summary)
	want := treeFiles(t, "testdata/want-repos/diffusers")
	var paths []string
	for _, f := range res.Proposal.Files {
		paths = append(paths, f.PathInRepo)
		got, err := os.ReadFile(f.LocalPath)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want[f.PathInRepo], got), f.PathInRepo)
	}
	assert.ElementsMatch(t, keys(want), paths)
	assert.Contains(t, res.Details, "Skipped:")
	assert.Contains(t, res.Details, "`training_args.bin`: data.pkl: pickle at byte 2: refusing GLOBAL transformers.training_args.TrainingArguments")
	assert.Contains(t, res.Details, "`optimizer.pt`")
}

func TestActionSkips(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, ws *actions.Workspace)
		opts    actions.Options
		prior   *fakePrior
		summary string
		details string
	}{
		{
			name:    "already has model.safetensors",
			setup:   func(t *testing.T, ws *actions.Workspace) { addFile(t, ws, "model.safetensors", []byte("x")) },
			summary: "Already has safetensors weights (`model.safetensors`).",
		},
		{
			name: "already has a sharded safetensors index",
			setup: func(t *testing.T, ws *actions.Workspace) {
				addFile(t, ws, "model.safetensors.index.json", []byte("{}"))
			},
			summary: "Already has safetensors weights (`model.safetensors.index.json`).",
		},
		{
			name:    "a conversion pull request exists for this head",
			prior:   &fakePrior{found: true, url: "https://hf.co/org/model/discussions/3"},
			summary: "A conversion pull request for this revision already exists: https://hf.co/org/model/discussions/3",
		},
		{
			name:    "above max_size",
			opts:    actions.Options{"max_size": "100B"},
			summary: "The checkpoints to convert add up to",
		},
		{
			name:    "excluded",
			opts:    actions.Options{"exclude": []any{"**"}},
			summary: "No PyTorch checkpoint (.bin, .pt, .ckpt) to convert.",
		},
		{
			name:    "not included",
			opts:    actions.Options{"include": []any{"unet/**"}},
			summary: "No PyTorch checkpoint (.bin, .pt, .ckpt) to convert.",
		},
		{
			name: "no checkpoint",
			setup: func(t *testing.T, ws *actions.Workspace) {
				require.NoError(t, os.Remove(ws.Path("pytorch_model.bin")))
				require.NoError(t, os.Remove(ws.Path("training_args.bin")))
			},
			summary: "No PyTorch checkpoint (.bin, .pt, .ckpt) to convert.",
		},
		{
			name: "only files without tensors",
			setup: func(t *testing.T, ws *actions.Workspace) {
				require.NoError(t, os.Remove(ws.Path("pytorch_model.bin")))
				copyFixture(t, ws, "checkpoint-10/optimizer.pt", "testdata/bad/optimizer.pt")
			},
			summary: "No checkpoint with tensors to convert.",
			details: "`training_args.bin`",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, content := workspace(t, "testdata/repos/single", true)
			if tt.setup != nil {
				tt.setup(t, ws)
			}
			var prior PriorProposals
			if tt.prior != nil {
				prior = tt.prior
			}
			res, err := newAction(t, tt.opts, prior).Run(t.Context(), ws, io.Discard)
			require.NoError(t, err)
			assert.Equal(t, actions.Skipped, res.Conclusion)
			assert.Contains(t, res.Summary, tt.summary)
			assert.Contains(t, res.Details, tt.details)
			assert.Nil(t, res.Proposal)
			assert.Empty(t, leftovers(t, ws))
			if tt.name != "only files without tensors" {
				assert.Empty(t, content.fetched, "nothing is downloaded for a skipped repo")
			}
		})
	}
}

func TestActionFailsWithoutProposalOnRefusedCheckpoint(t *testing.T) {
	ws, _ := workspace(t, "testdata/repos/diffusers", false)
	copyFixture(t, ws, "safety_checker/pytorch_model.bin", "testdata/bad/evil_system.bin")
	res, err := newAction(t, nil, nil).Run(t.Context(), ws, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, actions.Failure, res.Conclusion)
	assert.Nil(t, res.Proposal, "never a partial set")
	assert.Contains(t, res.Summary, "safety_checker/pytorch_model.bin: data.pkl: pickle at byte 13: refusing GLOBAL posix.system")
	assert.Empty(t, leftovers(t, ws))
}

func TestActionFailsOnBrokenIndex(t *testing.T) {
	ws, _ := workspace(t, "testdata/repos/sharded", false)
	require.NoError(t, os.Remove(ws.Path("pytorch_model-00002-of-00002.bin")))
	res, err := newAction(t, nil, nil).Run(t.Context(), ws, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, actions.Failure, res.Conclusion)
	assert.Contains(t, res.Summary, `the index lists shard "pytorch_model-00002-of-00002.bin", which is not in the repository`)
}

func TestActionErrors(t *testing.T) {
	t.Run("prior proposals lookup fails", func(t *testing.T) {
		ws, _ := workspace(t, "testdata/repos/single", false)
		_, err := newAction(t, nil, &fakePrior{err: errors.New("hub down")}).Run(t.Context(), ws, io.Discard)
		assert.ErrorContains(t, err, "look for an existing conversion pull request: hub down")
	})
	t.Run("not enough disk space", func(t *testing.T) {
		ws, content := workspace(t, "testdata/repos/single", true)
		a := newAction(t, nil, nil)
		a.freeSpace = func(string) (int64, error) { return 1000, nil }
		_, err := a.Run(t.Context(), ws, io.Discard)
		assert.ErrorContains(t, err, "not enough disk space")
		assert.Empty(t, content.fetched)
	})
	t.Run("pointer without a fetcher", func(t *testing.T) {
		ws, _ := workspace(t, "testdata/repos/single", true)
		ws.Content = nil
		_, err := newAction(t, nil, nil).Run(t.Context(), ws, io.Discard)
		assert.ErrorContains(t, err, "pytorch_model.bin is an LFS pointer and this workspace cannot fetch LFS content")
	})
	t.Run("fetch fails", func(t *testing.T) {
		ws, content := workspace(t, "testdata/repos/single", true)
		content.fail = errors.New("connection reset")
		_, err := newAction(t, nil, nil).Run(t.Context(), ws, io.Discard)
		assert.ErrorContains(t, err, "fetch pytorch_model.bin: connection reset")
		assert.Empty(t, leftovers(t, ws))
	})
}

func TestNewOptions(t *testing.T) {
	a, err := New(actions.Options{"max_size": "20GB", "include": []any{"**/*.bin"}, "exclude": []any{"checkpoint-*/**"}}, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(20_000_000_000), a.maxSize)
	assert.True(t, a.wanted("unet/diffusion_pytorch_model.bin"))
	assert.False(t, a.wanted("checkpoint-500/pytorch_model.bin"))
	assert.False(t, a.wanted("model.ckpt"))

	tests := []struct {
		opts actions.Options
		key  string
		msg  string
	}{
		{actions.Options{"max_size": "lots"}, "max_size", "not a size"},
		{actions.Options{"include": []any{"[a-"}}, "include", "bad pattern"},
		{actions.Options{"exclude": []any{""}}, "exclude", "empty pattern"},
		{actions.Options{"max_sise": "1GB"}, "max_sise", "unknown option"},
		{actions.Options{"include": "x"}, "include", ""},
	}
	for _, tt := range tests {
		_, err := New(tt.opts, nil)
		var oe *actions.OptionError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, tt.key, oe.Key)
		assert.True(t, strings.Contains(oe.Msg, tt.msg), oe.Msg)
	}
}

func TestActionDescriptionForSingleFile(t *testing.T) {
	ws, _ := workspace(t, "testdata/repos/single", false)
	res, err := newAction(t, nil, nil).Run(t.Context(), ws, io.Discard)
	require.NoError(t, err)
	require.Equal(t, actions.Success, res.Conclusion)
	require.Len(t, res.Proposal.Files, 1)
	assert.Equal(t, "model.safetensors", res.Proposal.Files[0].PathInRepo)
	assert.Contains(t, res.Proposal.Description, "hubbot convert pytorch_model.bin out/")
	assert.Contains(t, res.Proposal.Description, "`lm_head.weight` is the same tensor as `transformer.wte.weight`")
	assert.NotContains(t, res.Details, "training_args.bin", "the transformers rule looks only at pytorch_model.bin")
}
