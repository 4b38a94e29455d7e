package git_test

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/git"
	"github.com/hubbot/hubbot/hubclient"
)

// newWorkspaces returns workspaces in a temporary root.
func newWorkspaces(t *testing.T) *git.Workspaces {
	t.Helper()
	ws, err := git.New(filepath.Join(t.TempDir(), "workspaces"))
	require.NoError(t, err)
	return ws
}

// request asks for repo at ref and sha on the fake Hub, anonymously.
func request(h *hub, repo hubclient.Repo, ref, sha string) git.CheckoutRequest {
	return git.CheckoutRequest{
		Repo:  repo,
		URL:   h.client("").GitURL(repo),
		Ref:   ref,
		SHA:   sha,
		JobID: "job-42",
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	require.NoError(t, err)
	return string(data)
}

// leftovers lists what is in the workspaces root.
func leftovers(t *testing.T, ws *git.Workspaces) []string {
	t.Helper()
	entries, err := os.ReadDir(ws.Root())
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestCheckoutRefs(t *testing.T) {
	h := newHub(t)
	model := hubclient.Repo{ID: "alice/tiny"}
	dataset := hubclient.Repo{Type: hubclient.Dataset, ID: "alice/data"}
	first := h.createRepo(model, false, map[string]string{
		"README.md":       "# tiny v1\n",
		"model.bin":       "the real weights",
		"config/all.json": "{}\n",
	}, "*.bin")
	pointer := h.pointer(model, first, "model.bin")
	require.True(t, strings.HasPrefix(pointer, "version https://git-lfs.github.com/spec/v1\n"), pointer)
	second := h.push(model, "main", map[string]string{"README.md": "# tiny v2\n"})
	pr := h.openPR(model, map[string]string{"README.md": "# tiny from a pull request\n"})
	h.git(h.gitDir(model), "tag", "v1", first)
	tagObject := h.annotatedTag(model, "v2", second)
	data := h.createRepo(dataset, false, map[string]string{"data.csv": "a,b\n1,2\n"})

	tests := []struct {
		name    string
		repo    hubclient.Repo
		ref     string
		sha     string
		wantSHA string
		file    string
		content string
	}{
		{"main at its head", model, "refs/heads/main", second, second, "README.md", "# tiny v2\n"},
		{"pull request ref", model, pr.Ref, pr.SHA, pr.SHA, "README.md", "# tiny from a pull request\n"},
		{"lightweight tag", model, "refs/tags/v1", first, first, "README.md", "# tiny v1\n"},
		{"annotated tag by its commit", model, "refs/tags/v2", second, second, "README.md", "# tiny v2\n"},
		{"annotated tag by the tag object", model, "refs/tags/v2", tagObject, second, "README.md", "# tiny v2\n"},
		{"uppercase sha", model, "refs/heads/main", strings.ToUpper(second), second, "README.md", "# tiny v2\n"},
		{"dataset", dataset, "refs/heads/main", data, data, "data.csv", "a,b\n1,2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := newWorkspaces(t)
			co, err := ws.Checkout(t.Context(), request(h, tt.repo, tt.ref, tt.sha))
			require.NoError(t, err)
			t.Cleanup(func() { co.Close() })

			assert.Equal(t, tt.wantSHA, co.SHA)
			assert.Equal(t, tt.ref, co.Ref)
			assert.Equal(t, tt.content, readFile(t, co.Dir, tt.file))
			assert.DirExists(t, co.TempDir)
			assert.True(t, strings.HasPrefix(filepath.Base(filepath.Dir(co.Dir)), "job-42-"), co.Dir)
			assert.Equal(t, tt.wantSHA, h.git(co.Dir, "rev-parse", "HEAD"), "HEAD is the commit, detached")
			assert.Empty(t, h.git(co.Dir, "status", "--porcelain"), "the tree is clean")
			assert.Equal(t, "true", h.git(co.Dir, "rev-parse", "--is-shallow-repository"))
			if tt.repo == model {
				assert.Equal(t, pointer, readFile(t, co.Dir, "model.bin"), "LFS files stay pointers")
			}
		})
	}
}

func TestCheckoutIsShallow(t *testing.T) {
	h := newHub(t)
	repo := hubclient.Repo{ID: "alice/deep"}
	first := h.createRepo(repo, false, map[string]string{"a.txt": "1"})
	head := h.emptyCommits(repo, "refs/heads/main", 5)

	co, err := newWorkspaces(t).Checkout(t.Context(), request(h, repo, "refs/heads/main", head))
	require.NoError(t, err)
	defer co.Close()
	assert.Equal(t, "1", h.git(co.Dir, "rev-list", "--count", "HEAD"), "one commit fetched")
	_, err = h.gitOut(co.Dir, "cat-file", "-e", first)
	assert.Error(t, err, "older commits are not fetched")
}

// TestCheckoutRefMoved covers a commit that is no longer the head of its
// ref. Whether it can still be checked out depends on what the server sends
// by commit id: with ref tips only, commits within the deepening steps of the
// ref's history; with reachable commits, the whole history; with any object
// (the fake Hub), even a commit a force push removed from the history.
func TestCheckoutRefMoved(t *testing.T) {
	for _, policy := range fetchPolicies {
		t.Run(string(policy), func(t *testing.T) {
			h := newHub(t)
			repo := hubclient.Repo{ID: "alice/moving"}
			root := h.createRepo(repo, false, map[string]string{"a.txt": "root"})
			h.setFetchPolicy(repo, policy)
			old := h.push(repo, "main", map[string]string{"a.txt": "old"})
			h.push(repo, "main", map[string]string{"a.txt": "new"})

			// A push after the event: the commit is still in the ref's
			// history, so the job can still run on it.
			co, err := newWorkspaces(t).Checkout(t.Context(), request(h, repo, "refs/heads/main", old))
			require.NoError(t, err)
			assert.Equal(t, old, co.SHA)
			assert.Equal(t, "old", readFile(t, co.Dir, "a.txt"))
			require.NoError(t, co.Close())

			// Far behind the ref: beyond the deepening steps.
			head := h.emptyCommits(repo, "refs/heads/main", 40)
			ws := newWorkspaces(t)
			co, err = ws.Checkout(t.Context(), request(h, repo, "refs/heads/main", old))
			if policy == fetchTips {
				var nf *git.SHANotFoundError
				require.ErrorAs(t, err, &nf)
				assert.ErrorIs(t, err, git.ErrSHANotFound)
				assert.Equal(t, head, nf.Head)
				assert.Empty(t, leftovers(t, ws), "nothing left on disk")
			} else {
				require.NoError(t, err)
				assert.Equal(t, "old", readFile(t, co.Dir, "a.txt"))
				require.NoError(t, co.Close())
			}

			// A force push: the commit is gone from the ref's history.
			forced := h.commitCLI(repo, "refs/heads/main", root, map[string]file{"a.txt": {content: "forced"}})
			ws = newWorkspaces(t)
			co, err = ws.Checkout(t.Context(), request(h, repo, "refs/heads/main", old))
			if policy == fetchAny {
				require.NoError(t, err)
				assert.Equal(t, "old", readFile(t, co.Dir, "a.txt"))
				require.NoError(t, co.Close())
			} else {
				var nf *git.SHANotFoundError
				require.ErrorAs(t, err, &nf)
				assert.Equal(t, forced, nf.Head)
				assert.Contains(t, err.Error(), "alice/moving")
				assert.Empty(t, leftovers(t, ws))
			}

			// A ref that does not exist, then a repo without any ref:
			// nothing to check, whatever the server would send.
			var nf *git.SHANotFoundError
			_, err = ws.Checkout(t.Context(), request(h, repo, "refs/pr/9", forced))
			require.ErrorAs(t, err, &nf)
			assert.Empty(t, nf.Head)
			assert.Contains(t, err.Error(), "ref does not exist")
			h.deleteRef(repo, "refs/heads/main")
			_, err = ws.Checkout(t.Context(), request(h, repo, "refs/heads/main", forced))
			require.ErrorAs(t, err, &nf)
			assert.Empty(t, nf.Head)
			assert.Empty(t, leftovers(t, ws))
		})
	}
}

func TestCheckoutPrivate(t *testing.T) {
	h := newHub(t)
	bob := h.srv.AddUser("bob")
	repo := hubclient.Repo{ID: "alice/private"}
	sha := h.createRepo(repo, true, map[string]string{"README.md": "# private\n"})

	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"with the owner's token", h.alice.Token, nil},
		{"anonymous", "", transport.ErrAuthenticationRequired},
		{"invalid token", "hf_invalid0123456789", transport.ErrAuthenticationRequired},
		{"someone else's token", bob.Token, transport.ErrRepositoryNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := newWorkspaces(t)
			req := request(h, repo, "refs/heads/main", sha)
			req.Token = tt.token
			co, err := ws.Checkout(t.Context(), req)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				if tt.token != "" {
					assert.NotContains(t, err.Error(), tt.token)
				}
				assert.Contains(t, err.Error(), "alice/private")
				assert.Empty(t, leftovers(t, ws), "nothing left on disk")
				return
			}
			require.NoError(t, err)
			defer co.Close()
			assert.Equal(t, "# private\n", readFile(t, co.Dir, "README.md"))
			assert.NotContains(t, fmt.Sprintf("%v %+v %#v", co, co, co), tt.token)

			// The token is on no file of the job directory.
			err = filepath.WalkDir(filepath.Dir(co.Dir), func(p string, d fs.DirEntry, err error) error {
				require.NoError(t, err)
				if d.Type().IsRegular() {
					data, err := os.ReadFile(p)
					require.NoError(t, err)
					assert.NotContains(t, string(data), tt.token, p)
				}
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, h.srv.URL+"/alice/private", h.git(co.Dir, "config", "remote.origin.url"))
			fetches := 0
			for _, r := range h.srv.Requests() {
				if strings.HasPrefix(r.Path, "/alice/private/") {
					fetches++
					assert.Equal(t, "alice", r.User, "the token went as the basic auth password of %s", r.Path)
				}
			}
			assert.NotZero(t, fetches)
		})
	}
}

func TestCheckoutCancelledMidFetch(t *testing.T) {
	h := newHub(t)
	repo := hubclient.Repo{ID: "alice/slow"}
	sha := h.createRepo(repo, false, map[string]string{"a.txt": "a"})

	reached := make(chan struct{})
	front := h.interceptFetch(func(w http.ResponseWriter, r *http.Request) {
		// Start the answer, then stall as a slow network would.
		w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("0008NAK\n"))
		w.(http.Flusher).Flush()
		close(reached)
		<-r.Context().Done()
	})
	ws := newWorkspaces(t)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-reached
		cancel()
	}()
	req := request(h, repo, "refs/heads/main", sha)
	req.URL = front + "/alice/slow"
	_, err := ws.Checkout(ctx, req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, leftovers(t, ws), "nothing left on disk")
}

func TestCheckoutRequestValidation(t *testing.T) {
	ws := newWorkspaces(t)
	good := git.CheckoutRequest{URL: "https://huggingface.co/alice/tiny", Ref: "refs/heads/main", SHA: strings.Repeat("a", 40)}
	tests := []struct {
		name   string
		change func(*git.CheckoutRequest)
		want   string
	}{
		{"credentials in the URL", func(r *git.CheckoutRequest) { r.URL = "https://user:hf_abc@huggingface.co/alice/tiny" }, "carries credentials"},
		{"not http", func(r *git.CheckoutRequest) { r.URL = "file:///etc" }, "not an http(s) URL"},
		{"short ref", func(r *git.CheckoutRequest) { r.Ref = "main" }, "invalid ref"},
		{"refspec in the ref", func(r *git.CheckoutRequest) { r.Ref = "refs/heads/main:refs/heads/x" }, "invalid ref"},
		{"dot-dot ref", func(r *git.CheckoutRequest) { r.Ref = "refs/heads/../x" }, "invalid ref"},
		{"short sha", func(r *git.CheckoutRequest) { r.SHA = "abc123" }, "invalid commit"},
		{"zero sha", func(r *git.CheckoutRequest) { r.SHA = strings.Repeat("0", 40) }, "invalid commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := good
			tt.change(&req)
			_, err := ws.Checkout(t.Context(), req)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "hf_abc")
			assert.Empty(t, leftovers(t, ws))
		})
	}
}

func TestCheckoutSymlinks(t *testing.T) {
	h := newHub(t)
	repo := hubclient.Repo{ID: "alice/links"}
	root := h.createRepo(repo, false, map[string]string{"README.md": "# links\n", "docs/index.md": "index\n"})
	sha := h.commitCLI(repo, "refs/heads/main", root, map[string]file{
		"inside":         {link: "README.md"},
		"docs/up":        {link: "../README.md"},
		"chain":          {link: "inside"},
		"dir":            {link: "docs"},
		"absolute":       {link: "/etc/passwd"},
		"escape":         {link: "../../../../../../etc/passwd"},
		"dotgit":         {link: ".git/config"},
		"dangling":       {link: "nowhere"},
		"through-dir":    {link: "dir/index.md"},
		"through-escape": {link: "escape"},
	})
	co, err := newWorkspaces(t).Checkout(t.Context(), request(h, repo, "refs/heads/main", sha))
	require.NoError(t, err)
	defer co.Close()

	for name, target := range map[string]string{"inside": "README.md", "docs/up": "../README.md", "chain": "inside", "dir": "docs", "through-dir": "dir/index.md"} {
		got, err := os.Readlink(filepath.Join(co.Dir, name))
		if assert.NoError(t, err, "%s stays a link", name) {
			assert.Equal(t, target, got)
		}
	}
	assert.Equal(t, "# links\n", readFile(t, co.Dir, "chain"))
	for name, text := range map[string]string{"absolute": "/etc/passwd", "escape": "../../../../../../etc/passwd",
		"dotgit": ".git/config", "dangling": "nowhere", "through-escape": "escape"} {
		fi, err := os.Lstat(filepath.Join(co.Dir, name))
		require.NoError(t, err)
		assert.True(t, fi.Mode().IsRegular(), "%s is a plain file now", name)
		assert.Equal(t, text, readFile(t, co.Dir, name), "%s holds its target text", name)
	}
}
