package jobs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWALSyncerFollowsARecreatedLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db-wal")
	require.NoError(t, os.WriteFile(path, []byte("one"), 0o600))
	w := &walSyncer{path: path}
	defer w.close()
	require.NoError(t, w.sync())
	first, err := w.f.Stat()
	require.NoError(t, err)

	// SQLite deletes the log when the last connection closes and creates a
	// new one later: the syncer must not keep syncing the deleted file.
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.WriteFile(path, []byte("two"), 0o600))
	require.NoError(t, w.sync())
	second, err := w.f.Stat()
	require.NoError(t, err)
	assert.False(t, sameFile(first, second))

	require.NoError(t, os.Remove(path))
	assert.Error(t, w.sync(), "no log, no durability: say so")
}

func TestDeliveriesAreSyncedBeforeTheAnswer(t *testing.T) {
	q := startQueue(t, Options{DataDir: t.TempDir()}, Handlers{})
	_, err := q.Record(t.Context(), Delivery{Key: "k", Scope: "repo.content", Action: "update", Repo: "acme/tiny",
		Specs: []Spec{spec("refs/heads/main", "a", "one")}})
	require.NoError(t, err)
	require.NotNil(t, q.wal.f, "the intake synced the write-ahead log")
}
