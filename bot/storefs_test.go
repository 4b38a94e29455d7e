package bot

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

func TestStoreFS(t *testing.T) {
	tests := []struct {
		magic int64
		fs    string
	}{
		{0x65735546, "FUSE"},
		{0x6969, "NFS"},
		{0xfe534d42, "SMB2"},
		{0xef53, ""},     // ext4
		{0x01021994, ""}, // tmpfs
		{0x794c7630, ""}, // overlayfs
	}
	for _, tt := range tests {
		fs, ok := remoteFS[tt.magic]
		assert.Equal(t, tt.fs != "", ok, "%#x", tt.magic)
		assert.Equal(t, tt.fs, fs)
	}
	err := storeFSError("/data", "FUSE")
	assert.ErrorContains(t, err, "/data is on a FUSE file system")
	assert.ErrorContains(t, err, "HUBBOT_DATABASE_URL")

	require.NoError(t, checkStoreFS(t.TempDir()), "a test's temp dir is a local disk")
	assert.ErrorContains(t, checkStoreFS(t.TempDir()+"/missing"), "check the file system")
}

// TestScratchDirKeepsCheckoutsOffTheDataDir runs a job with store.scratch_dir
// set: its checkout and command home are there, nothing is in the data dir.
func TestScratchDirKeepsCheckoutsOffTheDataDir(t *testing.T) {
	scratch := t.TempDir()
	h := newHarness(t, fmt.Sprintf("[store]\nscratch_dir = %q\n", scratch)+runConfig)
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	list := h.waitJobs(1)
	assert.Equal(t, jobs.StateSucceeded, list[0].State, list[0].Summary)
	for _, d := range []string{"workspaces", "tmp"} {
		assert.DirExists(t, filepath.Join(scratch, d))
		assert.NoDirExists(t, filepath.Join(h.bot.cfg.Store.DataDir, d))
	}

	a := scratchDir(config.Store{DataDir: "/srv/one"})
	assert.Equal(t, a, scratchDir(config.Store{DataDir: "/srv/one"}), "the same at every start")
	assert.NotEqual(t, a, scratchDir(config.Store{DataDir: "/srv/two"}), "one per data dir")
	assert.Equal(t, "/fast", scratchDir(config.Store{DataDir: "/srv/one", ScratchDir: "/fast"}))
}
