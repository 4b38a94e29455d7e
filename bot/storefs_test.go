package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
