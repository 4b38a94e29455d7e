package safetensors

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/git"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
	"github.com/hubbot/hubbot/lfs"
)

// streamHub is a fake Hub holding alice/big, a sharded checkpoint, and a
// workspace of its checkout (LFS files as pointers) whose content comes
// from the Hub through hubclient, as the bot's does.
type streamHub struct {
	srv    *hubtest.Server
	client *hubclient.Client
	repo   hubclient.Repo
	files  map[string][]byte
	ws     *actions.Workspace
	sha    string
}

func newStreamHub(t *testing.T, files map[string][]byte) *streamHub {
	t.Helper()
	srv, err := hubtest.New(hubtest.Options{MultipartThreshold: 1 << 20, MultipartChunkSize: 3<<20 + 12345})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	alice := srv.AddUser("alice")
	_, err = srv.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/big", Files: files})
	require.NoError(t, err)
	sha, ok := srv.Ref("alice/big", "main")
	require.True(t, ok)
	c, err := hubclient.New(hubclient.Options{Endpoint: srv.URL, Token: alice.Token, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 4 * time.Millisecond})
	require.NoError(t, err)
	h := &streamHub{srv: srv, client: c, repo: hubclient.Repo{ID: "alice/big"}, files: files, sha: sha}

	dir := t.TempDir()
	for name := range files {
		raw, err := srv.RawFile("alice/big", sha, name)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), raw, 0o644))
	}
	h.ws = &actions.Workspace{Dir: dir, Repo: actions.Repo{ID: "alice/big", Type: "model"}, Ref: "refs/heads/main", SHA: sha,
		Content: git.NewContent(c, h.repo, sha)}
	return h
}

// run runs the action as the bot would with a disk of free bytes, and
// returns its result.
func (h *streamHub) run(t *testing.T, free int64, stream string) actions.Result {
	t.Helper()
	a := newAction(t, actions.Options{"stream": stream}, nil)
	a.freeSpace = func(string) (int64, error) { return free, nil }
	var log bytes.Buffer
	res, err := a.Run(t.Context(), h.ws, &log)
	require.NoError(t, err, log.String())
	return res
}

// publish opens the pull request the way the bot's publisher does.
func (h *streamHub) publish(t *testing.T, p *actions.Proposal) (*hubclient.CommitResult, error) {
	t.Helper()
	var files []hubclient.CommitFile
	for _, f := range p.Files {
		cf := hubclient.CommitFile{PathInRepo: f.PathInRepo, LocalPath: f.LocalPath}
		if s := f.Stream; s != nil {
			cf.Section, cf.Size, cf.SHA256 = s.Section, s.Size, s.SHA256
		}
		files = append(files, cf)
	}
	return h.client.CreateCommit(t.Context(), h.repo, hubclient.CommitRequest{Revision: "main", CreatePR: true,
		ParentCommit: h.sha, Summary: p.Title, Description: p.Description, Files: files})
}

// localOutputs converts the repo's files on disk with the local path.
func localOutputs(t *testing.T, files map[string][]byte) map[string][]byte {
	t.Helper()
	src := t.TempDir()
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(src, name), b, 0o644))
	}
	dst := filepath.Join(t.TempDir(), "out")
	_, err := ConvertPath(t.Context(), src, dst, Options{})
	require.NoError(t, err)
	return treeFiles(t, dst)
}

// diskBytes sums the sizes of the files under dir.
func diskBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, b := range treeFiles(t, dir) {
		n += int64(len(b))
	}
	return n
}

func (h *streamHub) prRefs(t *testing.T) []string {
	t.Helper()
	refs, err := h.srv.Refs("alice/big")
	require.NoError(t, err)
	var prs []string
	for r := range refs {
		if strings.HasPrefix(r, "refs/pr/") {
			prs = append(prs, r)
		}
	}
	return prs
}

func TestStreamedConversionOpensTheSamePullRequest(t *testing.T) {
	files := synthSharded(t, 3, 2, 1024, 2000) // 3 shards of 8 MB
	h := newStreamHub(t, files)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	before := diskBytes(t, h.ws.Dir)

	// 1 MiB free: the checkpoint cannot be downloaded, so it is streamed.
	res := h.run(t, 1<<20, "auto")
	require.Equal(t, actions.Success, res.Conclusion, res.Summary)
	require.NotNil(t, res.Proposal)
	for _, f := range res.Proposal.Files {
		assert.Empty(t, f.LocalPath)
		require.NotNil(t, f.Stream, f.PathInRepo)
	}
	cr, err := h.publish(t, res.Proposal)
	require.NoError(t, err)
	require.Equal(t, "refs/pr/1", cr.PullRequestRef())

	want := localOutputs(t, files)
	require.Len(t, want, 4)
	for name, b := range want {
		got, err := h.srv.File("alice/big", "refs/pr/1", name)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(b, got), "%s differs from the local path's", name)
	}
	// Nothing was downloaded into the workspace or written anywhere else.
	assert.Equal(t, before, diskBytes(t, h.ws.Dir))
	assert.Zero(t, diskBytes(t, tmp))
	assert.Empty(t, leftovers(t, h.ws))
}

func TestStreamChoice(t *testing.T) {
	files := synthSharded(t, 2, 1, 64, 64)
	h := newStreamHub(t, files)
	// The local path downloads into the workspace, so it runs last.
	tests := []struct {
		stream   string
		free     int64
		streamed bool
	}{
		{"auto", 1 << 10, true},
		{"always", 1 << 40, true},
		{"auto", 1 << 40, false},
	}
	for _, tt := range tests {
		res := h.run(t, tt.free, tt.stream)
		require.NotNil(t, res.Proposal)
		assert.Equal(t, tt.streamed, res.Proposal.Files[0].Stream != nil, "%s with %d bytes free", tt.stream, tt.free)
	}
	h = newStreamHub(t, files)
	a := newAction(t, actions.Options{"stream": "never"}, nil)
	a.freeSpace = func(string) (int64, error) { return 1 << 10, nil }
	_, err := a.Run(t.Context(), h.ws, io.Discard)
	require.ErrorContains(t, err, "not enough disk space")
	_, err = New(actions.Options{"stream": "sometimes"}, nil)
	require.ErrorContains(t, err, `"sometimes" is not auto, always or never`)
}

func oid(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Faults of the storage while the pull request's files are uploaded
// (pass 2): retried, or the upload fails and no pull request is opened.
func TestStreamedUploadFaults(t *testing.T) {
	files := synthSharded(t, 2, 1, 1024, 2500) // 2 shards of 5 MB
	shard := "pytorch_model-00001-of-00002.bin"
	changed := bytes.Clone(files[shard])
	changed[len(changed)/2] ^= 1
	tests := []struct {
		name string
		arm  func(h *hubtest.Server, oid string)
		ok   bool
		msg  string
	}{
		{name: "connection reset", ok: true, arm: func(s *hubtest.Server, oid string) {
			s.FailStorage(hubtest.StorageFault{OID: oid, OnlyRanges: true, Times: 3, ResetAfter: 1<<20 + 7})
		}},
		{name: "5xx from storage", ok: true, arm: func(s *hubtest.Server, _ string) {
			s.Fail(hubtest.Fault{Method: "GET", Path: "/lfs/", Times: 3, Status: 500})
		}},
		{name: "200 instead of 206", msg: "answered with the whole file (200)", arm: func(s *hubtest.Server, oid string) {
			s.FailStorage(hubtest.StorageFault{OID: oid, OnlyRanges: true, Times: -1, IgnoreRange: true})
		}},
		{name: "ranges refused", msg: "416", arm: func(s *hubtest.Server, oid string) {
			s.FailStorage(hubtest.StorageFault{OID: oid, OnlyRanges: true, Times: -1, RefuseRange: true})
		}},
		{name: "object changed with its ETag", msg: "the file changed while it was being read", arm: func(s *hubtest.Server, oid string) {
			s.FailStorage(hubtest.StorageFault{OID: oid, Times: -1, Content: changed})
		}},
		{name: "object changed, same ETag", msg: "differ from the first pass", arm: func(s *hubtest.Server, oid string) {
			s.FailStorage(hubtest.StorageFault{OID: oid, Times: -1, Content: changed, KeepETag: true})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newStreamHub(t, files)
			res := h.run(t, 1<<10, "always")
			require.NotNil(t, res.Proposal, res.Summary)
			tt.arm(h.srv, oid(files[shard]))
			_, err := h.publish(t, res.Proposal)
			if tt.ok {
				require.NoError(t, err)
				want := localOutputs(t, files)
				for name, b := range want {
					got, err := h.srv.File("alice/big", "refs/pr/1", name)
					require.NoError(t, err)
					assert.True(t, bytes.Equal(b, got), name)
				}
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			assert.Empty(t, h.prRefs(t), "an interrupted upload opens no pull request")
		})
	}
}

// Faults while the inputs are read in pass 1, and hostile inputs: no
// proposal, so nothing is uploaded.
func TestStreamedPassOneRefusals(t *testing.T) {
	files := synthSharded(t, 2, 1, 256, 256)
	shard := "pytorch_model-00002-of-00002.bin"
	t.Run("storage ignores ranges", func(t *testing.T) {
		h := newStreamHub(t, files)
		h.srv.FailStorage(hubtest.StorageFault{OID: oid(files[shard]), OnlyRanges: true, Times: -1, IgnoreRange: true})
		a := newAction(t, actions.Options{"stream": "always"}, nil)
		res, err := a.Run(t.Context(), h.ws, io.Discard)
		require.Error(t, err)
		assert.ErrorIs(t, err, hubclient.ErrNoRanges)
		assert.Nil(t, res.Proposal)
	})
	t.Run("hostile shard", func(t *testing.T) {
		evil, err := os.ReadFile("testdata/bad/evil_system.bin")
		require.NoError(t, err)
		bad := map[string][]byte{}
		for k, v := range files {
			bad[k] = v
		}
		bad[shard] = evil
		h := newStreamHub(t, bad)
		res := h.run(t, 1<<10, "always")
		assert.Equal(t, actions.Failure, res.Conclusion)
		assert.Contains(t, res.Summary, "refusing GLOBAL posix.system")
		assert.Nil(t, res.Proposal)
	})
	t.Run("pointer to another object", func(t *testing.T) {
		h := newStreamHub(t, files)
		other := lfs.Pointer{OID: oid([]byte("other")), Size: int64(len(files[shard]))}
		require.NoError(t, os.WriteFile(h.ws.Path(shard), []byte(other.String()), 0o644))
		a := newAction(t, actions.Options{"stream": "always"}, nil)
		_, err := a.Run(t.Context(), h.ws, io.Discard)
		require.ErrorContains(t, err, "the pointer says")
	})
}
