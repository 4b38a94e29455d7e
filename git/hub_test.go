package git_test

// The tests run against hubtest, the project's fake Hub on loopback: the
// real git http-backend behind the Hub's URLs and token checks, its compare
// API and its resolve downloads. Histories the Hub's API cannot make (force
// pushes, symbolic links, annotated tags) are written with the git CLI
// straight into its bare repositories.

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

type hub struct {
	t     *testing.T
	srv   *hubtest.Server
	alice hubtest.User
	work  string
}

func newHub(t *testing.T) *hub {
	t.Helper()
	srv := hubtest.NewServer()
	t.Cleanup(srv.Close)
	return &hub{t: t, srv: srv, alice: srv.AddUser("alice"), work: t.TempDir()}
}

// client is a hubclient for the fake Hub, with token.
func (h *hub) client(token string) *hubclient.Client {
	c, err := hubclient.New(hubclient.Options{Endpoint: h.srv.URL, Token: token, MaxRetries: -1})
	require.NoError(h.t, err)
	return c
}

// createRepo creates a repo of alice with files (those matching lfs stored
// in LFS) and returns the head of main.
func (h *hub) createRepo(repo hubclient.Repo, private bool, files map[string]string, lfs ...string) string {
	h.t.Helper()
	spec := hubtest.RepoSpec{ID: repo.ID, Type: string(repo.Type), Private: private, Files: map[string][]byte{}, LFS: lfs}
	if lfs == nil {
		spec.LFS = []string{}
	}
	for name, content := range files {
		spec.Files[name] = []byte(content)
	}
	r, err := h.srv.CreateRepo(h.alice, spec)
	require.NoError(h.t, err)
	return r.Head
}

// push commits files (and deletes) as alice on ref and returns the commit.
func (h *hub) push(repo hubclient.Repo, ref string, files map[string]string, deletes ...string) string {
	h.t.Helper()
	ch := hubtest.Change{Files: map[string][]byte{}, Delete: deletes}
	for name, content := range files {
		ch.Files[name] = []byte(content)
	}
	sha, err := h.srv.Push(h.alice, repo.String(), ref, ch)
	require.NoError(h.t, err)
	return sha
}

// openPR opens a pull request of alice with files on top of main.
func (h *hub) openPR(repo hubclient.Repo, files map[string]string) hubtest.PR {
	h.t.Helper()
	ch := hubtest.Change{Files: map[string][]byte{}}
	for name, content := range files {
		ch.Files[name] = []byte(content)
	}
	pr, err := h.srv.OpenPR(h.alice, repo.String(), "A pull request", "", ch)
	require.NoError(h.t, err)
	return pr
}

// pointer is the pointer file git stores for name at rev.
func (h *hub) pointer(repo hubclient.Repo, rev, name string) string {
	h.t.Helper()
	data, err := h.srv.RawFile(repo.String(), rev, name)
	require.NoError(h.t, err)
	return string(data)
}

func (h *hub) gitDir(repo hubclient.Repo) string {
	h.t.Helper()
	dir, err := h.srv.GitDir(repo.String())
	require.NoError(h.t, err)
	return dir
}

// fetchPolicy is what a server lets a client fetch by commit id.
type fetchPolicy string

const (
	// fetchAny serves any object, even one no ref leads to any more: the
	// fake Hub's setting (uploadpack.allowAnySHA1InWant).
	fetchAny fetchPolicy = "any object"
	// fetchReachable serves commits some ref leads to, as GitHub does.
	fetchReachable fetchPolicy = "reachable commits"
	// fetchTips serves ref tips only: git's default.
	fetchTips fetchPolicy = "ref tips only"
)

var fetchPolicies = []fetchPolicy{fetchTips, fetchReachable, fetchAny}

// setFetchPolicy configures what repo's server sends by commit id.
func (h *hub) setFetchPolicy(repo hubclient.Repo, p fetchPolicy) {
	h.t.Helper()
	dir := h.gitDir(repo)
	// git reads these as bits that later lines clear: set only the one
	// that applies.
	for _, key := range []string{"uploadpack.allowAnySHA1InWant", "uploadpack.allowReachableSHA1InWant"} {
		h.gitOut(dir, "config", "--unset-all", key)
	}
	switch p {
	case fetchAny:
		h.git(dir, "config", "uploadpack.allowAnySHA1InWant", "true")
	case fetchReachable:
		h.git(dir, "config", "uploadpack.allowReachableSHA1InWant", "true")
	}
}

// file is the content of a file in a commit made with the git CLI; link
// makes it a symbolic link to target.
type file struct {
	content string
	link    string
}

// commitCLI writes, with the git CLI, a commit on top of parent changing
// files, and force-pushes it to ref. It returns the commit.
func (h *hub) commitCLI(repo hubclient.Repo, ref, parent string, files map[string]file) string {
	h.t.Helper()
	wt := h.worktree(repo, parent)
	for name, f := range files {
		p := filepath.Join(wt, filepath.FromSlash(name))
		require.NoError(h.t, os.MkdirAll(filepath.Dir(p), 0o755))
		if f.link != "" {
			require.NoError(h.t, os.Symlink(f.link, p))
		} else {
			require.NoError(h.t, os.WriteFile(p, []byte(f.content), 0o644))
		}
	}
	h.git(wt, "add", "-A")
	h.git(wt, "commit", "-q", "--allow-empty", "-m", "change "+ref)
	h.git(wt, "push", "-q", "--force", h.gitDir(repo), "HEAD:"+ref)
	return h.git(wt, "rev-parse", "HEAD")
}

// emptyCommits adds n empty commits on top of ref, in one git fast-import,
// and returns the new head.
func (h *hub) emptyCommits(repo hubclient.Repo, ref string, n int) string {
	h.t.Helper()
	var stream strings.Builder
	// Dates go forward, as git's reachability checks expect.
	now := time.Now().Unix()
	for i := range n {
		fmt.Fprintf(&stream, "commit %s\ncommitter Alice <alice@example.com> %d +0000\ndata 6\nempty\n", ref, now+int64(i)+1)
		if i == 0 {
			fmt.Fprintf(&stream, "from %s\n", h.head(repo, ref))
		}
		stream.WriteString("\n")
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = h.gitDir(repo)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + h.work, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull}
	cmd.Stdin = strings.NewReader(stream.String())
	out, err := cmd.CombinedOutput()
	require.NoError(h.t, err, "git fast-import: %s", out)
	return h.head(repo, ref)
}

// worktree is a fresh work tree of repo at commit.
func (h *hub) worktree(repo hubclient.Repo, commit string) string {
	h.t.Helper()
	wt, err := os.MkdirTemp(h.work, "wt-")
	require.NoError(h.t, err)
	h.git("", "init", "-q", wt)
	h.git(wt, "fetch", "-q", h.gitDir(repo), "+refs/*:refs/remotes/hub/*")
	h.git(wt, "checkout", "-q", "--detach", commit)
	return wt
}

// annotatedTag makes refs/tags/name an annotated tag of commit and returns
// the tag object's id.
func (h *hub) annotatedTag(repo hubclient.Repo, name, commit string) string {
	h.t.Helper()
	h.git(h.gitDir(repo), "tag", "-a", "-m", "release "+name, name, commit)
	return h.git(h.gitDir(repo), "rev-parse", "refs/tags/"+name)
}

func (h *hub) head(repo hubclient.Repo, ref string) string {
	h.t.Helper()
	sha, ok := h.srv.Ref(repo.String(), ref)
	require.True(h.t, ok, "no %s in %s", ref, repo)
	return sha
}

func (h *hub) deleteRef(repo hubclient.Repo, ref string) {
	h.t.Helper()
	h.git(h.gitDir(repo), "update-ref", "-d", ref)
}

func (h *hub) git(dir string, args ...string) string {
	h.t.Helper()
	out, err := h.gitOut(dir, args...)
	require.NoError(h.t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(out)
}

func (h *hub) gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + h.work, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com", "LC_ALL=C"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// interceptFetch puts a proxy in front of the fake Hub whose fetch requests
// (POST .../git-upload-pack) go to answer instead, and returns its URL.
func (h *hub) interceptFetch(answer http.HandlerFunc) string {
	h.t.Helper()
	target, err := url.Parse(h.srv.URL)
	require.NoError(h.t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			answer(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	h.t.Cleanup(front.Close)
	return front.URL
}
