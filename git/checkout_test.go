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

// request is a checkout request for repoPath on srv.
func request(srv *gitServer, repo hubclient.Repo, ref, sha string) git.CheckoutRequest {
	return git.CheckoutRequest{
		Repo:  repo,
		URL:   srv.URL() + "/" + repo.String(),
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
	srv := newGitServer(t, serverOptions{})
	model := hubclient.Repo{ID: "alice/tiny"}
	dataset := hubclient.Repo{Type: hubclient.Dataset, ID: "alice/data"}
	srv.createRepo(model.String(), "")
	srv.createRepo(dataset.String(), "")

	_, pointer := srv.addLFS([]byte("the real weights"))
	first := srv.commit(model.String(), "refs/heads/main", "", map[string]file{
		"README.md":       {content: "# tiny v1\n"},
		"model.bin":       {content: pointer},
		"config/all.json": {content: "{}\n"},
	})
	second := srv.commit(model.String(), "refs/heads/main", first, map[string]file{
		"README.md": {content: "# tiny v2\n"},
	})
	pr := srv.commit(model.String(), "refs/pr/1", second, map[string]file{
		"README.md": {content: "# tiny from a pull request\n"},
	})
	srv.git(srv.bare(model.String()), "tag", "v1", first)
	tagObject := srv.annotatedTag(model.String(), "v2", second)
	data := srv.commit(dataset.String(), "refs/heads/main", "", map[string]file{
		"data.csv": {content: "a,b\n1,2\n"},
	})

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
		{"pull request ref", model, "refs/pr/1", pr, pr, "README.md", "# tiny from a pull request\n"},
		{"lightweight tag", model, "refs/tags/v1", first, first, "README.md", "# tiny v1\n"},
		{"annotated tag by its commit", model, "refs/tags/v2", second, second, "README.md", "# tiny v2\n"},
		{"annotated tag by the tag object", model, "refs/tags/v2", tagObject, second, "README.md", "# tiny v2\n"},
		{"uppercase sha", model, "refs/heads/main", strings.ToUpper(second), second, "README.md", "# tiny v2\n"},
		{"dataset", dataset, "refs/heads/main", data, data, "data.csv", "a,b\n1,2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := newWorkspaces(t)
			co, err := ws.Checkout(t.Context(), request(srv, tt.repo, tt.ref, tt.sha))
			require.NoError(t, err)
			t.Cleanup(func() { co.Close() })

			assert.Equal(t, tt.wantSHA, co.SHA)
			assert.Equal(t, tt.ref, co.Ref)
			assert.Equal(t, tt.content, readFile(t, co.Dir, tt.file))
			assert.DirExists(t, co.TempDir)
			assert.True(t, strings.HasPrefix(filepath.Base(filepath.Dir(co.Dir)), "job-42-"), co.Dir)
			assert.Equal(t, tt.wantSHA, srv.git(co.Dir, "rev-parse", "HEAD"), "HEAD is the commit, detached")
			assert.Empty(t, srv.git(co.Dir, "status", "--porcelain"), "the tree is clean")
			assert.Equal(t, "true", srv.git(co.Dir, "rev-parse", "--is-shallow-repository"))
			if tt.repo == model && tt.ref != "refs/tags/v1" {
				assert.Equal(t, pointer, readFile(t, co.Dir, "model.bin"), "LFS files stay pointers")
			}
		})
	}
}

func TestCheckoutIsShallow(t *testing.T) {
	srv := newGitServer(t, serverOptions{})
	repo := hubclient.Repo{ID: "alice/deep"}
	srv.createRepo(repo.String(), "")
	first := srv.commit(repo.String(), "refs/heads/main", "", map[string]file{"a.txt": {content: "1"}})
	head := srv.emptyCommits(repo.String(), "refs/heads/main", 5)

	co, err := newWorkspaces(t).Checkout(t.Context(), request(srv, repo, "refs/heads/main", head))
	require.NoError(t, err)
	defer co.Close()
	assert.Equal(t, "1", srv.git(co.Dir, "rev-list", "--count", "HEAD"), "one commit fetched")
	_, err = srv.gitOut(co.Dir, "cat-file", "-e", first)
	assert.Error(t, err, "older commits are not fetched")
}

func TestCheckoutRefMoved(t *testing.T) {
	for _, allowSHA := range []bool{false, true} {
		name := "server refuses ids"
		if allowSHA {
			name = "server sends reachable ids"
		}
		t.Run(name, func(t *testing.T) {
			srv := newGitServer(t, serverOptions{allowSHA: allowSHA})
			repo := hubclient.Repo{ID: "alice/moving"}
			srv.createRepo(repo.String(), "")
			root := srv.commit(repo.String(), "refs/heads/main", "", map[string]file{"a.txt": {content: "root"}})
			old := srv.commit(repo.String(), "refs/heads/main", root, map[string]file{"a.txt": {content: "old"}})
			srv.commit(repo.String(), "refs/heads/main", old, map[string]file{"a.txt": {content: "new"}})

			// A push after the event: the commit is still in the ref's
			// history, so the job can still run on it.
			co, err := newWorkspaces(t).Checkout(t.Context(), request(srv, repo, "refs/heads/main", old))
			require.NoError(t, err)
			assert.Equal(t, old, co.SHA)
			assert.Equal(t, "old", readFile(t, co.Dir, "a.txt"))
			require.NoError(t, co.Close())

			// Far behind the ref: found by id when the server allows it,
			// else beyond the deepening steps.
			head := srv.emptyCommits(repo.String(), "refs/heads/main", 40)
			ws := newWorkspaces(t)
			co, err = ws.Checkout(t.Context(), request(srv, repo, "refs/heads/main", old))
			if allowSHA {
				require.NoError(t, err)
				assert.Equal(t, "old", readFile(t, co.Dir, "a.txt"))
				require.NoError(t, co.Close())
			} else {
				var nf *git.SHANotFoundError
				require.ErrorAs(t, err, &nf)
				assert.ErrorIs(t, err, git.ErrSHANotFound)
				assert.Equal(t, head, nf.Head)
				assert.Empty(t, leftovers(t, ws), "nothing left on disk")
			}

			// A force push: the commit is gone from the ref's history.
			forced := srv.commit(repo.String(), "refs/heads/main", root, map[string]file{"a.txt": {content: "forced"}})
			ws = newWorkspaces(t)
			_, err = ws.Checkout(t.Context(), request(srv, repo, "refs/heads/main", old))
			var nf *git.SHANotFoundError
			require.ErrorAs(t, err, &nf)
			assert.Equal(t, forced, nf.Head)
			assert.Contains(t, err.Error(), "alice/moving")
			assert.Empty(t, leftovers(t, ws))

			// A ref that does not exist, then a repo without any ref.
			_, err = ws.Checkout(t.Context(), request(srv, repo, "refs/pr/9", forced))
			require.ErrorAs(t, err, &nf)
			assert.Empty(t, nf.Head)
			assert.Contains(t, err.Error(), "ref does not exist")
			srv.deleteRef(repo.String(), "refs/heads/main")
			_, err = ws.Checkout(t.Context(), request(srv, repo, "refs/heads/main", forced))
			require.ErrorAs(t, err, &nf)
			assert.Empty(t, nf.Head)
			assert.Empty(t, leftovers(t, ws))
		})
	}
}

func TestCheckoutPrivate(t *testing.T) {
	const token = "hf_secretTokenValue0123456789"
	srv := newGitServer(t, serverOptions{})
	repo := hubclient.Repo{ID: "alice/private"}
	srv.createRepo(repo.String(), token)
	sha := srv.commit(repo.String(), "refs/heads/main", "", map[string]file{"README.md": {content: "# private\n"}})

	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"with the token", token, nil},
		{"anonymous", "", transport.ErrAuthenticationRequired},
		{"wrong token", "hf_wrong", transport.ErrAuthenticationRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := newWorkspaces(t)
			req := request(srv, repo, "refs/heads/main", sha)
			req.Token = tt.token
			co, err := ws.Checkout(t.Context(), req)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), token)
				assert.Contains(t, err.Error(), "alice/private")
				assert.Empty(t, leftovers(t, ws), "nothing left on disk")
				return
			}
			require.NoError(t, err)
			defer co.Close()
			assert.Equal(t, "# private\n", readFile(t, co.Dir, "README.md"))
			assert.NotContains(t, fmtCheckout(co), token)

			// The token is on no file of the job directory.
			jobDir := filepath.Dir(co.Dir)
			err = filepath.WalkDir(jobDir, func(p string, d fs.DirEntry, err error) error {
				require.NoError(t, err)
				if d.Type().IsRegular() {
					data, err := os.ReadFile(p)
					require.NoError(t, err)
					assert.NotContains(t, string(data), token, p)
				}
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, srv.URL()+"/alice/private", srv.git(co.Dir, "config", "remote.origin.url"))
		})
	}
}

func TestCheckoutCancelledMidFetch(t *testing.T) {
	srv := newGitServer(t, serverOptions{})
	repo := hubclient.Repo{ID: "alice/slow"}
	srv.createRepo(repo.String(), "")
	sha := srv.commit(repo.String(), "refs/heads/main", "", map[string]file{"a.txt": {content: "a"}})

	reached := make(chan struct{})
	srv.onUploadPack = func(w http.ResponseWriter, r *http.Request) bool {
		// Start the answer, then stall as a slow network would.
		w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("0008NAK\n"))
		w.(http.Flusher).Flush()
		close(reached)
		<-r.Context().Done()
		return true
	}
	ws := newWorkspaces(t)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-reached
		cancel()
	}()
	_, err := ws.Checkout(ctx, request(srv, repo, "refs/heads/main", sha))
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
	srv := newGitServer(t, serverOptions{})
	repo := hubclient.Repo{ID: "alice/links"}
	srv.createRepo(repo.String(), "")
	sha := srv.commit(repo.String(), "refs/heads/main", "", map[string]file{
		"README.md":      {content: "# links\n"},
		"docs/index.md":  {content: "index\n"},
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
	co, err := newWorkspaces(t).Checkout(t.Context(), request(srv, repo, "refs/heads/main", sha))
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

func fmtCheckout(co *git.Checkout) string { return fmt.Sprintf("%v %+v %#v", co, co, co) }
