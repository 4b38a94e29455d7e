package hubclient_test

// End-to-end tests of the client against hubtest, the project's fake Hub on
// loopback: every call of the client, downloads through the CDN redirect,
// commits with LFS (basic and multipart), a go-git round trip, and the retry
// and lost-answer policies. The exact shape of each request is pinned
// against the reference notes in shape_test.go; here the question is whether
// the client and a Hub that behaves like the real one get things done.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
	"github.com/hubbot/hubbot/lfs"
)

// Repos every hub of these tests starts with.
const (
	tinyID   = "alice/tiny"  // public model with a card, a config, LFS weights and a nested file
	dataID   = "alice/data"  // public dataset
	demoID   = "alice/demo"  // public Docker Space
	secretID = "acme/secret" // private model of the acme org
)

// hub is a fake Hub with three users and four repos:
// alice owns alice/* and administers the acme org; bob is an outsider with
// a write token (he reads, discusses and proposes pull requests); carol is a
// read member of acme, so she sees acme/secret.
type hub struct {
	srv     *hubtest.Server
	alice   hubtest.User
	bob     hubtest.User
	carol   hubtest.User
	tiny    hubtest.Repo
	secret  hubtest.Repo
	readme  []byte
	weights []byte
}

func newHub(t *testing.T, opts hubtest.Options) *hub {
	t.Helper()
	srv, err := hubtest.New(opts)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	h := &hub{srv: srv, alice: srv.AddUser("alice"), bob: srv.AddUser("bob"), carol: srv.AddUser("carol")}
	srv.AddOrg("acme", h.alice)
	require.NoError(t, srv.AddOrgMember("acme", h.carol, hubtest.RoleRead))
	h.readme = []byte("---\nlicense: mit\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n- tiny\n---\n# Tiny\n")
	h.weights = fakeWeights(4096, 1)
	h.tiny, err = srv.CreateRepo(h.alice, hubtest.RepoSpec{
		ID: tinyID,
		Files: map[string][]byte{
			"README.md":         h.readme,
			"config.json":       []byte(`{"model_type":"tiny"}`),
			"model.safetensors": h.weights,
			"sub/dir/notes.txt": []byte("notes\n"),
		},
		LFS: []string{"*.safetensors", "*.bin"},
	})
	require.NoError(t, err)
	_, err = srv.CreateRepo(h.alice, hubtest.RepoSpec{ID: dataID, Type: hubtest.TypeDataset,
		Files: map[string][]byte{"README.md": []byte("# Data\n"), "train.csv": []byte("a,b\n1,2\n")}})
	require.NoError(t, err)
	_, err = srv.CreateRepo(h.alice, hubtest.RepoSpec{ID: demoID, Type: hubtest.TypeSpace, SDK: "docker",
		Files: map[string][]byte{"README.md": []byte("---\nsdk: docker\napp_port: 7860\n---\n"), "Dockerfile": []byte("FROM scratch\n")}})
	require.NoError(t, err)
	h.secret, err = srv.CreateRepo(h.alice, hubtest.RepoSpec{ID: secretID, Private: true,
		Files: map[string][]byte{"README.md": []byte("# secret\n"), "model.bin": fakeWeights(2048, 2)}})
	require.NoError(t, err)
	return h
}

// client returns a client of the hub with token ("" for anonymous) and
// retry delays short enough for tests; edits adjust the options.
func (h *hub) client(t *testing.T, token string, edits ...func(*hubclient.Options)) *hubclient.Client {
	t.Helper()
	opts := hubclient.Options{
		Endpoint:       h.srv.URL,
		Token:          token,
		RetryBaseDelay: time.Millisecond,
		RetryMaxDelay:  4 * time.Millisecond,
	}
	for _, edit := range edits {
		edit(&opts)
	}
	c, err := hubclient.New(opts)
	require.NoError(t, err)
	return c
}

// requests returns the Hub requests with method (any when empty) whose
// escaped path starts with prefix.
func (h *hub) requests(method, prefix string) []hubtest.Request {
	var out []hubtest.Request
	for _, r := range h.srv.Requests() {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// assertNoTokenOnCDN checks that no request to the storage host carried
// credentials: presigned URLs must never see the token.
func (h *hub) assertNoTokenOnCDN(t *testing.T) {
	t.Helper()
	for _, r := range h.srv.CDNRequests() {
		assert.Empty(t, r.Header.Get("Authorization"), "%s %s leaked a token to the CDN", r.Method, r.Path)
	}
}

func model(id string) hubclient.Repo   { return hubclient.Repo{ID: id} }
func dataset(id string) hubclient.Repo { return hubclient.Repo{Type: hubclient.Dataset, ID: id} }
func space(id string) hubclient.Repo   { return hubclient.Repo{Type: hubclient.Space, ID: id} }

// fakeWeights returns n bytes that look binary (a NUL up front) and differ
// by seed.
func fakeWeights(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = rng.Read(b)
	b[0] = 0
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeRandomFile writes size pseudo-random bytes to path, one megabyte at
// a time so that large files never sit in memory, and returns their sha256.
func writeRandomFile(path string, size int64, seed uint64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 0xfe})
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		chunk := buf[:min(left, int64(len(buf)))]
		_, _ = rng.Read(chunk)
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return "", fmt.Errorf("write %s: %w", path, err)
		}
		h.Write(chunk)
		left -= int64(len(chunk))
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fileSHA256 hashes a file without reading it into memory.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

func hubStatus(err error) int {
	var he *hubclient.Error
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return 0
}

func TestWhoAmI(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	c := h.client(t, h.alice.Token)

	// Concurrent callers share one request, and later ones hit the cache.
	users := make([]*hubclient.User, 8)
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() { users[i], errs[i] = c.WhoAmI(t.Context()) })
	}
	wg.Wait()
	for i := range users {
		require.NoError(t, errs[i])
		assert.Same(t, users[0], users[i])
	}
	again, err := c.WhoAmI(t.Context())
	require.NoError(t, err)
	assert.Same(t, users[0], again)
	assert.Len(t, h.requests(http.MethodGet, "/api/whoami-v2"), 1, "whoami is asked once and cached")

	u := users[0]
	assert.Equal(t, h.alice.ID, u.ID, "the stable id webhook payloads carry")
	assert.Equal(t, "alice", u.Name)
	assert.Equal(t, "user", u.Type)
	assert.Equal(t, "write", u.Auth.AccessToken.Role)
	require.Len(t, u.Orgs, 1)
	assert.Equal(t, "acme", u.Orgs[0].Name)

	t.Run("expired cache asks again", func(t *testing.T) {
		h.srv.ResetRequests()
		c := h.client(t, h.bob.Token, func(o *hubclient.Options) { o.WhoAmITTL = time.Nanosecond })
		for range 2 {
			u, err := c.WhoAmI(t.Context())
			require.NoError(t, err)
			assert.Equal(t, "bob", u.Name)
		}
		assert.Len(t, h.requests(http.MethodGet, "/api/whoami-v2"), 2)
	})
	t.Run("read token", func(t *testing.T) {
		const readToken = "hf_read-only-token-for-carol"
		require.NoError(t, h.srv.AddToken(h.carol, readToken, hubtest.RoleRead))
		u, err := h.client(t, readToken).WhoAmI(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "carol", u.Name)
		assert.Equal(t, "read", u.Auth.AccessToken.Role)
	})
	t.Run("invalid token", func(t *testing.T) {
		_, err := h.client(t, "hf_not-a-token-the-hub-knows").WhoAmI(t.Context())
		require.Error(t, err)
		assert.True(t, hubclient.IsUnauthorized(err), "%v", err)
		assert.False(t, hubclient.IsNotFound(err), "a bad token is not a missing repo: %v", err)
		assert.NotContains(t, err.Error(), "hf_notatoken")
	})
	t.Run("anonymous asks nothing", func(t *testing.T) {
		h.srv.ResetRequests()
		_, err := h.client(t, "").WhoAmI(t.Context())
		require.Error(t, err)
		assert.Empty(t, h.srv.Requests())
	})
}

func TestRepoInfo(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	extra := fakeWeights(1024, 3)
	pr, err := h.srv.OpenPR(h.bob, tinyID, "Add extra weights", "", hubtest.Change{Files: map[string][]byte{"extra.bin": extra}})
	require.NoError(t, err)

	siblings := func(info *hubclient.RepoInfo) []string {
		var names []string
		for _, s := range info.Siblings {
			names = append(names, s.RFilename)
		}
		slices.Sort(names)
		return names
	}
	sibling := func(t *testing.T, info *hubclient.RepoInfo, name string) hubclient.Sibling {
		for _, s := range info.Siblings {
			if s.RFilename == name {
				return s
			}
		}
		require.Failf(t, "no sibling", "%s is not among %v", name, siblings(info))
		return hubclient.Sibling{}
	}
	tinyFiles := []string{".gitattributes", "README.md", "config.json", "model.safetensors", "sub/dir/notes.txt"}

	tests := []struct {
		name  string
		token string
		repo  hubclient.Repo
		rev   string
		opts  *hubclient.RepoInfoOptions
		path  string // escaped request path expected
		check func(t *testing.T, info *hubclient.RepoInfo)
	}{
		{
			name: "model at the default branch", token: h.bob.Token, repo: model(tinyID),
			path: "/api/models/alice/tiny",
			check: func(t *testing.T, info *hubclient.RepoInfo) {
				assert.Equal(t, tinyID, info.ID)
				assert.Equal(t, h.tiny.ID, info.ObjectID)
				assert.Equal(t, "alice", info.Author)
				assert.Equal(t, h.tiny.Head, info.SHA)
				assert.False(t, info.Private)
				assert.Equal(t, "transformers", info.LibraryName)
				assert.Equal(t, "text-generation", info.PipelineTag)
				assert.Equal(t, "mit", info.CardData["license"])
				assert.Subset(t, info.Tags, []string{"transformers", "tiny", "license:mit"})
				assert.Equal(t, tinyFiles, siblings(info))
				assert.False(t, info.LastModified.IsZero())
				assert.Nil(t, sibling(t, info, "model.safetensors").LFS, "no blob details unless asked")
			},
		},
		{
			name: "blobs", token: h.bob.Token, repo: model(tinyID), rev: "main", opts: &hubclient.RepoInfoOptions{Blobs: true},
			path: "/api/models/alice/tiny/revision/main",
			check: func(t *testing.T, info *hubclient.RepoInfo) {
				w := sibling(t, info, "model.safetensors")
				require.NotNil(t, w.LFS)
				assert.Equal(t, sha256Hex(h.weights), w.LFS.SHA256)
				assert.Equal(t, int64(len(h.weights)), w.LFS.Size)
				require.NotNil(t, w.Size)
				assert.Equal(t, int64(len(h.weights)), *w.Size, "the real size, not the pointer's")
				cfg := sibling(t, info, "config.json")
				assert.Nil(t, cfg.LFS)
				assert.Regexp(t, "^[0-9a-f]{40}$", cfg.BlobID)
				require.NotNil(t, cfg.Size)
				assert.Equal(t, int64(len(`{"model_type":"tiny"}`)), *cfg.Size)
			},
		},
		{
			name: "pull request ref", token: h.bob.Token, repo: model(tinyID), rev: pr.Ref,
			path: "/api/models/alice/tiny/revision/refs%2Fpr%2F1",
			check: func(t *testing.T, info *hubclient.RepoInfo) {
				assert.Equal(t, pr.SHA, info.SHA)
				assert.Contains(t, siblings(info), "extra.bin")
			},
		},
		{
			name: "pull request ref with blobs", token: h.bob.Token, repo: model(tinyID), rev: pr.Ref,
			opts: &hubclient.RepoInfoOptions{Blobs: true},
			path: "/api/models/alice/tiny/revision/refs%2Fpr%2F1",
			check: func(t *testing.T, info *hubclient.RepoInfo) {
				e := sibling(t, info, "extra.bin")
				require.NotNil(t, e.LFS)
				assert.Equal(t, sha256Hex(extra), e.LFS.SHA256)
			},
		},
		{
			name: "commit sha", token: "", repo: model(tinyID), rev: h.tiny.Head,
			path: "/api/models/alice/tiny/revision/" + h.tiny.Head,
			check: func(t *testing.T, info *hubclient.RepoInfo) {
				assert.Equal(t, h.tiny.Head, info.SHA)
				assert.NotContains(t, siblings(info), "extra.bin")
			},
		},
		{
			name: "expand", token: h.bob.Token, repo: model(tinyID), rev: pr.Ref, opts: &hubclient.RepoInfoOptions{Expand: []string{"sha"}},
			path: "/api/models/alice/tiny/revision/refs%2Fpr%2F1",
			check: func(t *testing.T, info *hubclient.RepoInfo) {
				assert.Equal(t, pr.SHA, info.SHA)
				assert.Empty(t, info.Siblings, "only what was asked for")
			},
		},
		{
			name: "dataset", token: h.bob.Token, repo: dataset(dataID),
			path: "/api/datasets/alice/data",
			check: func(t *testing.T, info *hubclient.RepoInfo) {
				assert.Equal(t, dataID, info.ID)
				assert.Equal(t, []string{".gitattributes", "README.md", "train.csv"}, siblings(info))
			},
		},
		{
			name: "space", token: h.bob.Token, repo: space(demoID),
			path: "/api/spaces/alice/demo",
			check: func(t *testing.T, info *hubclient.RepoInfo) {
				assert.Equal(t, demoID, info.ID)
				assert.Equal(t, "docker", info.SDK)
				assert.Contains(t, siblings(info), "Dockerfile")
			},
		},
		{
			name: "private repo for a member", token: h.carol.Token, repo: model(secretID),
			path: "/api/models/acme/secret",
			check: func(t *testing.T, info *hubclient.RepoInfo) {
				assert.True(t, info.Private)
				assert.Equal(t, h.secret.Head, info.SHA)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.ResetRequests()
			info, err := h.client(t, tt.token).RepoInfo(t.Context(), tt.repo, tt.rev, tt.opts)
			require.NoError(t, err)
			tt.check(t, info)
			reqs := h.srv.Requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.path, reqs[0].Path)
		})
	}

	errTests := []struct {
		name   string
		token  string
		repo   hubclient.Repo
		rev    string
		status int
		is     []func(error) bool
	}{
		{"missing revision", h.bob.Token, model(tinyID), "nope", http.StatusNotFound,
			[]func(error) bool{hubclient.IsRevisionNotFound, hubclient.IsNotFound}},
		{"missing pull request", h.bob.Token, model(tinyID), "refs/pr/9", http.StatusNotFound,
			[]func(error) bool{hubclient.IsRevisionNotFound, hubclient.IsNotFound}},
		{"missing repo", h.bob.Token, model("alice/nope"), "", http.StatusNotFound,
			[]func(error) bool{hubclient.IsRepoNotFound, hubclient.IsNotFound}},
		{"missing repo, anonymously", "", model("alice/nope"), "", http.StatusUnauthorized,
			[]func(error) bool{hubclient.IsRepoNotFound, hubclient.IsNotFound}},
		{"a model id asked as a dataset", h.bob.Token, dataset(tinyID), "", http.StatusNotFound,
			[]func(error) bool{hubclient.IsRepoNotFound, hubclient.IsNotFound}},
		{"private repo, anonymously", "", model(secretID), "", http.StatusUnauthorized,
			[]func(error) bool{hubclient.IsRepoNotFound, hubclient.IsNotFound}},
		{"private repo, outsider", h.bob.Token, model(secretID), "", http.StatusNotFound,
			[]func(error) bool{hubclient.IsRepoNotFound, hubclient.IsNotFound}},
		{"invalid token", "hf_not-a-token-the-hub-knows", model(tinyID), "", http.StatusUnauthorized,
			[]func(error) bool{hubclient.IsUnauthorized}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.ResetRequests()
			_, err := h.client(t, tt.token).RepoInfo(t.Context(), tt.repo, tt.rev, nil)
			require.Error(t, err)
			assert.Equal(t, tt.status, hubStatus(err), "%v", err)
			for _, is := range tt.is {
				assert.True(t, is(err), "%v", err)
			}
			assert.Len(t, h.srv.Requests(), 1, "a 4xx is final: no retry")
		})
	}
	t.Run("invalid token is not a missing repo", func(t *testing.T) {
		_, err := h.client(t, "hf_not-a-token-the-hub-knows").RepoInfo(t.Context(), model(tinyID), "", nil)
		assert.False(t, hubclient.IsNotFound(err), "%v", err)
	})
	t.Run("invalid repo id asks nothing", func(t *testing.T) {
		h.srv.ResetRequests()
		for _, id := range []string{"tiny", "alice/tiny/extra", "../etc", "alice/ti ny", "alice/..", "alice/t%2Fx"} {
			_, err := h.client(t, h.bob.Token).RepoInfo(t.Context(), model(id), "", nil)
			assert.Error(t, err, id)
		}
		assert.Empty(t, h.srv.Requests())
	})
}

func TestRefSHA(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	dev, err := h.srv.Push(h.alice, tinyID, "refs/heads/feature/x", hubtest.Change{Files: map[string][]byte{"new.txt": []byte("new\n")}})
	require.NoError(t, err)
	pr, err := h.srv.OpenPR(h.bob, tinyID, "Fix config", "", hubtest.Change{Files: map[string][]byte{"config.json": []byte(`{}`)}})
	require.NoError(t, err)
	c := h.client(t, h.bob.Token)

	tests := []struct {
		ref  string
		want string
	}{
		{"main", h.tiny.Head},
		{"refs/heads/main", h.tiny.Head},
		{"feature/x", dev},
		{"refs/pr/1", pr.SHA},
		{h.tiny.Head, h.tiny.Head},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := c.RefSHA(t.Context(), model(tinyID), tt.ref)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err = c.RefSHA(t.Context(), model(tinyID), "refs/pr/2")
	assert.True(t, hubclient.IsRevisionNotFound(err), "%v", err)
}

func TestListTree(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	pr, err := h.srv.OpenPR(h.bob, tinyID, "Add a file with spaces", "", hubtest.Change{
		Files: map[string][]byte{"dir with space/file #1.txt": []byte("x")},
	})
	require.NoError(t, err)
	c := h.client(t, h.bob.Token)

	type entry struct{ Type, Path string }
	tests := []struct {
		name      string
		rev, dir  string
		recursive bool
		want      []entry
	}{
		{"root", "", "", false, []entry{
			{"file", ".gitattributes"}, {"file", "README.md"}, {"file", "config.json"},
			{"file", "model.safetensors"}, {"directory", "sub"},
		}},
		{"recursive", "main", "", true, []entry{
			{"file", ".gitattributes"}, {"file", "README.md"}, {"file", "config.json"},
			{"file", "model.safetensors"}, {"directory", "sub"}, {"directory", "sub/dir"}, {"file", "sub/dir/notes.txt"},
		}},
		{"below a directory", "main", "sub", false, []entry{{"directory", "sub/dir"}}},
		{"below a directory, slashes trimmed", "main", "/sub/dir/", false, []entry{{"file", "sub/dir/notes.txt"}}},
		{"pull request with an escaped directory", pr.Ref, "dir with space", false, []entry{{"file", "dir with space/file #1.txt"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := c.ListTree(t.Context(), model(tinyID), tt.rev, tt.dir, tt.recursive)
			require.NoError(t, err)
			var got []entry
			for _, e := range entries {
				got = append(got, entry{e.Type, e.Path})
				assert.Regexp(t, "^[0-9a-f]{40}$", e.OID, e.Path)
			}
			slices.SortFunc(got, func(a, b entry) int { return strings.Compare(a.Path, b.Path) })
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("lfs details", func(t *testing.T) {
		entries, err := c.ListTree(t.Context(), model(tinyID), "main", "", false)
		require.NoError(t, err)
		i := slices.IndexFunc(entries, func(e hubclient.TreeEntry) bool { return e.Path == "model.safetensors" })
		require.GreaterOrEqual(t, i, 0)
		e := entries[i]
		require.NotNil(t, e.LFS)
		assert.Equal(t, sha256Hex(h.weights), e.LFS.OID)
		assert.Equal(t, int64(len(h.weights)), e.LFS.Size)
		assert.Equal(t, int64(len(h.weights)), e.Size, "the real size, not the pointer's")
		assert.Positive(t, e.LFS.PointerSize)
	})
	t.Run("dataset", func(t *testing.T) {
		entries, err := c.ListTree(t.Context(), dataset(dataID), "", "", true)
		require.NoError(t, err)
		assert.Len(t, entries, 3)
	})
	t.Run("missing directory", func(t *testing.T) {
		_, err := c.ListTree(t.Context(), model(tinyID), "main", "nope", false)
		assert.True(t, hubclient.IsEntryNotFound(err), "%v", err)
	})
	t.Run("missing revision", func(t *testing.T) {
		_, err := c.ListTree(t.Context(), model(tinyID), "nope", "", false)
		assert.True(t, hubclient.IsRevisionNotFound(err), "%v", err)
	})
}

// pageLimit asks the Hub for small pages by adding limit=N to list calls
// that do not set one, so that pagination is exercised without creating
// thousands of files (hubtest takes about 10 ms per file it commits).
type pageLimit struct {
	n    int
	next http.RoundTripper
}

func (p pageLimit) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/api/") || q.Has("limit") || strings.Contains(r.URL.Path, "/discussions") {
		return p.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	q.Set("limit", fmt.Sprint(p.n))
	r.URL.RawQuery = q.Encode()
	return p.next.RoundTrip(r)
}

func TestPaginationFollowsLinks(t *testing.T) {
	h := newHub(t, hubtest.Options{DiscussionsPageSize: 2})
	for i := range 3 {
		_, err := h.srv.Push(h.alice, tinyID, "main", hubtest.Change{
			Message: fmt.Sprintf("Commit %d", i), Files: map[string][]byte{fmt.Sprintf("f%d.txt", i): []byte("x")},
		})
		require.NoError(t, err)
	}
	for _, id := range []string{"alice/b", "alice/c"} {
		_, err := h.srv.CreateRepo(h.alice, hubtest.RepoSpec{ID: id})
		require.NoError(t, err)
	}
	require.NoError(t, h.srv.AddOrgMember("acme", h.bob, hubtest.RoleWrite))
	for i := range 5 {
		_, err := h.srv.OpenDiscussion(h.bob, tinyID, fmt.Sprintf("Question %d", i), "")
		require.NoError(t, err)
	}
	c := h.client(t, h.carol.Token, func(o *hubclient.Options) {
		o.HTTPClient = &http.Client{Transport: pageLimit{n: 2, next: http.DefaultTransport}}
	})
	ctx := t.Context()

	tests := []struct {
		name   string
		list   func() (int, error)
		want   int
		prefix string // of the paginated requests
		pages  int
	}{
		{"tree", func() (int, error) {
			e, err := c.ListTree(ctx, model(tinyID), "main", "", true)
			return len(e), err
		}, 10, "/api/models/alice/tiny/tree/main", 5},
		{"commits", func() (int, error) {
			e, err := c.ListCommits(ctx, model(tinyID), "main", 0)
			return len(e), err
		}, 5, "/api/models/alice/tiny/commits/main", 3},
		{"repos", func() (int, error) {
			e, err := c.ListRepos(ctx, hubclient.Model, "alice")
			return len(e), err
		}, 3, "/api/models", 2},
		{"org members", func() (int, error) {
			e, err := c.ListOrgMembers(ctx, "acme")
			return len(e), err
		}, 3, "/api/organizations/acme/members", 2},
		{"discussions", func() (int, error) {
			e, err := c.ListDiscussions(ctx, model(tinyID), hubclient.ListDiscussionsOptions{})
			return len(e), err
		}, 5, "/api/models/alice/tiny/discussions", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.ResetRequests()
			n, err := tt.list()
			require.NoError(t, err)
			assert.Equal(t, tt.want, n)
			assert.Len(t, h.requests(http.MethodGet, tt.prefix), tt.pages)
		})
	}
	t.Run("commits with a limit stop early", func(t *testing.T) {
		h.srv.ResetRequests()
		commits, err := c.ListCommits(ctx, model(tinyID), "main", 3)
		require.NoError(t, err)
		require.Len(t, commits, 3)
		assert.Equal(t, []string{"Commit 2", "Commit 1", "Commit 0"}, []string{commits[0].Title, commits[1].Title, commits[2].Title})
		reqs := h.requests(http.MethodGet, "/api/models/alice/tiny/commits/")
		require.Len(t, reqs, 1, "the client's own limit is one page")
		assert.Equal(t, "3", reqs[0].Query.Get("limit"))
	})
}

func TestCompare(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	dev, err := h.srv.Push(h.alice, tinyID, "refs/heads/dev", hubtest.Change{
		Files:  map[string][]byte{"README.md": []byte("# Tiny, renamed\n"), "new.txt": []byte("new\n"), "model.safetensors": fakeWeights(512, 9)},
		Delete: []string{"config.json"},
	})
	require.NoError(t, err)
	pr, err := h.srv.OpenPR(h.bob, tinyID, "Nested", "", hubtest.Change{Files: map[string][]byte{"a b/c.txt": []byte("c")}})
	require.NoError(t, err)
	c := h.client(t, h.bob.Token)

	tests := []struct {
		name       string
		base, head string
		want       []hubclient.ChangedFile
	}{
		{"branches", "main", "dev", []hubclient.ChangedFile{
			{Status: "M", Path: "README.md"}, {Status: "D", Path: "config.json"},
			{Status: "M", Path: "model.safetensors"}, {Status: "A", Path: "new.txt"},
		}},
		{"reversed", "dev", "main", []hubclient.ChangedFile{
			{Status: "M", Path: "README.md"}, {Status: "A", Path: "config.json"},
			{Status: "M", Path: "model.safetensors"}, {Status: "D", Path: "new.txt"},
		}},
		{"pull request against its base", "main", pr.Ref, []hubclient.ChangedFile{{Status: "A", Path: "a b/c.txt"}}},
		{"shas", h.tiny.Head, dev, []hubclient.ChangedFile{
			{Status: "M", Path: "README.md"}, {Status: "D", Path: "config.json"},
			{Status: "M", Path: "model.safetensors"}, {Status: "A", Path: "new.txt"},
		}},
		{"no change", "main", h.tiny.Head, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Compare(t.Context(), model(tinyID), tt.base, tt.head)
			require.NoError(t, err)
			slices.SortFunc(got, func(a, b hubclient.ChangedFile) int { return strings.Compare(a.Path, b.Path) })
			assert.Equal(t, tt.want, got)
		})
	}
	_, err = c.Compare(t.Context(), model(tinyID), "main", "nope")
	assert.True(t, hubclient.IsRevisionNotFound(err), "%v", err)
}

func TestListCommits(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	for i := range 3 {
		_, err := h.srv.Push(h.alice, tinyID, "main", hubtest.Change{
			Message: fmt.Sprintf("Step %d", i), Description: "Why it changed.",
			Files: map[string][]byte{"step.txt": []byte(fmt.Sprint(i))},
		})
		require.NoError(t, err)
	}
	pr, err := h.srv.OpenPR(h.bob, tinyID, "Bob's change", "", hubtest.Change{Files: map[string][]byte{"bob.txt": []byte("b")}})
	require.NoError(t, err)
	c := h.client(t, "")

	all, err := c.ListCommits(t.Context(), model(tinyID), "", 0)
	require.NoError(t, err)
	require.Len(t, all, 5, "initial commit, the files, three steps")
	var titles []string
	for _, cm := range all {
		titles = append(titles, cm.Title)
	}
	assert.Equal(t, []string{"Step 2", "Step 1", "Step 0"}, titles[:3], "newest first")
	head, ok := h.srv.Ref(tinyID, "main")
	require.True(t, ok)
	assert.Equal(t, head, all[0].ID)
	assert.Contains(t, all[0].Message, "Why it changed.")
	require.NotEmpty(t, all[0].Authors)
	assert.Equal(t, "alice", all[0].Authors[0].User)
	assert.False(t, all[0].Date.IsZero())
	assert.Equal(t, h.tiny.Head, all[3].ID, "the commit that added the files")

	two, err := c.ListCommits(t.Context(), model(tinyID), "main", 2)
	require.NoError(t, err)
	assert.Equal(t, all[:2], two)

	onPR, err := c.ListCommits(t.Context(), model(tinyID), pr.Ref, 1)
	require.NoError(t, err)
	require.Len(t, onPR, 1)
	assert.Equal(t, pr.SHA, onPR[0].ID)
	assert.Equal(t, "Bob's change", onPR[0].Title)
	assert.Equal(t, "bob", onPR[0].Authors[0].User)

	_, err = c.ListCommits(t.Context(), model(tinyID), "nope", 0)
	assert.True(t, hubclient.IsRevisionNotFound(err), "%v", err)
}

func TestListRefs(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	dev, err := h.srv.Push(h.alice, tinyID, "refs/heads/dev", hubtest.Change{Files: map[string][]byte{"dev.txt": []byte("d")}})
	require.NoError(t, err)
	pr, err := h.srv.OpenPR(h.bob, tinyID, "Bob's change", "", hubtest.Change{Files: map[string][]byte{"bob.txt": []byte("b")}})
	require.NoError(t, err)
	c := h.client(t, h.bob.Token)

	refs, err := c.ListRefs(t.Context(), model(tinyID), false)
	require.NoError(t, err)
	assert.ElementsMatch(t, []hubclient.GitRef{
		{Name: "dev", Ref: "refs/heads/dev", TargetCommit: dev},
		{Name: "main", Ref: "refs/heads/main", TargetCommit: h.tiny.Head},
	}, refs.Branches)
	assert.Empty(t, refs.Tags)
	assert.Empty(t, refs.PullRequests, "pull requests only when asked")

	refs, err = c.ListRefs(t.Context(), model(tinyID), true)
	require.NoError(t, err)
	assert.Equal(t, []hubclient.GitRef{{Name: "1", Ref: pr.Ref, TargetCommit: pr.SHA}}, refs.PullRequests)
	assert.Len(t, refs.Branches, 2)

	refs, err = c.ListRefs(t.Context(), space(demoID), true)
	require.NoError(t, err)
	assert.Len(t, refs.Branches, 1)
	assert.Empty(t, refs.PullRequests)

	_, err = c.ListRefs(t.Context(), model(secretID), false)
	assert.True(t, hubclient.IsRepoNotFound(err), "%v", err)
}

func TestListRepos(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	_, err := h.srv.CreateRepo(h.alice, hubtest.RepoSpec{ID: "acme/public"})
	require.NoError(t, err)

	ids := func(list []hubclient.RepoSummary) []string {
		var out []string
		for _, r := range list {
			out = append(out, r.ID)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name    string
		token   string
		typ     hubclient.RepoType
		author  string
		want    []string
		private []string
	}{
		{"models of a user", h.bob.Token, hubclient.Model, "alice", []string{tinyID}, nil},
		{"zero type means models", "", "", "alice", []string{tinyID}, nil},
		{"datasets", h.bob.Token, hubclient.Dataset, "alice", []string{dataID}, nil},
		{"spaces", h.bob.Token, hubclient.Space, "alice", []string{demoID}, nil},
		{"org models, outsider", h.bob.Token, hubclient.Model, "acme", []string{"acme/public"}, nil},
		{"org models, member", h.carol.Token, hubclient.Model, "acme", []string{"acme/public", secretID}, []string{secretID}},
		{"org models, anonymous", "", hubclient.Model, "acme", []string{"acme/public"}, nil},
		{"nobody", h.bob.Token, hubclient.Model, "nobody", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := h.client(t, tt.token).ListRepos(t.Context(), tt.typ, tt.author)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids(list))
			for _, r := range list {
				assert.Equal(t, slices.Contains(tt.private, r.ID), r.Private, r.ID)
			}
		})
	}
	t.Run("invalid author asks nothing", func(t *testing.T) {
		h.srv.ResetRequests()
		for _, author := range []string{"", "a/b", "a?b", "a#b", "a&b"} {
			_, err := h.client(t, "").ListRepos(t.Context(), hubclient.Model, author)
			assert.Error(t, err, author)
		}
		assert.Empty(t, h.srv.Requests())
	})
}

func TestOrgsAndUsers(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	c := h.client(t, h.bob.Token)

	members, err := c.ListOrgMembers(t.Context(), "acme")
	require.NoError(t, err)
	var names []string
	for _, m := range members {
		names = append(names, m.User)
		assert.Equal(t, "user", m.Type)
	}
	assert.Equal(t, []string{"alice", "carol"}, names)

	for _, tt := range []struct {
		user string
		want bool
	}{{"alice", true}, {"Carol", true}, {"bob", false}, {"acme", false}} {
		got, err := c.IsOrgMember(t.Context(), "acme", tt.user)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, tt.user)
	}
	_, err = c.ListOrgMembers(t.Context(), "nope")
	assert.True(t, hubclient.IsNotFound(err), "%v", err)

	ov, err := c.GetUserOverview(t.Context(), "alice")
	require.NoError(t, err)
	assert.Equal(t, "alice", ov.User)
	assert.Equal(t, "user", ov.Type)
	require.Len(t, ov.Orgs, 1)
	assert.Equal(t, "acme", ov.Orgs[0].Name)

	ov, err = c.GetUserOverview(t.Context(), "bob")
	require.NoError(t, err)
	assert.Empty(t, ov.Orgs)

	_, err = c.GetUserOverview(t.Context(), "nobody")
	assert.True(t, hubclient.IsNotFound(err), "%v", err)

	h.srv.ResetRequests()
	_, err = c.GetUserOverview(t.Context(), "a/b")
	assert.Error(t, err)
	_, err = c.ListOrgMembers(t.Context(), "")
	assert.Error(t, err)
	assert.Empty(t, h.srv.Requests(), "invalid names are refused before any request")
}

func TestDownload(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	extra := fakeWeights(3000, 4)
	pr, err := h.srv.OpenPR(h.bob, tinyID, "More files", "", hubtest.Change{Files: map[string][]byte{
		"extra.bin":                  extra,
		"dir with space/file #1.txt": []byte("hash and space"),
	}})
	require.NoError(t, err)
	secretWeights, err := h.srv.File(secretID, "main", "model.bin")
	require.NoError(t, err)

	tests := []struct {
		name   string
		token  string
		repo   hubclient.Repo
		rev    string
		path   string
		want   []byte
		commit string
		viaCDN bool
	}{
		{"lfs file through the cdn", h.alice.Token, model(tinyID), "main", "model.safetensors", h.weights, h.tiny.Head, true},
		{"lfs file, anonymously", "", model(tinyID), "", "model.safetensors", h.weights, h.tiny.Head, true},
		{"regular file", h.alice.Token, model(tinyID), "main", "config.json", []byte(`{"model_type":"tiny"}`), h.tiny.Head, false},
		{"nested file", h.bob.Token, model(tinyID), "main", "sub/dir/notes.txt", []byte("notes\n"), h.tiny.Head, false},
		{"lfs file at a pull request", h.bob.Token, model(tinyID), pr.Ref, "extra.bin", extra, pr.SHA, true},
		{"escaped path at a pull request", h.bob.Token, model(tinyID), pr.Ref, "dir with space/file #1.txt", []byte("hash and space"), pr.SHA, false},
		{"by commit sha", "", model(tinyID), h.tiny.Head, "config.json", []byte(`{"model_type":"tiny"}`), h.tiny.Head, false},
		{"dataset", "", dataset(dataID), "main", "train.csv", []byte("a,b\n1,2\n"), "", false},
		{"space", "", space(demoID), "main", "Dockerfile", []byte("FROM scratch\n"), "", false},
		{"private lfs file for a member", h.carol.Token, model(secretID), "main", "model.bin", secretWeights, h.secret.Head, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.ResetRequests()
			var out strings.Builder
			info, err := h.client(t, tt.token).Download(t.Context(), tt.repo, tt.rev, tt.path, &out, nil)
			require.NoError(t, err)
			assert.Equal(t, string(tt.want), out.String())
			assert.Equal(t, int64(len(tt.want)), info.Size)
			assert.Equal(t, sha256Hex(tt.want), info.SHA256)
			if tt.commit != "" {
				assert.Equal(t, tt.commit, info.CommitSHA)
			}
			hubReqs := h.requests(http.MethodGet, "")
			require.Len(t, hubReqs, 1)
			assert.Contains(t, hubReqs[0].Path, "/resolve/")
			if tt.token != "" {
				assert.Equal(t, "Bearer "+tt.token, hubReqs[0].Header.Get("Authorization"), "the Hub itself gets the token")
			}
			cdn := h.srv.CDNRequests()
			if tt.viaCDN {
				require.Len(t, cdn, 1, "LFS content comes from the storage host")
				assert.Empty(t, cdn[0].Header.Get("Authorization"), "the storage host never sees the token")
				assert.Equal(t, http.StatusOK, cdn[0].Status)
			} else {
				assert.Empty(t, cdn)
			}
		})
	}

	t.Run("expected pointer", func(t *testing.T) {
		c := h.client(t, h.bob.Token)
		right := &lfs.Pointer{OID: sha256Hex(h.weights), Size: int64(len(h.weights))}
		_, err := c.Download(t.Context(), model(tinyID), "main", "model.safetensors", io.Discard, right)
		require.NoError(t, err)
		wrong := &lfs.Pointer{OID: sha256Hex(extra), Size: int64(len(h.weights))}
		_, err = c.Download(t.Context(), model(tinyID), "main", "model.safetensors", io.Discard, wrong)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "sha256")
		short := &lfs.Pointer{OID: sha256Hex(h.weights), Size: 10}
		_, err = c.Download(t.Context(), model(tinyID), "main", "model.safetensors", io.Discard, short)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "want 10")
	})

	errTests := []struct {
		name  string
		token string
		repo  hubclient.Repo
		rev   string
		path  string
		is    []func(error) bool
		not   []func(error) bool
	}{
		{"missing file", h.bob.Token, model(tinyID), "main", "nope.txt",
			[]func(error) bool{hubclient.IsEntryNotFound, hubclient.IsNotFound}, []func(error) bool{hubclient.IsRevisionNotFound}},
		{"a directory is not a file", h.bob.Token, model(tinyID), "main", "sub",
			[]func(error) bool{hubclient.IsEntryNotFound}, nil},
		{"missing revision", h.bob.Token, model(tinyID), "nope", "config.json",
			[]func(error) bool{hubclient.IsRevisionNotFound, hubclient.IsNotFound}, []func(error) bool{hubclient.IsEntryNotFound}},
		{"missing repo", h.bob.Token, model("alice/nope"), "main", "config.json",
			[]func(error) bool{hubclient.IsNotFound, hubclient.IsRepoNotFound}, nil},
		{"private repo, anonymously", "", model(secretID), "main", "README.md",
			[]func(error) bool{hubclient.IsNotFound, hubclient.IsRepoNotFound}, nil},
		{"private repo, outsider", h.bob.Token, model(secretID), "main", "README.md",
			[]func(error) bool{hubclient.IsNotFound, hubclient.IsRepoNotFound}, nil},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.ResetRequests()
			var out strings.Builder
			_, err := h.client(t, tt.token).Download(t.Context(), tt.repo, tt.rev, tt.path, &out, nil)
			require.Error(t, err)
			for _, is := range tt.is {
				assert.True(t, is(err), "%v", err)
			}
			for _, is := range tt.not {
				assert.False(t, is(err), "%v", err)
			}
			assert.Empty(t, out.String(), "nothing is written for an error answer")
			assert.Len(t, h.srv.Requests(), 1)
		})
	}
	t.Run("storage hiccup is retried", func(t *testing.T) {
		h.srv.ResetRequests()
		h.srv.Fail(hubtest.Fault{Method: http.MethodGet, Path: "/lfs/", Status: http.StatusServiceUnavailable})
		defer h.srv.ClearFaults()
		var out strings.Builder
		info, err := h.client(t, h.bob.Token).Download(t.Context(), model(tinyID), "main", "model.safetensors", &out, nil)
		require.NoError(t, err)
		assert.Equal(t, string(h.weights), out.String(), "the failed attempt wrote nothing")
		assert.Equal(t, sha256Hex(h.weights), info.SHA256)
		cdn := h.srv.CDNRequests()
		require.Len(t, cdn, 2)
		assert.True(t, cdn[0].Fault)
		assert.Len(t, h.requests(http.MethodGet, ""), 1, "the Hub's redirect is not asked again")
	})
	t.Run("bad paths ask nothing", func(t *testing.T) {
		h.srv.ResetRequests()
		for _, p := range []string{"", "../config.json", "a/../b", ".git/config", "a\\b"} {
			_, err := h.client(t, "").Download(t.Context(), model(tinyID), "main", p, io.Discard, nil)
			assert.Error(t, err, p)
		}
		assert.Empty(t, h.srv.Requests())
	})
	h.assertNoTokenOnCDN(t)
}

func TestDiscussions(t *testing.T) {
	h := newHub(t, hubtest.Options{DiscussionsPageSize: 2})
	ctx := t.Context()
	alice, bob := h.client(t, h.alice.Token), h.client(t, h.bob.Token)
	tiny := model(tinyID)

	question, err := bob.CreateDiscussion(ctx, tiny, "Question about the license", "Is **MIT** right?")
	require.NoError(t, err)
	draft, err := bob.CreatePullRequest(ctx, tiny, "Better card", "")
	require.NoError(t, err)
	res, err := alice.CreateCommit(ctx, tiny, hubclient.CommitRequest{
		CreatePR: true, Summary: "Add notes", Description: "Adds usage notes.",
		Files: []hubclient.CommitFile{{PathInRepo: "NOTES.md", Content: []byte("# Notes\n")}},
	})
	require.NoError(t, err)
	notes := res.PullRequestNum
	roadmap, err := alice.CreateDiscussion(ctx, tiny, "Roadmap", "What comes next.")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3, 4}, []int{question, draft, notes, roadmap})

	t.Run("create", func(t *testing.T) {
		d, ok := h.srv.Discussion(tinyID, question)
		require.True(t, ok)
		assert.Equal(t, "Question about the license", d.Title)
		assert.Equal(t, "bob", d.Author)
		assert.False(t, d.IsPullRequest)
		require.Len(t, d.Events, 1)
		assert.Equal(t, "Is **MIT** right?", d.Events[0].Content)

		d, ok = h.srv.Discussion(tinyID, draft)
		require.True(t, ok)
		assert.True(t, d.IsPullRequest)
		assert.Equal(t, hubtest.StatusDraft, d.Status)
		sha, ok := h.srv.Ref(tinyID, fmt.Sprintf("refs/pr/%d", draft))
		require.True(t, ok, "an empty pull request has its ref")
		assert.Equal(t, h.tiny.Head, sha)
	})

	t.Run("close with a comment", func(t *testing.T) {
		ev, err := alice.ChangeDiscussionStatus(ctx, tiny, roadmap, hubclient.StatusClosed, "Done for now.")
		require.NoError(t, err)
		assert.Equal(t, hubclient.EventStatusChange, ev.Type)
		assert.Equal(t, hubclient.StatusClosed, ev.NewStatus())
		assert.Equal(t, "alice", ev.AuthorName())
		d, err := alice.GetDiscussion(ctx, tiny, roadmap)
		require.NoError(t, err)
		assert.Equal(t, hubclient.StatusClosed, d.Status)
		var types []string
		for _, e := range d.Events {
			types = append(types, e.Type)
		}
		assert.Equal(t, []string{"comment", "comment", "status-change"}, types)
		assert.Equal(t, "Done for now.", d.Events[1].Content())
	})

	t.Run("comment, edit, hide", func(t *testing.T) {
		c, err := bob.Comment(ctx, tiny, question, "Any news?")
		require.NoError(t, err)
		assert.Equal(t, hubclient.EventComment, c.Type)
		assert.Equal(t, "Any news?", c.Content())
		assert.Equal(t, "bob", c.AuthorName())
		assert.NotEmpty(t, c.ID)
		assert.False(t, c.CreatedAt.IsZero())

		edited, err := bob.EditComment(ctx, tiny, question, c.ID, "Any news? (edited)")
		require.NoError(t, err)
		assert.Equal(t, c.ID, edited.ID)
		assert.True(t, edited.Edited())
		assert.Equal(t, "Any news? (edited)", edited.Content())

		hidden, err := alice.HideComment(ctx, tiny, question, strings.ToUpper(c.ID))
		require.NoError(t, err)
		assert.True(t, hidden.Hidden())
		assert.Empty(t, hidden.Content(), "a hidden comment's content is gone")

		d, err := bob.GetDiscussion(ctx, tiny, question)
		require.NoError(t, err)
		assert.Equal(t, question, d.Num)
		assert.Equal(t, "Question about the license", d.Title)
		assert.Equal(t, hubclient.StatusOpen, d.Status)
		assert.False(t, d.IsPullRequest)
		assert.Empty(t, d.GitRef())
		assert.Equal(t, "bob", d.AuthorName())
		require.NotNil(t, d.Author)
		assert.Equal(t, h.bob.ID, d.Author.ID)
		assert.False(t, d.Author.IsOwner)
		require.Len(t, d.Events, 2)
		require.NotNil(t, d.Description())
		assert.Equal(t, "Is **MIT** right?", d.Description().Content())
		assert.Equal(t, "bob", d.Events[0].AuthorName())
		assert.Equal(t, c.ID, d.Events[1].ID)
		assert.True(t, d.Events[1].Hidden())
		assert.True(t, d.Events[1].Edited())
		assert.Empty(t, d.Events[1].Content())
	})

	t.Run("pull request details", func(t *testing.T) {
		d, err := bob.GetDiscussion(ctx, tiny, notes)
		require.NoError(t, err)
		assert.True(t, d.IsPullRequest)
		assert.Equal(t, fmt.Sprintf("refs/pr/%d", notes), d.GitRef())
		assert.Equal(t, "Add notes", d.Title)
		assert.Equal(t, "refs/heads/main", d.Changes.Base)
		assert.True(t, d.Author.IsOwner)
		require.NotNil(t, d.Description())
		assert.Equal(t, "Adds usage notes.", d.Description().Content())
		i := slices.IndexFunc(d.Events, func(e hubclient.Event) bool { return e.Type == hubclient.EventCommit })
		require.GreaterOrEqual(t, i, 0, "the commit shows in the timeline")
		assert.Equal(t, res.CommitOID, d.Events[i].CommitOID())
	})

	t.Run("publish a draft", func(t *testing.T) {
		ev, err := bob.ChangeDiscussionStatus(ctx, tiny, draft, hubclient.StatusOpen, "")
		require.NoError(t, err)
		assert.Equal(t, hubclient.StatusOpen, ev.NewStatus())
		d, ok := h.srv.Discussion(tinyID, draft)
		require.True(t, ok)
		assert.Equal(t, hubtest.StatusOpen, d.Status)
	})

	t.Run("list with filters", func(t *testing.T) {
		tests := []struct {
			name string
			opts hubclient.ListDiscussionsOptions
			want []int
		}{
			{"all, every page, newest first", hubclient.ListDiscussionsOptions{}, []int{4, 3, 2, 1}},
			{"discussions", hubclient.ListDiscussionsOptions{Type: "discussion"}, []int{4, 1}},
			{"pull requests", hubclient.ListDiscussionsOptions{Type: "pull_request"}, []int{3, 2}},
			{"open", hubclient.ListDiscussionsOptions{Status: "open"}, []int{3, 2, 1}},
			{"closed", hubclient.ListDiscussionsOptions{Status: "closed"}, []int{4}},
			{"by author", hubclient.ListDiscussionsOptions{Author: "bob"}, []int{2, 1}},
			{"open pull requests of alice", hubclient.ListDiscussionsOptions{Type: "pull_request", Status: "open", Author: "alice"}, []int{3}},
			{"nothing", hubclient.ListDiscussionsOptions{Author: "carol"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				list, err := bob.ListDiscussions(ctx, tiny, tt.opts)
				require.NoError(t, err)
				var nums []int
				for _, d := range list {
					nums = append(nums, d.Num)
					assert.NotEmpty(t, d.Title)
					assert.False(t, d.CreatedAt.IsZero())
				}
				assert.Equal(t, tt.want, nums)
			})
		}
	})

	t.Run("dataset and space", func(t *testing.T) {
		for _, r := range []hubclient.Repo{dataset(dataID), space(demoID)} {
			num, err := bob.CreateDiscussion(ctx, r, "Hello from bob", "")
			require.NoError(t, err, r)
			_, err = bob.Comment(ctx, r, num, "First!")
			require.NoError(t, err, r)
			list, err := alice.ListDiscussions(ctx, r, hubclient.ListDiscussionsOptions{})
			require.NoError(t, err, r)
			require.Len(t, list, 1, r)
			assert.Equal(t, num, list[0].Num)
			d, err := alice.GetDiscussion(ctx, r, num)
			require.NoError(t, err, r)
			require.Len(t, d.Events, 1, r)
			assert.Equal(t, "First!", d.Events[0].Content())
		}
	})

	t.Run("refused by the hub", func(t *testing.T) {
		first, err := alice.GetDiscussion(ctx, tiny, roadmap)
		require.NoError(t, err)
		_, err = bob.EditComment(ctx, tiny, roadmap, first.Events[0].ID, "hijacked")
		assert.True(t, hubclient.IsForbidden(err), "only the author edits: %v", err)
		_, err = bob.HideComment(ctx, tiny, roadmap, first.Events[0].ID)
		assert.True(t, hubclient.IsForbidden(err), "an outsider cannot hide: %v", err)
		_, err = bob.ChangeDiscussionStatus(ctx, tiny, roadmap, hubclient.StatusOpen, "")
		assert.True(t, hubclient.IsForbidden(err), "%v", err)
		_, err = alice.ChangeDiscussionStatus(ctx, tiny, roadmap, hubclient.StatusClosed, "")
		assert.True(t, hubclient.IsBadRequest(err), "already closed: %v", err)
		_, err = bob.GetDiscussion(ctx, tiny, 99)
		assert.True(t, hubclient.IsNotFound(err), "%v", err)
		_, err = bob.Comment(ctx, tiny, 99, "hello?")
		assert.True(t, hubclient.IsNotFound(err), "%v", err)
		_, err = bob.CreateDiscussion(ctx, model(secretID), "Let me in", "")
		assert.True(t, hubclient.IsNotFound(err), "%v", err)
		_, err = h.client(t, "").Comment(ctx, tiny, question, "anonymous")
		assert.True(t, hubclient.IsUnauthorized(err), "%v", err)
	})

	t.Run("refused before asking", func(t *testing.T) {
		h.srv.ResetRequests()
		_, err := bob.CreateDiscussion(ctx, tiny, "ab", "")
		assert.Error(t, err)
		_, err = bob.CreateDiscussion(ctx, tiny, strings.Repeat("x", 201), "")
		assert.Error(t, err)
		_, err = bob.Comment(ctx, tiny, question, "  \n")
		assert.Error(t, err)
		_, err = bob.Comment(ctx, tiny, question, strings.Repeat("x", hubclient.MaxCommentSize+1))
		assert.Error(t, err)
		_, err = bob.EditComment(ctx, tiny, question, "abc", "")
		assert.Error(t, err)
		_, err = alice.ChangeDiscussionStatus(ctx, tiny, notes, hubclient.StatusMerged, "")
		assert.Error(t, err)
		assert.Empty(t, h.srv.Requests())
	})
}

func TestFindPullRequest(t *testing.T) {
	h := newHub(t, hubtest.Options{DiscussionsPageSize: 2})
	ctx := t.Context()
	bob := h.client(t, h.bob.Token)
	tiny := model(tinyID)
	propose := func(title, description, path string) int {
		t.Helper()
		res, err := bob.CreateCommit(ctx, tiny, hubclient.CommitRequest{
			CreatePR: true, Summary: title, Description: description,
			Files: []hubclient.CommitFile{{PathInRepo: path, Content: []byte(title)}},
		})
		require.NoError(t, err)
		return res.PullRequestNum
	}
	start := time.Now().Add(-time.Minute)
	first := propose("Convert to safetensors", "Automated conversion.\n\n<!-- hubbot:key=aaa -->", "a.txt")
	alicePR, err := h.srv.OpenPR(h.alice, tinyID, "Update card", "By hand.", hubtest.Change{Files: map[string][]byte{"README.md": []byte("# Tiny 2\n")}})
	require.NoError(t, err)
	bobCard := propose("Update card", "<!-- hubbot:key=bbb -->", "b.txt")
	old := propose("Old proposal", "", "c.txt")
	require.NoError(t, h.srv.SetStatus(h.bob, tinyID, old, hubtest.StatusClosed))
	_, err = h.srv.OpenDiscussion(h.bob, tinyID, "Update card", "not a pull request")
	require.NoError(t, err)

	tests := []struct {
		name string
		q    hubclient.PullRequestQuery
		want int // 0: none
	}{
		{"title and author", hubclient.PullRequestQuery{Title: "update card", Author: "bob"}, bobCard},
		{"title of two, newest wins", hubclient.PullRequestQuery{Title: "Update card"}, bobCard},
		{"author", hubclient.PullRequestQuery{Title: "Update card", Author: "alice"}, alicePR.Num},
		{"marker", hubclient.PullRequestQuery{Marker: "hubbot:key=aaa"}, first},
		{"marker and author", hubclient.PullRequestQuery{Marker: "hubbot:key=bbb", Author: "bob"}, bobCard},
		{"unknown marker", hubclient.PullRequestQuery{Marker: "hubbot:key=zzz"}, 0},
		{"marker of another author", hubclient.PullRequestQuery{Marker: "hubbot:key=aaa", Author: "alice"}, 0},
		{"closed ones are skipped", hubclient.PullRequestQuery{Title: "Old proposal"}, 0},
		{"unless asked", hubclient.PullRequestQuery{Title: "Old proposal", Closed: true}, old},
		{"since", hubclient.PullRequestQuery{Title: "Update card", Since: start}, bobCard},
		{"since later", hubclient.PullRequestQuery{Title: "Update card", Since: time.Now().Add(time.Hour)}, 0},
		{"discussions are not pull requests", hubclient.PullRequestQuery{Marker: "not a pull request"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bob.FindPullRequest(ctx, tiny, tt.q)
			require.NoError(t, err)
			if tt.want == 0 {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, tt.want, got.Num)
			assert.True(t, got.IsPullRequest)
			if tt.q.Marker != "" {
				require.NotNil(t, got.Description())
				assert.Contains(t, got.Description().Content(), tt.q.Marker)
			}
		})
	}
	t.Run("details give the head commit", func(t *testing.T) {
		got, err := bob.FindPullRequest(ctx, tiny, hubclient.PullRequestQuery{Title: "Convert to safetensors", Details: true})
		require.NoError(t, err)
		require.NotNil(t, got)
		head, ok := h.srv.Ref(tinyID, got.GitRef())
		require.True(t, ok)
		i := slices.IndexFunc(got.Events, func(e hubclient.Event) bool { return e.Type == hubclient.EventCommit })
		require.GreaterOrEqual(t, i, 0)
		assert.Equal(t, head, got.Events[i].CommitOID())
	})
}

func TestCreateCommit(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	ctx := t.Context()
	alice := h.client(t, h.alice.Token)
	dir := t.TempDir()
	binPath, textPath := filepath.Join(dir, "new.bin"), filepath.Join(dir, "notes.txt")
	newWeights := fakeWeights(64<<10, 5)
	require.NoError(t, os.WriteFile(binPath, newWeights, 0o644))
	require.NoError(t, os.WriteFile(textPath, []byte("plain notes\n"), 0o644))
	before, ok := h.srv.Ref(tinyID, "main")
	require.True(t, ok)

	res, err := alice.CreateCommit(ctx, model(tinyID), hubclient.CommitRequest{
		Summary:      "Reorganise",
		Description:  "Moves notes and adds weights.",
		ParentCommit: before,
		Files: []hubclient.CommitFile{
			{PathInRepo: "README.md", Content: []byte("# Tiny, reorganised\n")},
			{PathInRepo: "weights/new.bin", LocalPath: binPath},
			{PathInRepo: "./docs/notes.txt", LocalPath: textPath},
		},
		Deletes: []string{"config.json", "sub/"},
	})
	require.NoError(t, err)
	head, ok := h.srv.Ref(tinyID, "main")
	require.True(t, ok)
	assert.Equal(t, head, res.CommitOID)
	assert.NotEqual(t, before, head)
	assert.Contains(t, res.CommitURL, head)
	assert.Empty(t, res.PullRequestURL)
	assert.Empty(t, res.PullRequestRef())

	for path, want := range map[string][]byte{
		"README.md":         []byte("# Tiny, reorganised\n"),
		"weights/new.bin":   newWeights,
		"docs/notes.txt":    []byte("plain notes\n"),
		"model.safetensors": h.weights,
	} {
		got, err := h.srv.File(tinyID, "main", path)
		require.NoError(t, err, path)
		assert.Equal(t, want, got, path)
	}
	for _, gone := range []string{"config.json", "sub/dir/notes.txt"} {
		_, err := h.srv.File(tinyID, "main", gone)
		assert.Error(t, err, gone)
	}
	raw, err := h.srv.RawFile(tinyID, "main", "weights/new.bin")
	require.NoError(t, err)
	ptr, ok := lfs.Parse(raw)
	require.True(t, ok, "binary content goes to LFS: %q", raw)
	assert.Equal(t, sha256Hex(newWeights), ptr.OID)
	stored, err := h.srv.LFSObject(ptr.OID)
	require.NoError(t, err)
	assert.Equal(t, newWeights, stored)
	raw, err = h.srv.RawFile(tinyID, "main", "docs/notes.txt")
	require.NoError(t, err)
	assert.Equal(t, "plain notes\n", string(raw), "text stays a regular file")

	commits, err := alice.ListCommits(ctx, model(tinyID), "main", 1)
	require.NoError(t, err)
	assert.Equal(t, "Reorganise", commits[0].Title)
	assert.Contains(t, commits[0].Message, "Moves notes and adds weights.")
	assert.Len(t, h.srv.CDNRequests(), 1, "one basic upload")
	h.assertNoTokenOnCDN(t)

	t.Run("datasets and spaces", func(t *testing.T) {
		for _, r := range []hubclient.Repo{dataset(dataID), space(demoID)} {
			blob := fakeWeights(2048, 6)
			res, err := alice.CreateCommit(ctx, r, hubclient.CommitRequest{Summary: "Add files", Files: []hubclient.CommitFile{
				{PathInRepo: "extra.txt", Content: []byte("extra\n")},
				{PathInRepo: "blob.bin", Content: blob},
			}})
			require.NoError(t, err, r)
			sha, err := alice.RefSHA(ctx, r, "main")
			require.NoError(t, err)
			assert.Equal(t, res.CommitOID, sha, r)
			var out strings.Builder
			info, err := alice.Download(ctx, r, "main", "blob.bin", &out, nil)
			require.NoError(t, err, r)
			assert.Equal(t, string(blob), out.String(), r)
			assert.Equal(t, res.CommitOID, info.CommitSHA, r)
		}
		h.assertNoTokenOnCDN(t)
	})

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name  string
			token string
			repo  hubclient.Repo
			req   hubclient.CommitRequest
			is    func(error) bool
		}{
			{"outsider to a branch", h.bob.Token, model(tinyID), hubclient.CommitRequest{Summary: "x"}, hubclient.IsForbidden},
			{"anonymous", "", model(tinyID), hubclient.CommitRequest{Summary: "x"}, hubclient.IsUnauthorized},
			{"missing branch", h.alice.Token, model(tinyID), hubclient.CommitRequest{Revision: "nope", Summary: "x"}, hubclient.IsRevisionNotFound},
			{"private repo, outsider", h.bob.Token, model(secretID), hubclient.CommitRequest{Summary: "x"}, hubclient.IsRepoNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.req.Files = []hubclient.CommitFile{{PathInRepo: "x.txt", Content: []byte("x")}}
				_, err := h.client(t, tt.token).CreateCommit(ctx, tt.repo, tt.req)
				require.Error(t, err)
				assert.True(t, tt.is(err), "%v", err)
			})
		}
		after, _ := h.srv.Ref(tinyID, "main")
		assert.Equal(t, head, after, "nothing was committed")
	})

	t.Run("bad input asks nothing", func(t *testing.T) {
		h.srv.ResetRequests()
		for _, req := range []hubclient.CommitRequest{
			{Summary: " ", Files: []hubclient.CommitFile{{PathInRepo: "a.txt", Content: []byte("a")}}},
			{Summary: "x", Files: []hubclient.CommitFile{{PathInRepo: "../a.txt", Content: []byte("a")}}},
			{Summary: "x", Files: []hubclient.CommitFile{{PathInRepo: ".git/config", Content: []byte("a")}}},
			{Summary: "x", Files: []hubclient.CommitFile{{PathInRepo: "a.txt", LocalPath: filepath.Join(dir, "missing")}}},
			{Summary: "x", Files: []hubclient.CommitFile{{PathInRepo: "a.txt", LocalPath: dir}}},
			{Summary: "x", Deletes: []string{"a/../../b"}},
			{Summary: "x", CreatePR: true, Revision: "refs/pr/1", Files: []hubclient.CommitFile{{PathInRepo: "a.txt", Content: []byte("a")}}},
		} {
			_, err := alice.CreateCommit(ctx, model(tinyID), req)
			assert.Error(t, err, "%+v", req)
		}
		assert.Empty(t, h.srv.Requests())
	})
}

func TestCreateCommitToPullRequest(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	ctx := t.Context()
	bob := h.client(t, h.bob.Token)
	tiny := model(tinyID)

	// bob cannot write to alice's repo: a pull request is his way in.
	opened, err := bob.CreateCommit(ctx, tiny, hubclient.CommitRequest{
		CreatePR: true, Summary: "Convert weights", Description: "First pass.",
		Files: []hubclient.CommitFile{{PathInRepo: "model.bin", Content: fakeWeights(8192, 7)}},
	})
	require.NoError(t, err)
	assert.Equal(t, 1, opened.PullRequestNum)
	assert.Equal(t, "refs/pr/1", opened.PullRequestRef())
	assert.Equal(t, h.srv.URL+"/alice/tiny/discussions/1", opened.PullRequestURL)
	main, _ := h.srv.Ref(tinyID, "main")
	assert.Equal(t, h.tiny.Head, main, "a new pull request leaves main alone")
	prHead, _ := h.srv.Ref(tinyID, "refs/pr/1")
	assert.Equal(t, opened.CommitOID, prHead)
	d, ok := h.srv.Discussion(tinyID, 1)
	require.True(t, ok)
	assert.True(t, d.IsPullRequest)
	assert.Equal(t, hubtest.StatusOpen, d.Status)
	assert.Equal(t, "bob", d.Author)
	assert.Equal(t, "Convert weights", d.Title)
	assert.Equal(t, "refs/heads/main", d.Base)

	second := fakeWeights(8192, 8)
	pushed, err := bob.CreateCommit(ctx, tiny, hubclient.CommitRequest{
		Revision: "refs/pr/1", ParentCommit: opened.CommitOID, Summary: "Second pass",
		Files: []hubclient.CommitFile{{PathInRepo: "model.bin", Content: second}},
	})
	require.NoError(t, err)
	assert.Empty(t, pushed.PullRequestURL)
	prHead, _ = h.srv.Ref(tinyID, "refs/pr/1")
	assert.Equal(t, pushed.CommitOID, prHead)
	got, err := h.srv.File(tinyID, "refs/pr/1", "model.bin")
	require.NoError(t, err)
	assert.Equal(t, second, got)
	main, _ = h.srv.Ref(tinyID, "main")
	assert.Equal(t, h.tiny.Head, main)

	details, err := bob.GetDiscussion(ctx, tiny, 1)
	require.NoError(t, err)
	var commits []string
	for _, e := range details.Events {
		if e.Type == hubclient.EventCommit {
			commits = append(commits, e.CommitOID())
			assert.Equal(t, "bob", e.AuthorName())
		}
	}
	assert.Equal(t, []string{opened.CommitOID, pushed.CommitOID}, commits)
	history, err := bob.ListCommits(ctx, tiny, "refs/pr/1", 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"Second pass", "Convert weights"}, []string{history[0].Title, history[1].Title})

	_, err = h.client(t, h.carol.Token).CreateCommit(ctx, tiny, hubclient.CommitRequest{
		Revision: "refs/pr/1", Summary: "Not mine",
		Files: []hubclient.CommitFile{{PathInRepo: "c.txt", Content: []byte("c")}},
	})
	assert.True(t, hubclient.IsForbidden(err), "only the author or a writer pushes to a pull request: %v", err)

	// The LFS batch of a new pull request names no branch (bob may not
	// write one); the batch for refs/pr/1 names the pull request.
	var refs []string
	for _, r := range h.requests(http.MethodPost, "/alice/tiny.git/info/lfs/objects/batch") {
		refs = append(refs, string(r.Body))
	}
	require.Len(t, refs, 2)
	assert.NotContains(t, refs[0], `"ref"`)
	assert.Contains(t, refs[1], `"ref":{"name":"refs/pr/1"}`)
	h.assertNoTokenOnCDN(t)
}

func TestCreateCommitConflict(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	ctx := t.Context()
	alice := h.client(t, h.alice.Token)
	tiny := model(tinyID)
	commit := func(parent, content string) (*hubclient.CommitResult, error) {
		return alice.CreateCommit(ctx, tiny, hubclient.CommitRequest{
			Summary: "Edit " + content, ParentCommit: parent,
			Files: []hubclient.CommitFile{{PathInRepo: "edit.txt", Content: []byte(content)}},
		})
	}
	first, err := commit(h.tiny.Head, "one")
	require.NoError(t, err)

	tests := []struct {
		name   string
		parent string
	}{
		{"parent moved", h.tiny.Head},
		{"unknown parent", "0123456789abcdef0123456789abcdef01234567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.ResetRequests()
			_, err := commit(tt.parent, "two")
			require.Error(t, err)
			assert.True(t, hubclient.IsConflict(err), "%v", err)
			assert.False(t, hubclient.IsAmbiguous(err), "a conflict is a definite no: %v", err)
			head, _ := h.srv.Ref(tinyID, "main")
			assert.Equal(t, first.CommitOID, head, "main did not move")
			assert.Len(t, h.requests(http.MethodPost, "/api/models/alice/tiny/commit/"), 1, "a refused commit is not retried")
		})
	}
	_, err = commit(first.CommitOID, "two")
	assert.NoError(t, err, "the right parent goes through")

	// With CreatePR, ParentCommit is where the pull request starts, not a
	// check on the base: a proposal computed on an older main still opens.
	t.Run("a new pull request starts at its parent", func(t *testing.T) {
		res, err := h.client(t, h.bob.Token).CreateCommit(ctx, tiny, hubclient.CommitRequest{
			CreatePR: true, ParentCommit: h.tiny.Head, Summary: "Proposal on the old main",
			Files: []hubclient.CommitFile{{PathInRepo: "proposal.txt", Content: []byte("p")}},
		})
		require.NoError(t, err)
		dir, err := h.srv.GitDir(tinyID)
		require.NoError(t, err)
		repo, err := git.PlainOpen(dir)
		require.NoError(t, err)
		commit, err := repo.CommitObject(plumbing.NewHash(res.CommitOID))
		require.NoError(t, err)
		assert.Equal(t, []plumbing.Hash{plumbing.NewHash(h.tiny.Head)}, commit.ParentHashes)
		_, err = commit.File("edit.txt")
		assert.Error(t, err, "the pull request does not carry what main got since")
	})
}

func TestNothingToCommit(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	ctx := t.Context()
	alice := h.client(t, h.alice.Token)
	tiny := model(tinyID)
	_, err := h.srv.Push(h.alice, tinyID, "main", hubtest.Change{Files: map[string][]byte{".gitignore": []byte("*.log\n")}})
	require.NoError(t, err)
	head, _ := h.srv.Ref(tinyID, "main")

	tests := []struct {
		name  string
		files []hubclient.CommitFile
	}{
		{"same regular file", []hubclient.CommitFile{{PathInRepo: "config.json", Content: []byte(`{"model_type":"tiny"}`)}}},
		{"same lfs file", []hubclient.CommitFile{{PathInRepo: "model.safetensors", Content: h.weights}}},
		{"both", []hubclient.CommitFile{
			{PathInRepo: "README.md", Content: h.readme},
			{PathInRepo: "model.safetensors", Content: h.weights},
		}},
		{"ignored file", []hubclient.CommitFile{{PathInRepo: "debug.log", Content: []byte("trace")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.ResetRequests()
			_, err := alice.CreateCommit(ctx, tiny, hubclient.CommitRequest{Summary: "Nothing new", Files: tt.files})
			require.ErrorIs(t, err, hubclient.ErrNothingToCommit)
			after, _ := h.srv.Ref(tinyID, "main")
			assert.Equal(t, head, after)
			assert.Empty(t, h.requests(http.MethodPost, "/api/models/alice/tiny/commit/"))
			assert.Empty(t, h.requests(http.MethodPost, "/alice/tiny.git/info/lfs/"))
			assert.Empty(t, h.srv.CDNRequests())
		})
	}
	t.Run("a delete is something", func(t *testing.T) {
		res, err := alice.CreateCommit(ctx, tiny, hubclient.CommitRequest{
			Summary: "Drop config",
			Files:   []hubclient.CommitFile{{PathInRepo: "model.safetensors", Content: h.weights}},
			Deletes: []string{"config.json"},
		})
		require.NoError(t, err)
		after, _ := h.srv.Ref(tinyID, "main")
		assert.Equal(t, res.CommitOID, after)
		assert.Empty(t, h.srv.CDNRequests(), "the unchanged LFS file is not uploaded again")
	})
	t.Run("unchanged files are left out of a real commit", func(t *testing.T) {
		h.srv.ResetRequests()
		_, err := alice.CreateCommit(ctx, tiny, hubclient.CommitRequest{
			Summary: "Touch", Files: []hubclient.CommitFile{
				{PathInRepo: "README.md", Content: h.readme},
				{PathInRepo: "touch.txt", Content: []byte("t")},
			},
		})
		require.NoError(t, err)
		reqs := h.requests(http.MethodPost, "/api/models/alice/tiny/commit/")
		require.Len(t, reqs, 1)
		assert.Contains(t, string(reqs[0].Body), `"path":"touch.txt"`)
		assert.NotContains(t, string(reqs[0].Body), `"path":"README.md"`)
	})
}

func TestCreateCommitMultipart(t *testing.T) {
	const chunk = 256 << 10
	h := newHub(t, hubtest.Options{MultipartThreshold: 1 << 20, MultipartChunkSize: chunk})
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "big.bin")
	size := int64(5*chunk + 1234) // the last part is short
	sum, err := writeRandomFile(path, size, 11)
	require.NoError(t, err)

	res, err := h.client(t, h.alice.Token).CreateCommit(ctx, model(tinyID), hubclient.CommitRequest{
		Summary: "Big weights", Files: []hubclient.CommitFile{{PathInRepo: "big.bin", LocalPath: path}},
	})
	require.NoError(t, err)
	head, _ := h.srv.Ref(tinyID, "main")
	assert.Equal(t, res.CommitOID, head)
	stored, ok := h.srv.LFSObjectPath(sum)
	require.True(t, ok)
	assert.Equal(t, sum, fileSHA256(t, stored))

	var parts int
	for _, r := range h.srv.CDNRequests() {
		if r.Method == http.MethodPut && strings.HasPrefix(r.Path, "/multipart/") {
			parts++
			assert.Equal(t, http.StatusOK, r.Status)
		}
	}
	assert.Equal(t, 6, parts)
	complete := h.requests(http.MethodPost, "/alice/tiny.git/info/lfs/complete/")
	require.Len(t, complete, 1)
	assert.Empty(t, complete[0].Header.Get("Authorization"), "the presigned completion URL needs no token")
	verify := h.requests(http.MethodPost, "/alice/tiny.git/info/lfs/objects/verify")
	require.Len(t, verify, 1)
	assert.Equal(t, "Bearer "+h.alice.Token, verify[0].Header.Get("Authorization"), "verify is on the Hub's own host")
	h.assertNoTokenOnCDN(t)
}

// TestGoGitRoundTrip clones with go-git, proposes a 50 MiB file as a new
// pull request through the client, and finds it again with go-git and a
// download: the path a CI bot's conversion takes.
func TestGoGitRoundTrip(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	ctx := t.Context()
	c := h.client(t, h.bob.Token)
	tiny := model(tinyID)
	auth := &githttp.BasicAuth{Username: "hubbot", Password: c.Token()}

	dir := t.TempDir()
	repo, err := git.PlainCloneContext(ctx, filepath.Join(dir, "clone"), false, &git.CloneOptions{URL: c.GitURL(tiny), Auth: auth})
	require.NoError(t, err)
	head, err := repo.Head()
	require.NoError(t, err)
	assert.Equal(t, h.tiny.Head, head.Hash().String())
	pointer, err := os.ReadFile(filepath.Join(dir, "clone", "model.safetensors"))
	require.NoError(t, err)
	ptr, ok := lfs.Parse(pointer)
	require.True(t, ok, "a clone holds pointer files for LFS content: %q", pointer)
	assert.Equal(t, sha256Hex(h.weights), ptr.OID)

	const size = 50 << 20
	big := filepath.Join(dir, "model-00001.bin")
	sum, err := writeRandomFile(big, size, 12)
	require.NoError(t, err)
	res, err := c.CreateCommit(ctx, tiny, hubclient.CommitRequest{
		CreatePR: true, Summary: "Add converted weights", Description: "<!-- hubbot:key=roundtrip -->",
		Files: []hubclient.CommitFile{{PathInRepo: "weights/model-00001.bin", LocalPath: big}},
	})
	require.NoError(t, err)
	require.Equal(t, "refs/pr/1", res.PullRequestRef())

	err = repo.FetchContext(ctx, &git.FetchOptions{
		Auth:     auth,
		RefSpecs: []config.RefSpec{"+refs/pr/1:refs/remotes/origin/pr/1"},
	})
	require.NoError(t, err)
	ref, err := repo.Reference("refs/remotes/origin/pr/1", true)
	require.NoError(t, err)
	assert.Equal(t, res.CommitOID, ref.Hash().String())
	commit, err := repo.CommitObject(ref.Hash())
	require.NoError(t, err)
	assert.Equal(t, "Add converted weights", strings.SplitN(commit.Message, "\n", 2)[0])
	require.Equal(t, 1, commit.NumParents())
	assert.Equal(t, plumbing.NewHash(h.tiny.Head), commit.ParentHashes[0], "the pull request forks from main")
	f, err := commit.File("weights/model-00001.bin")
	require.NoError(t, err)
	content, err := f.Contents()
	require.NoError(t, err)
	ptr, ok = lfs.Parse([]byte(content))
	require.True(t, ok, "git holds a pointer, not 50 MiB: %q", content)
	assert.Equal(t, lfs.Pointer{OID: sum, Size: size}, ptr)

	// 50 MiB is over hubtest's multipart threshold (20 MiB): parts of 8 MiB.
	var parts int
	for _, r := range h.srv.CDNRequests() {
		if r.Method == http.MethodPut && strings.HasPrefix(r.Path, "/multipart/") {
			parts++
		}
	}
	assert.Equal(t, (size+8<<20-1)/(8<<20), parts)

	stored, ok := h.srv.LFSObjectPath(ptr.OID)
	require.True(t, ok, "the object is in the Hub's LFS store")
	assert.Equal(t, sum, fileSHA256(t, stored))
	info, err := c.Download(ctx, tiny, res.PullRequestRef(), "weights/model-00001.bin", io.Discard, &ptr)
	require.NoError(t, err)
	assert.Equal(t, sum, info.SHA256)
	assert.Equal(t, int64(size), info.Size)
	assert.Equal(t, res.CommitOID, info.CommitSHA)
	h.assertNoTokenOnCDN(t)

	found, err := c.FindPullRequest(ctx, tiny, hubclient.PullRequestQuery{Marker: "hubbot:key=roundtrip", Author: "bob"})
	require.NoError(t, err)
	require.NotNil(t, found)
	assert.Equal(t, 1, found.Num)
}

// logRecorder keeps the retry log lines of a client.
type logRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "hub call failed, retrying" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "wait" {
			l.mu.Lock()
			l.waits = append(l.waits, a.Value.Duration())
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *logRecorder) Waits() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.waits)
}

// statusLog records the status of every exchange of a client, through
// Options.Observe.
type statusLog struct {
	mu       sync.Mutex
	statuses map[string][]int
}

func (s *statusLog) observe(endpoint string, status int, _ time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.statuses == nil {
		s.statuses = map[string][]int{}
	}
	s.statuses[endpoint] = append(s.statuses[endpoint], status)
}

func (s *statusLog) of(endpoint string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses[endpoint])
}

func TestRetriesOfIdempotentCalls(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	// The rows run in parallel, each on its own repo so that their faults
	// and requests do not mix; two of them wait one second, as the Hub asks.
	tests := []struct {
		name   string
		repo   hubclient.Repo
		faults []hubtest.Fault // Path is filled in with the repo's info path
		// waits is what the client must have waited before each retry:
		// exactly that for a server-requested delay, else (0) a backoff
		// within RetryMaxDelay.
		waits []time.Duration
	}{
		{
			name: "503 then 429 with Retry-After", repo: model(tinyID),
			faults: []hubtest.Fault{
				{Status: http.StatusServiceUnavailable},
				{Status: http.StatusTooManyRequests, RetryAfter: "1"},
			},
			waits: []time.Duration{0, time.Second},
		},
		{
			name: "429 with an exhausted RateLimit quota", repo: dataset(dataID),
			faults: []hubtest.Fault{
				{Status: http.StatusTooManyRequests, RateLimit: `"api";r=0;t=0`, RateLimitPolicy: `"fixed window";"api";q=500;w=300`},
			},
			waits: []time.Duration{time.Second},
		},
		{
			name: "429 with quota left and gateway errors back off on their own", repo: space(demoID),
			faults: []hubtest.Fault{
				{Status: http.StatusTooManyRequests, RateLimit: `"api";r=3;t=40`},
				{Status: http.StatusBadGateway},
				{Status: http.StatusGatewayTimeout},
				{Status: http.StatusInternalServerError},
				{Status: http.StatusRequestTimeout},
			},
			waits: []time.Duration{0, 0, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := "/api/" + string(tt.repo.Type) + "s/" + tt.repo.ID
			if tt.repo.Type == "" {
				path = "/api/models/" + tt.repo.ID
			}
			logs, statuses := &logRecorder{}, &statusLog{}
			c := h.client(t, h.bob.Token, func(o *hubclient.Options) {
				o.Logger = slog.New(logs)
				o.Observe = statuses.observe
			})
			for _, f := range tt.faults {
				f.Method, f.Path = http.MethodGet, path
				h.srv.Fail(f)
			}
			info, err := c.RepoInfo(t.Context(), tt.repo, "", nil)
			require.NoError(t, err)
			assert.Equal(t, tt.repo.ID, info.ID)

			reqs := h.requests(http.MethodGet, path)
			require.Len(t, reqs, len(tt.faults)+1, "one request per fault, then the one that succeeds")
			var want []int
			for i, f := range tt.faults {
				assert.True(t, reqs[i].Fault)
				want = append(want, f.Status)
			}
			want = append(want, http.StatusOK)
			assert.Equal(t, want, statuses.of("repo_info"))
			waits := logs.Waits()
			require.Len(t, waits, len(tt.waits))
			for i, w := range tt.waits {
				if w > 0 {
					assert.Equal(t, w, waits[i], "retry %d waits what the Hub asked", i+1)
				} else {
					assert.LessOrEqual(t, waits[i], 4*time.Millisecond, "retry %d backs off within RetryMaxDelay", i+1)
				}
			}
		})
	}
}

func TestRetriesGiveUp(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	ctx := t.Context()
	path := "/api/models/alice/tiny"

	t.Run("after MaxRetries", func(t *testing.T) {
		h.srv.ResetRequests()
		h.srv.Fail(hubtest.Fault{Path: path, Times: -1, Status: http.StatusServiceUnavailable, Message: "down for maintenance"})
		defer h.srv.ClearFaults()
		c := h.client(t, h.bob.Token, func(o *hubclient.Options) { o.MaxRetries = 3 })
		_, err := c.RepoInfo(ctx, model(tinyID), "", nil)
		require.Error(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, hubStatus(err))
		assert.Contains(t, err.Error(), "down for maintenance")
		var he *hubclient.Error
		require.ErrorAs(t, err, &he)
		assert.NotEmpty(t, he.RequestID, "the request id goes into bug reports")
		assert.Len(t, h.requests(http.MethodGet, path), 4, "the first attempt and three retries")
	})
	t.Run("retries disabled", func(t *testing.T) {
		h.srv.ResetRequests()
		h.srv.Fail(hubtest.Fault{Path: path, Status: http.StatusServiceUnavailable})
		defer h.srv.ClearFaults()
		c := h.client(t, h.bob.Token, func(o *hubclient.Options) { o.MaxRetries = -1 })
		_, err := c.RepoInfo(ctx, model(tinyID), "", nil)
		assert.Equal(t, http.StatusServiceUnavailable, hubStatus(err))
		assert.Len(t, h.requests(http.MethodGet, path), 1)
	})
	t.Run("a 4xx is final", func(t *testing.T) {
		h.srv.ResetRequests()
		h.srv.Fail(hubtest.Fault{Path: path, Status: http.StatusForbidden, ErrorCode: "GatedRepo", Message: "Access to this model is restricted"})
		defer h.srv.ClearFaults()
		_, err := h.client(t, h.bob.Token).RepoInfo(ctx, model(tinyID), "", nil)
		assert.True(t, hubclient.IsForbidden(err), "%v", err)
		var he *hubclient.Error
		require.ErrorAs(t, err, &he)
		assert.Equal(t, "GatedRepo", he.Code)
		assert.Len(t, h.requests(http.MethodGet, path), 1)
	})
	t.Run("the caller's deadline beats a long Retry-After", func(t *testing.T) {
		h.srv.ResetRequests()
		h.srv.Fail(hubtest.Fault{Path: path, Times: -1, Status: http.StatusTooManyRequests, RetryAfter: "30"})
		defer h.srv.ClearFaults()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := h.client(t, h.bob.Token).RepoInfo(ctx, model(tinyID), "", nil)
		require.Error(t, err)
		assert.True(t, hubclient.IsRateLimited(err), "%v", err)
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "it returned instead of sleeping past the deadline")
		var he *hubclient.Error
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 30*time.Second, he.RetryAfter)
		assert.Len(t, h.requests(http.MethodGet, path), 1)
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		h.srv.ResetRequests()
		h.srv.Fail(hubtest.Fault{Path: path, Times: -1, Status: http.StatusTooManyRequests, RetryAfter: "30"})
		defer h.srv.ClearFaults()
		ctx, cancel := context.WithCancel(ctx)
		c := h.client(t, h.bob.Token, func(o *hubclient.Options) {
			o.Observe = func(string, int, time.Duration) { cancel() } // cancel once the first answer is in
		})
		_, err := c.RepoInfo(ctx, model(tinyID), "", nil)
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.True(t, hubclient.IsRateLimited(err), "the Hub's answer is kept: %v", err)
		assert.Len(t, h.requests(http.MethodGet, path), 1)
	})
}

func TestRetriesOfUploads(t *testing.T) {
	tests := []struct {
		name  string
		fault hubtest.Fault
		cdn   bool
	}{
		{"preupload", hubtest.Fault{Method: http.MethodPost, Path: "/api/models/alice/tiny/preupload/", Status: http.StatusServiceUnavailable}, false},
		{"lfs batch", hubtest.Fault{Method: http.MethodPost, Path: "/alice/tiny.git/info/lfs/objects/batch", Status: http.StatusTooManyRequests}, false},
		{"upload to storage", hubtest.Fault{Method: http.MethodPut, Path: "/lfs/", Status: http.StatusInternalServerError}, true},
		{"lost upload answer", hubtest.Fault{Method: http.MethodPut, Path: "/lfs/", DropResponse: true}, true},
		{"verify", hubtest.Fault{Method: http.MethodPost, Path: "/alice/tiny.git/info/lfs/objects/verify", Status: http.StatusBadGateway}, false},
	}
	h := newHub(t, hubtest.Options{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.ResetRequests()
			h.srv.Fail(tt.fault)
			defer h.srv.ClearFaults()
			blob := fakeWeights(32<<10, uint64(100+i)) // new content each time, so that it is uploaded
			res, err := h.client(t, h.alice.Token).CreateCommit(t.Context(), model(tinyID), hubclient.CommitRequest{
				Summary: "Add blob", Files: []hubclient.CommitFile{{PathInRepo: "blob.bin", Content: blob}},
			})
			require.NoError(t, err)
			head, _ := h.srv.Ref(tinyID, "main")
			assert.Equal(t, res.CommitOID, head)
			got, err := h.srv.File(tinyID, "main", "blob.bin")
			require.NoError(t, err)
			assert.Equal(t, blob, got)

			var matched []hubtest.Request
			reqs := h.srv.Requests()
			if tt.cdn {
				reqs = h.srv.CDNRequests()
			}
			for _, r := range reqs {
				if r.Method == tt.fault.Method && strings.HasPrefix(r.Path, tt.fault.Path) {
					matched = append(matched, r)
				}
			}
			require.Len(t, matched, 2, "the failed attempt and one retry")
			assert.True(t, matched[0].Fault)
			assert.False(t, matched[1].Fault)
			assert.Len(t, h.requests(http.MethodPost, "/api/models/alice/tiny/commit/"), 1, "one commit")
			h.assertNoTokenOnCDN(t)
		})
	}
}

func TestCreatingCallsAreNotRetried(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	ctx := t.Context()
	bob := h.client(t, h.bob.Token)
	tiny := model(tinyID)
	num, err := h.srv.OpenDiscussion(h.alice, tinyID, "Feedback", "Tell us.")
	require.NoError(t, err)

	tests := []struct {
		name      string
		fault     hubtest.Fault
		call      func() error
		ambiguous bool
	}{
		{"comment, 503", hubtest.Fault{Method: http.MethodPost, Path: "/api/models/alice/tiny/discussions/1/comment", Status: http.StatusServiceUnavailable},
			func() error { _, err := bob.Comment(ctx, tiny, num, "hello"); return err }, true},
		{"comment, 429", hubtest.Fault{Method: http.MethodPost, Path: "/api/models/alice/tiny/discussions/1/comment", Status: http.StatusTooManyRequests, RetryAfter: "1"},
			func() error { _, err := bob.Comment(ctx, tiny, num, "hello"); return err }, false},
		{"new discussion, 504", hubtest.Fault{Method: http.MethodPost, Path: "/api/models/alice/tiny/discussions", Status: http.StatusGatewayTimeout},
			func() error { _, err := bob.CreateDiscussion(ctx, tiny, "A question", ""); return err }, true},
		{"status, 502", hubtest.Fault{Method: http.MethodPost, Path: "/api/models/alice/tiny/discussions/1/status", Status: http.StatusBadGateway},
			func() error {
				_, err := h.client(t, h.alice.Token).ChangeDiscussionStatus(ctx, tiny, num, hubclient.StatusClosed, "")
				return err
			}, true},
		{"commit, 500", hubtest.Fault{Method: http.MethodPost, Path: "/api/models/alice/tiny/commit/", Status: http.StatusInternalServerError},
			func() error {
				_, err := h.client(t, h.alice.Token).CreateCommit(ctx, tiny, hubclient.CommitRequest{
					Summary: "x", Files: []hubclient.CommitFile{{PathInRepo: "x.txt", Content: []byte("x")}},
				})
				return err
			}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.ResetRequests()
			h.srv.Fail(tt.fault)
			defer h.srv.ClearFaults()
			before, _ := h.srv.Discussion(tinyID, num)
			err := tt.call()
			require.Error(t, err)
			assert.Equal(t, tt.ambiguous, hubclient.IsAmbiguous(err), "%v", err)
			assert.Len(t, h.requests(tt.fault.Method, tt.fault.Path), 1, "never sent twice by the client")
			after, _ := h.srv.Discussion(tinyID, num)
			assert.Equal(t, before, after, "the fault answered without running the call")
		})
	}

	t.Run("a lost comment answer: the comment is there once", func(t *testing.T) {
		path := "/api/models/alice/tiny/discussions/1/comment"
		h.srv.ResetRequests()
		h.srv.Fail(hubtest.Fault{Method: http.MethodPost, Path: path, DropResponse: true})
		defer h.srv.ClearFaults()
		_, err := bob.Comment(ctx, tiny, num, "Did this land?")
		require.Error(t, err)
		assert.True(t, hubclient.IsAmbiguous(err), "%v", err)
		assert.Len(t, h.requests(http.MethodPost, path), 1)
		d, err := bob.GetDiscussion(ctx, tiny, num)
		require.NoError(t, err)
		var mine int
		for _, e := range d.Events {
			if e.Type == hubclient.EventComment && e.Content() == "Did this land?" {
				mine++
			}
		}
		assert.Equal(t, 1, mine, "the Hub ran it; looking is how the caller learns it")
	})

	t.Run("edit and hide are idempotent and retried", func(t *testing.T) {
		c, err := bob.Comment(ctx, tiny, num, "Typo hre")
		require.NoError(t, err)
		editPath := "/api/models/alice/tiny/discussions/1/comment/" + c.ID + "/edit"
		hidePath := "/api/models/alice/tiny/discussions/1/comment/" + c.ID + "/hide"
		h.srv.ResetRequests()
		h.srv.Fail(hubtest.Fault{Method: http.MethodPost, Path: editPath, DropResponse: true})
		h.srv.Fail(hubtest.Fault{Method: http.MethodPost, Path: hidePath, Status: http.StatusServiceUnavailable})
		defer h.srv.ClearFaults()
		edited, err := bob.EditComment(ctx, tiny, num, c.ID, "Typo here")
		require.NoError(t, err)
		assert.Equal(t, "Typo here", edited.Content())
		hidden, err := bob.HideComment(ctx, tiny, num, c.ID)
		require.NoError(t, err)
		assert.True(t, hidden.Hidden())
		assert.Len(t, h.requests(http.MethodPost, editPath), 2)
		assert.Len(t, h.requests(http.MethodPost, hidePath), 2)
	})
}

// proposeOnce opens a pull request with req unless one carrying marker is
// already there, the way a caller must treat an ambiguous answer: look for
// the result before trying again.
func proposeOnce(ctx context.Context, c *hubclient.Client, r hubclient.Repo, req hubclient.CommitRequest, q hubclient.PullRequestQuery) (num int, firstErr error, err error) {
	res, firstErr := c.CreateCommit(ctx, r, req)
	if firstErr == nil {
		return res.PullRequestNum, nil, nil
	}
	if !hubclient.IsAmbiguous(firstErr) {
		return 0, firstErr, firstErr
	}
	found, err := c.FindPullRequest(ctx, r, q)
	if err != nil {
		return 0, firstErr, fmt.Errorf("look for the pull request after %w: %w", firstErr, err)
	}
	if found != nil {
		return found.Num, firstErr, nil
	}
	res, err = c.CreateCommit(ctx, r, req)
	if err != nil {
		return 0, firstErr, err
	}
	return res.PullRequestNum, firstErr, nil
}

func TestLostCommitAnswer(t *testing.T) {
	const marker = "<!-- hubbot:key=convert/abc123 -->"
	tests := []struct {
		name    string
		fault   hubtest.Fault // on the commit call of the row's repo
		query   hubclient.PullRequestQuery
		commits int // commit requests the caller made
	}{
		{"answer lost, found by marker",
			hubtest.Fault{Method: http.MethodPost, DropResponse: true},
			hubclient.PullRequestQuery{Marker: marker}, 1},
		{"answer lost, found by title and author",
			hubtest.Fault{Method: http.MethodPost, DropResponse: true},
			hubclient.PullRequestQuery{Title: "Convert to safetensors", Author: "bob"}, 1},
		{"gateway error before the commit ran: nothing found, committed again",
			hubtest.Fault{Method: http.MethodPost, Status: http.StatusBadGateway},
			hubclient.PullRequestQuery{Marker: marker}, 2},
	}
	h := newHub(t, hubtest.Options{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A repo of its own, so that "exactly one pull request" means
			// this row's.
			id := fmt.Sprintf("alice/lost-%d", i)
			_, err := h.srv.CreateRepo(h.alice, hubtest.RepoSpec{ID: id})
			require.NoError(t, err)
			ctx := t.Context()
			c := h.client(t, h.bob.Token)
			repo := model(id)
			commitPath := "/api/models/" + id + "/commit/"
			tt.fault.Path = commitPath
			h.srv.Fail(tt.fault)
			defer h.srv.ClearFaults()
			num, firstErr, err := proposeOnce(ctx, c, repo, hubclient.CommitRequest{
				CreatePR: true, Summary: "Convert to safetensors", Description: "Converted by hubbot.\n\n" + marker,
				Files: []hubclient.CommitFile{{PathInRepo: "model.safetensors", Content: fakeWeights(4096, 14)}},
			}, tt.query)
			require.NoError(t, err)
			require.Error(t, firstErr)
			assert.True(t, hubclient.IsAmbiguous(firstErr), "%v", firstErr)
			assert.NotContains(t, firstErr.Error(), h.bob.Token)
			assert.Equal(t, 1, num)

			assert.Len(t, h.requests(http.MethodPost, commitPath), tt.commits)
			prs, err := c.ListDiscussions(ctx, repo, hubclient.ListDiscussionsOptions{Type: "pull_request"})
			require.NoError(t, err)
			require.Len(t, prs, 1, "exactly one pull request")
			assert.Equal(t, "Convert to safetensors", prs[0].Title)
			assert.Equal(t, "bob", prs[0].AuthorName())
			_, two := h.srv.Discussion(id, 2)
			assert.False(t, two)
			refs, err := h.srv.Refs(id)
			require.NoError(t, err)
			assert.Contains(t, refs, "refs/pr/1")
			assert.NotContains(t, refs, "refs/pr/2")
		})
	}

	t.Run("answer lost on a branch: RefSHA shows it landed", func(t *testing.T) {
		commitPath := "/api/models/alice/tiny/commit/"
		ctx := t.Context()
		c := h.client(t, h.alice.Token)
		tiny := model(tinyID)
		h.srv.Fail(hubtest.Fault{Method: http.MethodPost, Path: commitPath, DropResponse: true})
		_, err := c.CreateCommit(ctx, tiny, hubclient.CommitRequest{
			Summary: "Bump config", ParentCommit: h.tiny.Head,
			Files: []hubclient.CommitFile{{PathInRepo: "config.json", Content: []byte(`{"model_type":"tiny","v":2}`)}},
		})
		require.Error(t, err)
		assert.True(t, hubclient.IsAmbiguous(err), "%v", err)
		now, err := c.RefSHA(ctx, tiny, "main")
		require.NoError(t, err)
		assert.NotEqual(t, h.tiny.Head, now, "main moved: the commit landed and must not be made again")
		commits, err := c.ListCommits(ctx, tiny, "main", 1)
		require.NoError(t, err)
		assert.Equal(t, "Bump config", commits[0].Title)
		assert.Len(t, h.requests(http.MethodPost, commitPath), 1)
	})
}
