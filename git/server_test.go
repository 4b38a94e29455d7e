package git_test

// A git smart HTTP server on loopback for the tests: the real
// git-http-backend over bare repositories, behind the Hub's URL layout
// ({prefix}{ns}/{name}), token-checked basic auth for private repos, and the
// Hub's /resolve downloads for LFS content. Repositories are written with the
// git CLI, as people push to the Hub.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/lfs"
)

type gitServer struct {
	t       *testing.T
	root    string // GIT_PROJECT_ROOT
	work    string // scratch work trees
	srv     *httptest.Server
	backend http.Handler

	mu       sync.Mutex
	private  map[string]string // repo path -> token that may read it
	blobs    map[string][]byte // LFS content by oid
	commitOf map[string]string // what X-Repo-Commit says for a rev, when set
	authSeen []string          // Authorization headers received on git requests
	// onUploadPack, when set, answers the fetch requests instead of git.
	onUploadPack func(w http.ResponseWriter, r *http.Request) bool
}

type serverOptions struct {
	// allowSHA lets clients fetch any reachable commit by its id, as
	// GitHub does; git's default (and maybe the Hub's) refuses.
	allowSHA bool
}

func newGitServer(t *testing.T, opts serverOptions) *gitServer {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	require.NoError(t, err, "git must be on PATH")
	s := &gitServer{
		t:        t,
		root:     t.TempDir(),
		work:     t.TempDir(),
		private:  map[string]string{},
		blobs:    map[string][]byte{},
		commitOf: map[string]string{},
	}
	env := []string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull, "HOME=" + s.work}
	if opts.allowSHA {
		env = append(env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=uploadpack.allowReachableSHA1InWant", "GIT_CONFIG_VALUE_0=true")
	}
	s.backend = &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  env,
		// git's own complaints ("not our ref") are expected answers here.
		Stderr: io.Discard,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the Hub endpoint of the server.
func (s *gitServer) URL() string { return s.srv.URL }

// client is a hubclient for the server with token.
func (s *gitServer) client(token string) *hubclient.Client {
	c, err := hubclient.New(hubclient.Options{Endpoint: s.srv.URL, Token: token, MaxRetries: -1})
	require.NoError(s.t, err)
	return c
}

func (s *gitServer) serve(w http.ResponseWriter, r *http.Request) {
	if repoPath, rest, ok := strings.Cut(r.URL.Path, "/resolve/"); ok {
		s.serveResolve(w, strings.TrimPrefix(repoPath, "/"), rest)
		return
	}
	repoPath := r.URL.Path
	for _, suffix := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack"} {
		repoPath = strings.TrimSuffix(repoPath, suffix)
	}
	repoPath = strings.TrimPrefix(repoPath, "/")
	s.mu.Lock()
	token, private := s.private[repoPath]
	s.authSeen = append(s.authSeen, r.Header.Get("Authorization"))
	hook := s.onUploadPack
	s.mu.Unlock()
	if private {
		_, pass, ok := r.BasicAuth()
		if !ok || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="hub"`)
			http.Error(w, "Repository not found", http.StatusUnauthorized)
			return
		}
	}
	if hook != nil && strings.HasSuffix(r.URL.Path, "/git-upload-pack") && hook(w, r) {
		return
	}
	s.backend.ServeHTTP(w, r)
}

// serveResolve answers /{repo}/resolve/{rev}/{path} with LFS content whose
// pointer is the file's content at rev.
func (s *gitServer) serveResolve(w http.ResponseWriter, repoPath, rest string) {
	rev, name, _ := strings.Cut(rest, "/")
	out, err := s.gitOut(s.bare(repoPath), "show", rev+":"+name)
	if err != nil {
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	sha, _ := s.gitOut(s.bare(repoPath), "rev-parse", rev+"^{commit}")
	s.mu.Lock()
	data, isLFS := []byte(nil), false
	if p, ok := lfs.Parse([]byte(out)); ok {
		data, isLFS = s.blobs[p.OID]
	}
	if c, ok := s.commitOf[rev]; ok {
		sha = c
	}
	s.mu.Unlock()
	if !isLFS {
		data = []byte(out)
	}
	w.Header().Set("X-Repo-Commit", strings.TrimSpace(sha))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// createRepo makes an empty bare repo at repoPath ("ns/name",
// "datasets/ns/name"); token, when not empty, makes it private.
func (s *gitServer) createRepo(repoPath, token string) {
	s.t.Helper()
	require.NoError(s.t, os.MkdirAll(filepath.Dir(s.bare(repoPath)), 0o755))
	s.git("", "init", "-q", "--bare", "-b", "main", s.bare(repoPath))
	if token != "" {
		s.mu.Lock()
		s.private[repoPath] = token
		s.mu.Unlock()
	}
}

func (s *gitServer) bare(repoPath string) string {
	return filepath.Join(s.root, filepath.FromSlash(repoPath))
}

// file is the content of a file in a commit; link makes it a symbolic link
// to target, deleted removes it.
type file struct {
	content string
	link    string
	deleted bool
}

// commit writes a commit whose parent is parent ("" for a root commit),
// changing files, and points ref at it. It returns the commit id.
func (s *gitServer) commit(repoPath, ref, parent string, files map[string]file) string {
	s.t.Helper()
	wt, err := os.MkdirTemp(s.work, "wt-")
	require.NoError(s.t, err)
	s.git("", "init", "-q", wt)
	if parent != "" {
		s.git(wt, "fetch", "-q", s.bare(repoPath), "+refs/*:refs/remotes/hub/*")
		s.git(wt, "checkout", "-q", "--detach", parent)
	}
	for name, f := range files {
		p := filepath.Join(wt, filepath.FromSlash(name))
		require.NoError(s.t, os.MkdirAll(filepath.Dir(p), 0o755))
		os.Remove(p)
		switch {
		case f.deleted:
		case f.link != "":
			require.NoError(s.t, os.Symlink(f.link, p))
		default:
			require.NoError(s.t, os.WriteFile(p, []byte(f.content), 0o644))
		}
	}
	s.git(wt, "add", "-A")
	s.git(wt, "commit", "-q", "--allow-empty", "-m", "change "+ref)
	sha := s.git(wt, "rev-parse", "HEAD")
	s.git(wt, "push", "-q", "--force", s.bare(repoPath), "HEAD:"+ref)
	return sha
}

// emptyCommits adds n empty commits on top of ref.
func (s *gitServer) emptyCommits(repoPath, ref string, n int) string {
	s.t.Helper()
	head := s.head(repoPath, ref)
	wt, err := os.MkdirTemp(s.work, "wt-")
	require.NoError(s.t, err)
	s.git("", "init", "-q", wt)
	s.git(wt, "fetch", "-q", s.bare(repoPath), "+refs/*:refs/remotes/hub/*")
	s.git(wt, "checkout", "-q", "--detach", head)
	for i := range n {
		s.git(wt, "commit", "-q", "--allow-empty", "-m", "empty "+strconv.Itoa(i))
	}
	s.git(wt, "push", "-q", "--force", s.bare(repoPath), "HEAD:"+ref)
	return s.git(wt, "rev-parse", "HEAD")
}

// annotatedTag makes refs/tags/name an annotated tag of commit and returns
// the tag object's id.
func (s *gitServer) annotatedTag(repoPath, name, commit string) string {
	s.t.Helper()
	s.git(s.bare(repoPath), "tag", "-a", "-m", "release "+name, name, commit)
	return s.git(s.bare(repoPath), "rev-parse", "refs/tags/"+name)
}

func (s *gitServer) head(repoPath, ref string) string {
	s.t.Helper()
	return s.git(s.bare(repoPath), "rev-parse", ref)
}

func (s *gitServer) deleteRef(repoPath, ref string) {
	s.t.Helper()
	s.git(s.bare(repoPath), "update-ref", "-d", ref)
}

// addLFS stores content and returns its pointer file text.
func (s *gitServer) addLFS(content []byte) (lfs.Pointer, string) {
	sum := sha256.Sum256(content)
	p := lfs.Pointer{OID: hex.EncodeToString(sum[:]), Size: int64(len(content))}
	s.mu.Lock()
	s.blobs[p.OID] = content
	s.mu.Unlock()
	return p, p.String()
}

// diffNames is what `git diff --name-only old new` says on the server, the
// truth the compare API answers with.
func (s *gitServer) diffNames(repoPath, old, new string) []string {
	out := s.git(s.bare(repoPath), "diff", "--no-renames", "--name-only", old, new)
	if out == "" {
		return []string{}
	}
	return strings.Split(out, "\n")
}

func (s *gitServer) git(dir string, args ...string) string {
	s.t.Helper()
	out, err := s.gitOut(dir, args...)
	require.NoError(s.t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(out)
}

func (s *gitServer) gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.work, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com", "LC_ALL=C"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
