package git_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/git"
	"github.com/hubbot/hubbot/hubclient"
)

func TestCloseRemovesTheJobDirectory(t *testing.T) {
	h := newHub(t)
	repo := hubclient.Repo{ID: "alice/close"}
	sha := h.createRepo(repo, false, map[string]string{"a.txt": "a"})
	ws := newWorkspaces(t)
	co, err := ws.Checkout(t.Context(), request(h, repo, "refs/heads/main", sha))
	require.NoError(t, err)

	// What a command may leave behind: read-only directories included.
	ro := filepath.Join(co.Dir, "out", "ro")
	require.NoError(t, os.MkdirAll(ro, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ro, "f"), []byte("x"), 0o444))
	require.NoError(t, os.Chmod(ro, 0o555))
	require.NoError(t, os.WriteFile(filepath.Join(co.TempDir, "cache"), []byte("x"), 0o644))

	require.NoError(t, co.Close())
	assert.NoDirExists(t, filepath.Dir(co.Dir))
	assert.Empty(t, leftovers(t, ws))
	assert.NoError(t, co.Close(), "closing twice is fine")
}

func TestSweep(t *testing.T) {
	h := newHub(t)
	repo := hubclient.Repo{ID: "alice/sweep"}
	sha := h.createRepo(repo, false, map[string]string{"a.txt": "a"})
	ws := newWorkspaces(t)

	live, err := ws.Checkout(t.Context(), request(h, repo, "refs/heads/main", sha))
	require.NoError(t, err)
	defer live.Close()

	// Leftovers of a crashed process: a job directory whose lock nobody
	// holds, one that never got its lock file, with a read-only corner,
	// and a stray file.
	crashed := filepath.Join(ws.Root(), "job-1-123")
	require.NoError(t, os.MkdirAll(filepath.Join(crashed, "repo", ".git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(crashed, ".lock"), nil, 0o600))
	unlocked := filepath.Join(ws.Root(), "job-2-456", "repo", "ro")
	require.NoError(t, os.MkdirAll(unlocked, 0o755))
	require.NoError(t, os.Chmod(unlocked, 0o555))
	require.NoError(t, os.WriteFile(filepath.Join(ws.Root(), "stray"), []byte("x"), 0o644))

	removed, err := ws.Sweep()
	require.NoError(t, err)
	assert.Equal(t, 2, removed)
	assert.Equal(t, []string{filepath.Base(filepath.Dir(live.Dir))}, leftovers(t, ws), "the live checkout stays")
	assert.FileExists(t, filepath.Join(live.Dir, "a.txt"))

	// Another Workspaces on the same root (another process) sees it in use too.
	other, err := git.New(ws.Root())
	require.NoError(t, err)
	removed, err = other.Sweep()
	require.NoError(t, err)
	assert.Zero(t, removed)

	require.NoError(t, live.Close())
	removed, err = ws.Sweep()
	require.NoError(t, err)
	assert.Zero(t, removed)
	assert.Empty(t, leftovers(t, ws))
}

func TestNewRejectsEmptyRoot(t *testing.T) {
	_, err := git.New("")
	assert.Error(t, err)
}
