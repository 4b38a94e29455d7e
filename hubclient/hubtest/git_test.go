package hubtest_test

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
	"github.com/hubbot/hubbot/lfs"
)

func TestGoGitClone(t *testing.T) {
	w := newWorld(t)
	prWeights := []byte("pr weights\x00\x01\x02")
	pr, err := w.srv.OpenPR(w.bob, "alice/tiny", "Add extra weights", "", hubtest.Change{
		Files: map[string][]byte{"extra.bin": prWeights},
	})
	require.NoError(t, err)
	auth := &githttp.BasicAuth{Username: "anything", Password: w.bob.Token}

	dir := t.TempDir()
	repo, err := git.PlainCloneContext(t.Context(), dir, false, &git.CloneOptions{URL: w.srv.URL + "/alice/tiny", Auth: auth})
	require.NoError(t, err)
	head, err := repo.Head()
	require.NoError(t, err)
	assert.Equal(t, w.tiny.Head, head.Hash().String())

	pointer, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	p, ok := lfs.Parse(pointer)
	require.True(t, ok, "the checkout holds a pointer file: %q", pointer)
	assert.Equal(t, sha256Hex(w.weights), p.OID)
	assert.Equal(t, int64(len(w.weights)), p.Size)
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Equal(t, w.readmeSrc, readme)

	t.Run("fetch refs/pr/N", func(t *testing.T) {
		err := repo.FetchContext(t.Context(), &git.FetchOptions{
			Auth:     auth,
			RefSpecs: []config.RefSpec{"refs/pr/1:refs/remotes/origin/pr/1"},
		})
		require.NoError(t, err)
		ref, err := repo.Reference("refs/remotes/origin/pr/1", true)
		require.NoError(t, err)
		assert.Equal(t, pr.SHA, ref.Hash().String())
	})

	t.Run("shallow fetch of one commit by sha", func(t *testing.T) {
		dir := t.TempDir()
		repo, err := git.PlainInit(dir, false)
		require.NoError(t, err)
		_, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{w.srv.URL + "/alice/tiny.git"}})
		require.NoError(t, err)
		err = repo.FetchContext(t.Context(), &git.FetchOptions{
			Auth:     auth,
			Depth:    1,
			RefSpecs: []config.RefSpec{config.RefSpec(pr.SHA + ":refs/heads/pinned")},
		})
		require.NoError(t, err)
		commit, err := repo.CommitObject(plumbing.NewHash(pr.SHA))
		require.NoError(t, err)
		f, err := commit.File("extra.bin")
		require.NoError(t, err)
		content, err := f.Contents()
		require.NoError(t, err)
		p, ok := lfs.Parse([]byte(content))
		require.True(t, ok)
		assert.Equal(t, sha256Hex(prWeights), p.OID)
		_, err = commit.Parent(0)
		assert.Error(t, err, "depth 1: the parent is not fetched")
	})
}

func TestPrivateRepoGit(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name    string
		auth    transport.AuthMethod
		wantErr error
	}{
		{"anonymous", nil, transport.ErrAuthenticationRequired},
		{"foreign token", &githttp.BasicAuth{Username: "bob", Password: w.bob.Token}, transport.ErrRepositoryNotFound},
		{"bad token", &githttp.BasicAuth{Username: "x", Password: "hf_bad"}, transport.ErrAuthenticationRequired},
		{"org member", &githttp.BasicAuth{Username: "carol", Password: w.carol.Token}, nil},
		{"bearer token", &githttp.TokenAuth{Token: w.alice.Token}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := git.PlainCloneContext(t.Context(), t.TempDir(), false, &git.CloneOptions{URL: w.srv.URL + "/acme/secret", Auth: tt.auth})
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
		})
	}
	t.Run("git cli without a token", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "c")
		_, err := gitCmd(t, "", "clone", w.srv.URL+"/acme/secret", dir)
		assert.Error(t, err)
		assert.NoFileExists(t, filepath.Join(dir, "README.md"))
		_, err = gitCmd(t, "", "clone", withToken(t, w.srv.URL+"/acme/secret", "x", w.carol.Token), dir)
		require.NoError(t, err)
		assert.FileExists(t, filepath.Join(dir, "README.md"))
	})
}

// gitCmd runs the git CLI isolated from the developer's configuration.
func gitCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
		"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com",
	}
	out, err := cmd.Output()
	return string(out), err
}

func withToken(t *testing.T, raw, user, token string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	u.User = url.UserPassword(user, token)
	return u.String()
}

func TestGitCLI(t *testing.T) {
	w := newWorld(t)
	pr, err := w.srv.OpenPR(w.bob, "alice/tiny", "Bob's PR", "please merge", hubtest.Change{Files: map[string][]byte{"b.txt": []byte("b")}})
	require.NoError(t, err)
	recv := newReceiver(t)
	_, err = w.srv.AddWebhook(hubtest.Webhook{URL: recv.url, Secret: "s3cret"})
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "tiny")
	_, err = gitCmd(t, "", "clone", withToken(t, w.srv.URL+"/alice/tiny", "alice", w.alice.Token), dir)
	require.NoError(t, err)
	pointer, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	_, ok := lfs.Parse(pointer)
	assert.True(t, ok, "pointer file in the checkout")

	_, err = gitCmd(t, dir, "fetch", "origin", "refs/pr/1:refs/remotes/origin/pr/1")
	require.NoError(t, err)
	out, err := gitCmd(t, dir, "rev-parse", "refs/remotes/origin/pr/1")
	require.NoError(t, err)
	assert.Equal(t, pr.SHA, strings.TrimSpace(out))

	t.Run("push fires repo.content", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "pushed.txt"), []byte("via git\n"), 0o644))
		_, err := gitCmd(t, dir, "add", "pushed.txt")
		require.NoError(t, err)
		_, err = gitCmd(t, dir, "commit", "-q", "-m", "Pushed with git")
		require.NoError(t, err)
		_, err = gitCmd(t, dir, "tag", "v1")
		require.NoError(t, err)
		_, err = gitCmd(t, dir, "push", "origin", "HEAD:main", "refs/tags/v1")
		require.NoError(t, err)
		newHead, err := gitCmd(t, dir, "rev-parse", "HEAD")
		require.NoError(t, err)
		newHead = strings.TrimSpace(newHead)

		got, ok := w.srv.Ref("alice/tiny", "main")
		require.True(t, ok)
		assert.Equal(t, newHead, got)
		deliveries, err := w.srv.WaitDeliveries(t.Context(), 1)
		require.NoError(t, err)
		var p struct {
			Event       struct{ Action, Scope string }
			Repo        struct{ HeadSha string }
			UpdatedRefs []struct {
				Ref    string
				OldSha *string
				NewSha *string
			}
		}
		require.NoError(t, deliveries[0].Event(&p))
		assert.Equal(t, "repo.content", p.Event.Scope)
		assert.Equal(t, newHead, p.Repo.HeadSha)
		require.Len(t, p.UpdatedRefs, 2)
		assert.Equal(t, "refs/heads/main", p.UpdatedRefs[0].Ref)
		require.NotNil(t, p.UpdatedRefs[0].OldSha)
		assert.Equal(t, w.tiny.Head, *p.UpdatedRefs[0].OldSha)
		assert.Equal(t, newHead, *p.UpdatedRefs[0].NewSha)
		assert.Equal(t, "refs/tags/v1", p.UpdatedRefs[1].Ref)
		assert.Nil(t, p.UpdatedRefs[1].OldSha)
		assert.Equal(t, newHead, *p.UpdatedRefs[1].NewSha)

		_, err = gitCmd(t, dir, "push", "origin", ":refs/tags/v1")
		require.NoError(t, err)
		deliveries, err = w.srv.WaitDeliveries(t.Context(), 2)
		require.NoError(t, err)
		require.NoError(t, deliveries[1].Event(&p))
		require.Len(t, p.UpdatedRefs, 1)
		assert.Nil(t, p.UpdatedRefs[0].NewSha, "a deleted ref has a null newSha")
		assert.Equal(t, "s3cret", recv.requests()[1].header.Get("X-Webhook-Secret"))
	})

	t.Run("annotated tag resolves to its commit", func(t *testing.T) {
		_, err := gitCmd(t, dir, "tag", "-a", "v2", "-m", "release 2")
		require.NoError(t, err)
		_, err = gitCmd(t, dir, "push", "origin", "refs/tags/v2")
		require.NoError(t, err)
		commit, err := gitCmd(t, dir, "rev-parse", "v2^{commit}")
		require.NoError(t, err)
		var refs map[string][]struct{ Name, TargetCommit string }
		call(t, "GET", w.srv.URL+"/api/models/alice/tiny/refs", "", nil).json(t, &refs)
		require.Len(t, refs["tags"], 1)
		assert.Equal(t, "v2", refs["tags"][0].Name)
		assert.Equal(t, strings.TrimSpace(commit), refs["tags"][0].TargetCommit)
		var info struct{ Sha string }
		call(t, "GET", w.srv.URL+"/api/models/alice/tiny/revision/v2", "", nil).json(t, &info)
		assert.Equal(t, strings.TrimSpace(commit), info.Sha)
	})

	t.Run("push to a pr records the commit", func(t *testing.T) {
		_, err := gitCmd(t, dir, "checkout", "-q", "-b", "pr1", "refs/remotes/origin/pr/1")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "b.txt"), []byte("b2"), 0o644))
		_, err = gitCmd(t, dir, "commit", "-q", "-am", "Update b")
		require.NoError(t, err)
		_, err = gitCmd(t, dir, "push", "origin", "HEAD:refs/pr/1")
		require.NoError(t, err)
		d, ok := w.srv.Discussion("alice/tiny", 1)
		require.True(t, ok)
		last := d.Events[len(d.Events)-1]
		assert.Equal(t, "commit", last.Type)
		assert.Equal(t, "Update b", last.Subject)
	})

	t.Run("push without write access", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "bob")
		_, err := gitCmd(t, "", "clone", withToken(t, w.srv.URL+"/alice/tiny", "bob", w.bob.Token), dir)
		require.NoError(t, err)
		_, err = gitCmd(t, dir, "commit", "-q", "--allow-empty", "-m", "bob")
		require.NoError(t, err)
		_, err = gitCmd(t, dir, "push", "origin", "HEAD:main")
		assert.Error(t, err)
	})

	t.Run("dataset with prefix and .git suffix", func(t *testing.T) {
		_, err := w.srv.CreateRepo(w.alice, hubtest.RepoSpec{ID: "alice/data", Type: hubtest.TypeDataset, Files: map[string][]byte{"a.csv": []byte("a,b\n")}})
		require.NoError(t, err)
		for _, u := range []string{w.srv.URL + "/datasets/alice/data", w.srv.URL + "/datasets/alice/data.git"} {
			dir := filepath.Join(t.TempDir(), "d")
			_, err := gitCmd(t, "", "clone", u, dir)
			require.NoError(t, err, u)
			data, err := os.ReadFile(filepath.Join(dir, "a.csv"))
			require.NoError(t, err)
			assert.Equal(t, "a,b\n", string(data))
		}
	})
}
