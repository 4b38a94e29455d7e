package git_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient"
)

// serverComparer answers like the Hub's compare API, from the server's bare
// repository, and counts its calls.
type serverComparer struct {
	srv *gitServer
	err error

	mu    sync.Mutex
	calls []string
}

func (c *serverComparer) Compare(ctx context.Context, repo hubclient.Repo, base, head string) ([]hubclient.ChangedFile, error) {
	c.mu.Lock()
	c.calls = append(c.calls, repo.String()+" "+base+".."+head)
	c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	var files []hubclient.ChangedFile
	for _, p := range c.srv.diffNames(repo.String(), base, head) {
		files = append(files, hubclient.ChangedFile{Status: "M", Path: p})
	}
	return files, nil
}

func (c *serverComparer) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func TestChangedPaths(t *testing.T) {
	for _, allowSHA := range []bool{false, true} {
		name := "server refuses ids"
		if allowSHA {
			name = "server sends reachable ids"
		}
		t.Run(name, func(t *testing.T) {
			srv := newGitServer(t, serverOptions{allowSHA: allowSHA})
			repo := hubclient.Repo{ID: "alice/changes"}
			srv.createRepo(repo.String(), "")
			_, pointer := srv.addLFS([]byte("weights v1"))
			_, pointer2 := srv.addLFS([]byte("weights v2"))
			base := srv.commit(repo.String(), "refs/heads/main", "", map[string]file{
				"README.md":         {content: "# v1\n"},
				"model.safetensors": {content: pointer},
				"docs/a.md":         {content: "a\n"},
				"docs/old-name.md":  {content: "renamed\n"},
				"keep.txt":          {content: "same\n"},
			})
			middle := srv.commit(repo.String(), "refs/heads/main", base, map[string]file{
				"docs/a.md": {content: "a, edited\n"},
			})
			head := srv.commit(repo.String(), "refs/heads/main", middle, map[string]file{
				"README.md":         {content: "# v2\n"},
				"model.safetensors": {content: pointer2},
				"docs/a.md":         {deleted: true},
				"docs/old-name.md":  {deleted: true},
				"docs/new-name.md":  {content: "renamed\n"},
				"src/new.py":        {content: "print(1)\n"},
			})
			pr := srv.commit(repo.String(), "refs/pr/1", head, map[string]file{
				"config.json": {content: "{}\n"},
			})

			tests := []struct {
				name string
				ref  string
				sha  string
				old  string
				want []string
			}{
				{"one push", "refs/heads/main", head, middle,
					[]string{"README.md", "docs/a.md", "docs/new-name.md", "docs/old-name.md", "model.safetensors", "src/new.py"}},
				{"two pushes", "refs/heads/main", head, base,
					[]string{"README.md", "docs/a.md", "docs/new-name.md", "docs/old-name.md", "model.safetensors", "src/new.py"}},
				{"pull request against its base", "refs/pr/1", pr, head, []string{"config.json"}},
				{"same commit", "refs/heads/main", head, head, []string{}},
				{"new ref", "refs/heads/main", head, "", nil},
				{"new ref as zeros", "refs/heads/main", head, strings.Repeat("0", 40), nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					co, err := newWorkspaces(t).Checkout(t.Context(), request(srv, repo, tt.ref, tt.sha))
					require.NoError(t, err)
					defer co.Close()
					cmp := &serverComparer{srv: srv}
					got, err := co.ChangedPaths(t.Context(), tt.old, cmp)
					require.NoError(t, err)
					assert.Equal(t, tt.want, got, "nil (unknown) and empty differ")
					assert.Empty(t, cmp.Calls(), "answered from git")
				})
			}
		})
	}
}

func TestChangedPathsFallsBackToCompare(t *testing.T) {
	srv := newGitServer(t, serverOptions{})
	repo := hubclient.Repo{ID: "alice/forced"}
	srv.createRepo(repo.String(), "")
	root := srv.commit(repo.String(), "refs/heads/main", "", map[string]file{"a.txt": {content: "a"}})
	gone := srv.commit(repo.String(), "refs/heads/main", root, map[string]file{"b.txt": {content: "b"}})
	// A force push: the old head is no longer in the ref's history, so git
	// cannot fetch it, but the Hub still knows it.
	srv.git(srv.bare(repo.String()), "tag", "keep-for-compare", gone)
	head := srv.commit(repo.String(), "refs/heads/main", root, map[string]file{"c.txt": {content: "c"}})

	co, err := newWorkspaces(t).Checkout(t.Context(), request(srv, repo, "refs/heads/main", head))
	require.NoError(t, err)
	defer co.Close()

	cmp := &serverComparer{srv: srv}
	got, err := co.ChangedPaths(t.Context(), gone, cmp)
	require.NoError(t, err)
	assert.Equal(t, []string{"b.txt", "c.txt"}, got)
	assert.Equal(t, []string{"alice/forced " + gone + ".." + head}, cmp.Calls())

	_, err = co.ChangedPaths(t.Context(), gone, nil)
	require.Error(t, err, "no compare API to fall back on")
	assert.Contains(t, err.Error(), "not in the checkout")

	_, err = co.ChangedPaths(t.Context(), gone, &serverComparer{srv: srv, err: errors.New("hub down")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hub down")

	_, err = co.ChangedPaths(t.Context(), "not-a-sha", cmp)
	assert.ErrorContains(t, err, "invalid commit")
}

func TestChangedPathsCancelled(t *testing.T) {
	srv := newGitServer(t, serverOptions{})
	repo := hubclient.Repo{ID: "alice/cancel"}
	srv.createRepo(repo.String(), "")
	old := srv.commit(repo.String(), "refs/heads/main", "", map[string]file{"a.txt": {content: "a"}})
	head := srv.commit(repo.String(), "refs/heads/main", old, map[string]file{"a.txt": {content: "b"}})
	co, err := newWorkspaces(t).Checkout(t.Context(), request(srv, repo, "refs/heads/main", head))
	require.NoError(t, err)
	defer co.Close()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	cmp := &serverComparer{srv: srv}
	_, err = co.ChangedPaths(ctx, old, cmp)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, cmp.Calls(), "a cancelled job does not fall back")
}
