package git_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/git"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/lfs"
)

var _ actions.ContentFetcher = (*git.Content)(nil)

func TestContentMaterialisesPointers(t *testing.T) {
	h := newHub(t)
	repo := hubclient.Repo{ID: "alice/weights"}
	weights := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	sha := h.createRepo(repo, true, map[string]string{
		"README.md":                 "# weights\n",
		"weights/model.safetensors": string(weights),
	}, "*.safetensors")
	req := request(h, repo, "refs/heads/main", sha)
	req.Token = h.alice.Token
	co, err := newWorkspaces(t).Checkout(t.Context(), req)
	require.NoError(t, err)
	defer co.Close()

	ws := &actions.Workspace{Dir: co.Dir, SHA: co.SHA, Content: co.Content(h.client(h.alice.Token))}
	ptr, isPointer, err := ws.Pointer("weights/model.safetensors")
	require.NoError(t, err)
	require.True(t, isPointer)
	sum := sha256.Sum256(weights)
	assert.Equal(t, lfs.Pointer{OID: hex.EncodeToString(sum[:]), Size: int64(len(weights))}, ptr)

	local, err := ws.Materialize(t.Context(), "weights/model.safetensors")
	require.NoError(t, err)
	data, err := os.ReadFile(local)
	require.NoError(t, err)
	assert.Equal(t, weights, data, "the real content replaced the pointer")
	cdn := h.srv.CDNRequests()
	require.NotEmpty(t, cdn, "LFS content comes from the storage host")
	for _, r := range cdn {
		assert.Empty(t, r.Header.Get("Authorization"), "the storage host never sees the token")
	}

	// A file that is not a pointer is left alone.
	local, err = ws.Materialize(t.Context(), "README.md")
	require.NoError(t, err)
	assert.Equal(t, "# weights\n", readFile(t, filepath.Dir(local), "README.md"))

	// A pointer whose content the Hub does not have at this commit.
	var out bytes.Buffer
	err = co.Content(h.client(h.alice.Token)).Fetch(t.Context(), "weights/model.safetensors",
		lfs.Pointer{OID: strings.Repeat("e", 64), Size: ptr.Size}, &out)
	assert.ErrorContains(t, err, "sha256")
}

// fakeDownloader writes body and reports info, whatever it is asked.
type fakeDownloader struct {
	body string
	info hubclient.DownloadInfo
	err  error

	gotRev, gotPath string
	gotWant         *lfs.Pointer
}

func (f *fakeDownloader) Download(ctx context.Context, repo hubclient.Repo, rev, path string, w io.Writer, want *lfs.Pointer) (*hubclient.DownloadInfo, error) {
	f.gotRev, f.gotPath, f.gotWant = rev, path, want
	if _, err := io.WriteString(w, f.body); err != nil {
		return nil, err
	}
	if f.err != nil {
		return nil, f.err
	}
	info := f.info
	return &info, nil
}

func TestContentChecks(t *testing.T) {
	const body = "hello weights"
	sha := strings.Repeat("c", 40)
	sum := sha256.Sum256([]byte(body))
	ptr := lfs.Pointer{OID: hex.EncodeToString(sum[:]), Size: int64(len(body))}
	good := hubclient.DownloadInfo{Size: ptr.Size, SHA256: ptr.OID, CommitSHA: sha}

	tests := []struct {
		name    string
		path    string
		ptr     lfs.Pointer
		d       *fakeDownloader
		maxSize int64
		wantErr string
	}{
		{"verified", "model.bin", ptr, &fakeDownloader{body: body, info: good}, 0, ""},
		{"larger than announced", "model.bin", ptr, &fakeDownloader{body: body + "!", info: good}, 0, "more than the 13 bytes"},
		{"smaller than announced", "model.bin", ptr, &fakeDownloader{body: body[:3], info: good}, 0, "got 3 bytes"},
		{"wrong hash", "model.bin", ptr, &fakeDownloader{body: body, info: hubclient.DownloadInfo{Size: ptr.Size, SHA256: strings.Repeat("0", 64)}}, 0, "sha256"},
		{"another commit", "model.bin", ptr, &fakeDownloader{body: body, info: hubclient.DownloadInfo{Size: ptr.Size, SHA256: ptr.OID, CommitSHA: strings.Repeat("d", 40)}}, 0, "served commit"},
		{"over the size limit", "model.bin", ptr, &fakeDownloader{body: body, info: good}, 10, "over the limit"},
		{"escaping path", "../x", ptr, &fakeDownloader{}, 0, "invalid repo path"},
		{"absolute path", "/etc/passwd", ptr, &fakeDownloader{}, 0, "invalid repo path"},
		{"unclean path", "a/./b", ptr, &fakeDownloader{}, 0, "invalid repo path"},
		{"bad pointer", "model.bin", lfs.Pointer{OID: "xyz", Size: 1}, &fakeDownloader{}, 0, "invalid LFS pointer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := git.NewContent(tt.d, hubclient.Repo{ID: "alice/x"}, sha)
			c.MaxSize = tt.maxSize
			var out bytes.Buffer
			err := c.Fetch(t.Context(), tt.path, tt.ptr, &out)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, body, out.String())
			assert.Equal(t, sha, tt.d.gotRev, "always the job's commit")
			assert.Equal(t, tt.path, tt.d.gotPath)
			assert.Equal(t, &tt.ptr, tt.d.gotWant, "the downloader checks against the pointer too")
		})
	}
}
