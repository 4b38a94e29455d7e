package hubtest_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

func TestNew(t *testing.T) {
	t.Run("temporary dir is removed by Close", func(t *testing.T) {
		srv := hubtest.NewServer()
		dir := srv.Dir()
		require.DirExists(t, dir)
		assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"))
		assert.True(t, strings.HasPrefix(srv.CDNURL, "http://127.0.0.1:"))
		assert.NotEqual(t, srv.URL, srv.CDNURL)
		srv.Close()
		srv.Close() // idempotent
		assert.NoDirExists(t, dir)
	})
	t.Run("a given dir is kept", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "hub")
		srv, err := hubtest.New(hubtest.Options{Dir: dir})
		require.NoError(t, err)
		alice := srv.AddUser("alice")
		_, err = srv.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/kept", Type: hubtest.TypeDataset})
		require.NoError(t, err)
		gitDir, err := srv.GitDir("datasets/alice/kept")
		require.NoError(t, err)
		srv.Close()
		assert.DirExists(t, gitDir)
		assert.True(t, strings.HasPrefix(gitDir, dir))

		_, err = hubtest.New(hubtest.Options{Dir: dir})
		assert.ErrorContains(t, err, "not empty")
	})
	t.Run("bad listen address", func(t *testing.T) {
		_, err := hubtest.New(hubtest.Options{Addr: "256.0.0.1:0"})
		assert.Error(t, err)
	})
}

func TestSetupErrors(t *testing.T) {
	srv := newServer(t)
	alice := srv.AddUser("alice")
	bob := srv.AddUser("bob")
	srv.AddOrg("acme", alice)
	assert.Panics(t, func() { srv.AddUser("alice") }, "taken")
	assert.Panics(t, func() { srv.AddUser("acme") }, "taken by an org")
	assert.Panics(t, func() { srv.AddUser("../x") }, "invalid")
	assert.Panics(t, func() { srv.AddOrg("org2", hubtest.User{Name: "ghost"}) }, "unknown member")

	tests := []struct {
		name string
		as   hubtest.User
		spec hubtest.RepoSpec
	}{
		{"bad type", alice, hubtest.RepoSpec{ID: "alice/x", Type: "paper"}},
		{"no namespace", alice, hubtest.RepoSpec{ID: "x"}},
		{"three parts", alice, hubtest.RepoSpec{ID: "alice/x/y"}},
		{"dot dot", alice, hubtest.RepoSpec{ID: "alice/.."}},
		{"unknown namespace", alice, hubtest.RepoSpec{ID: "nobody/x"}},
		{"foreign namespace", bob, hubtest.RepoSpec{ID: "acme/x"}},
		{"unknown user", hubtest.User{Name: "ghost"}, hubtest.RepoSpec{ID: "ghost/x"}},
		{"bad file path", alice, hubtest.RepoSpec{ID: "alice/y", Files: map[string][]byte{"../x": nil}}},
		{"bad lfs pattern", alice, hubtest.RepoSpec{ID: "alice/z", LFS: []string{"a b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := srv.CreateRepo(tt.as, tt.spec)
			assert.Error(t, err)
		})
	}
	resp := call(t, http.MethodGet, srv.URL+"/api/models/alice/y", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.status, "a failed creation leaves no repo")
	_, err := srv.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/y"})
	assert.NoError(t, err, "and the name is free again")

	assert.Error(t, srv.AddToken(alice, "t", "admin"))
	assert.Error(t, srv.AddToken(alice, alice.Token, hubtest.RoleRead), "token in use")
	assert.Error(t, srv.AddToken(hubtest.User{Name: "ghost"}, "t2", hubtest.RoleRead))
	assert.Error(t, srv.AddOrgMember("acme", bob, "owner"))
	assert.Error(t, srv.AddOrgMember("nope", bob, hubtest.RoleRead))
}

func TestHelpers(t *testing.T) {
	w := newWorld(t)
	srv := w.srv

	t.Run("push creates a branch from main", func(t *testing.T) {
		sha, err := srv.Push(w.alice, "alice/tiny", "feature/x", hubtest.Change{Files: map[string][]byte{"f.txt": []byte("f")}})
		require.NoError(t, err)
		got, ok := srv.Ref("alice/tiny", "refs/heads/feature/x")
		require.True(t, ok)
		assert.Equal(t, sha, got)
		resp := call(t, http.MethodGet, srv.URL+"/alice/tiny/resolve/feature%2Fx/f.txt", "", nil)
		assert.Equal(t, "f", string(resp.body))
	})
	t.Run("push stores big and matching files in lfs", func(t *testing.T) {
		srv2 := newServer(t)
		u := srv2.AddUser("u")
		_, err := srv2.CreateRepo(u, hubtest.RepoSpec{ID: "u/r", LFS: []string{}, LFSThreshold: 100})
		require.NoError(t, err)
		_, err = srv2.Push(u, "u/r", "main", hubtest.Change{Files: map[string][]byte{
			"small.bin": []byte("small"), "large.txt": []byte(strings.Repeat("x", 100)),
		}})
		require.NoError(t, err)
		raw, err := srv2.RawFile("u/r", "main", "large.txt")
		require.NoError(t, err)
		assert.Contains(t, string(raw), "oid sha256:", "over the threshold: a pointer")
		raw, err = srv2.RawFile("u/r", "main", "small.bin")
		require.NoError(t, err)
		assert.Equal(t, "small", string(raw), "no pattern: regular")
		content, err := srv2.File("u/r", "main", "large.txt")
		require.NoError(t, err)
		assert.Len(t, content, 100)
		attrs, err := srv2.File("u/r", "main", ".gitattributes")
		require.NoError(t, err)
		assert.Equal(t, "/large.txt filter=lfs diff=lfs merge=lfs -text\n", string(attrs))
	})
	t.Run("permissions", func(t *testing.T) {
		_, err := srv.Push(w.bob, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"x": []byte("x")}})
		assert.Error(t, err)
		_, err = srv.Push(w.carol, "acme/secret", "main", hubtest.Change{Files: map[string][]byte{"x": []byte("x")}})
		assert.Error(t, err, "read members cannot push")
		_, err = srv.OpenPR(w.bob, "acme/secret", "Sneaky", "", hubtest.Change{})
		assert.Error(t, err, "bob cannot see the repo")
		_, err = srv.Comment(w.alice, "alice/tiny", 42, "hi")
		assert.Error(t, err)
		_, err = srv.Push(w.alice, "alice/nope", "main", hubtest.Change{})
		assert.Error(t, err)
		_, err = srv.Push(w.alice, "datasets/alice/tiny", "main", hubtest.Change{})
		assert.Error(t, err, "wrong type")
	})
	t.Run("draft pr published by a status change", func(t *testing.T) {
		resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/discussions", w.bob.Token, map[string]any{"title": "Draft PR", "pullRequest": true})
		require.Equal(t, http.StatusOK, resp.status)
		var created struct{ Num int }
		resp.json(t, &created)
		require.NoError(t, srv.SetStatus(w.bob, "alice/tiny", created.Num, hubtest.StatusOpen))
		d, _ := srv.Discussion("alice/tiny", created.Num)
		assert.Equal(t, hubtest.StatusOpen, d.Status)
	})
	t.Run("comment helpers", func(t *testing.T) {
		num, err := srv.OpenDiscussion(w.bob, "alice/tiny", "Helpers", "")
		require.NoError(t, err)
		id, err := srv.Comment(w.bob, "alice/tiny", num, "first")
		require.NoError(t, err)
		require.NoError(t, srv.EditComment(w.bob, "alice/tiny", num, id, "edited"))
		assert.Error(t, srv.EditComment(w.alice, "alice/tiny", num, id, "not mine"))
		require.NoError(t, srv.HideComment(w.alice, "alice/tiny", num, id))
		d, _ := srv.Discussion("alice/tiny", num)
		require.Len(t, d.Events, 1)
		assert.True(t, d.Events[0].Hidden)
		assert.True(t, d.Events[0].Edited)
		assert.Empty(t, d.Events[0].Content)
	})
	_, ok := srv.Discussion("alice/tiny", 999)
	assert.False(t, ok)
	_, ok = srv.Ref("alice/tiny", "nope")
	assert.False(t, ok)
	_, err := srv.LFSObject("nothex")
	assert.Error(t, err)
	_, err = srv.LFSObject(strings.Repeat("0", 64))
	assert.Error(t, err)
	path, ok := srv.LFSObjectPath(sha256Hex(w.weights))
	require.True(t, ok)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, w.weights, data)
}

func TestListenOnAllInterfaces(t *testing.T) {
	srv, err := hubtest.New(hubtest.Options{Addr: ":0", CDNAddr: "0.0.0.0:0"})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, srv.URL)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, srv.CDNURL)
	resp := call(t, http.MethodGet, srv.URL+"/api/models", "", nil)
	assert.Equal(t, http.StatusOK, resp.status)
}
