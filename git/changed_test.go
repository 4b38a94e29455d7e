package git_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/git"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// countingComparer passes calls to the Hub's compare API and counts them.
type countingComparer struct {
	c git.Comparer

	mu    sync.Mutex
	calls []string
}

func (c *countingComparer) Compare(ctx context.Context, repo hubclient.Repo, base, head string) ([]hubclient.ChangedFile, error) {
	c.mu.Lock()
	c.calls = append(c.calls, repo.String()+" "+base+".."+head)
	c.mu.Unlock()
	return c.c.Compare(ctx, repo, base, head)
}

func (c *countingComparer) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func TestChangedPaths(t *testing.T) {
	for _, policy := range fetchPolicies {
		t.Run(string(policy), func(t *testing.T) {
			h := newHub(t)
			repo := hubclient.Repo{ID: "alice/changes"}
			base := h.createRepo(repo, false, map[string]string{
				"README.md":         "# v1\n",
				"model.safetensors": "weights v1",
				"docs/a.md":         "a\n",
				"docs/old-name.md":  "renamed\n",
				"keep.txt":          "same\n",
			}, "*.safetensors")
			h.setFetchPolicy(repo, policy)
			middle := h.push(repo, "main", map[string]string{"docs/a.md": "a, edited\n"})
			head := h.push(repo, "main", map[string]string{
				"README.md":         "# v2\n",
				"model.safetensors": "weights v2",
				"docs/new-name.md":  "renamed\n",
				"src/new.py":        "print(1)\n",
			}, "docs/a.md", "docs/old-name.md")
			pr := h.openPR(repo, map[string]string{"config.json": "{}\n"})

			all := []string{"README.md", "docs/a.md", "docs/new-name.md", "docs/old-name.md", "model.safetensors", "src/new.py"}
			tests := []struct {
				name string
				ref  string
				sha  string
				old  string
				want []string
			}{
				{"one push", "refs/heads/main", head, middle, all},
				{"two pushes", "refs/heads/main", head, base, all},
				{"pull request against its base", pr.Ref, pr.SHA, head, []string{"config.json"}},
				{"same commit", "refs/heads/main", head, head, []string{}},
				{"new ref", "refs/heads/main", head, "", nil},
				{"new ref as zeros", "refs/heads/main", head, strings.Repeat("0", 40), nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					co, err := newWorkspaces(t).Checkout(t.Context(), request(h, repo, tt.ref, tt.sha))
					require.NoError(t, err)
					defer co.Close()
					cmp := &countingComparer{c: h.client("")}
					got, err := co.ChangedPaths(t.Context(), tt.old, cmp)
					require.NoError(t, err)
					assert.Equal(t, tt.want, got, "nil (unknown) and empty differ")
					assert.Empty(t, cmp.Calls(), "answered from git")

					if tt.old != "" && strings.Trim(tt.old, "0") != "" {
						// The Hub's compare API agrees.
						files, err := h.client("").Compare(t.Context(), repo, tt.old, tt.sha)
						require.NoError(t, err)
						fromHub := []string{}
						for _, f := range files {
							fromHub = append(fromHub, f.Path)
						}
						assert.ElementsMatch(t, tt.want, fromHub)
					}
				})
			}
		})
	}
}

func TestChangedPathsFallsBackToCompare(t *testing.T) {
	h := newHub(t)
	repo := hubclient.Repo{ID: "alice/forced"}
	root := h.createRepo(repo, false, map[string]string{"a.txt": "a"})
	h.setFetchPolicy(repo, fetchReachable)
	gone := h.push(repo, "main", map[string]string{"b.txt": "b"})
	// A force push: the old head is no longer in the ref's history, so git
	// cannot fetch it, but the Hub's compare API still knows it.
	head := h.commitCLI(repo, "refs/heads/main", root, map[string]file{"c.txt": {content: "c"}})

	co, err := newWorkspaces(t).Checkout(t.Context(), request(h, repo, "refs/heads/main", head))
	require.NoError(t, err)
	defer co.Close()

	cmp := &countingComparer{c: h.client("")}
	got, err := co.ChangedPaths(t.Context(), gone, cmp)
	require.NoError(t, err)
	assert.Equal(t, []string{"b.txt", "c.txt"}, got)
	assert.Equal(t, []string{"alice/forced " + gone + ".." + head}, cmp.Calls())

	_, err = co.ChangedPaths(t.Context(), gone, nil)
	require.Error(t, err, "no compare API to fall back on")
	assert.Contains(t, err.Error(), "not in the checkout")

	h.srv.Fail(hubtest.Fault{Path: "/api/models/alice/forced/compare/", Status: http.StatusInternalServerError})
	_, err = co.ChangedPaths(t.Context(), gone, h.client(""))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "from the compare API")
	assert.Contains(t, err.Error(), "500")

	_, err = co.ChangedPaths(t.Context(), "not-a-sha", cmp)
	assert.ErrorContains(t, err, "invalid commit")
}

func TestChangedPathsCancelled(t *testing.T) {
	h := newHub(t)
	repo := hubclient.Repo{ID: "alice/cancel"}
	old := h.createRepo(repo, false, map[string]string{"a.txt": "a"})
	head := h.push(repo, "main", map[string]string{"a.txt": "b"})
	co, err := newWorkspaces(t).Checkout(t.Context(), request(h, repo, "refs/heads/main", head))
	require.NoError(t, err)
	defer co.Close()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	cmp := &countingComparer{c: h.client("")}
	_, err = co.ChangedPaths(ctx, old, cmp)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, cmp.Calls(), "a cancelled job does not fall back")
}
