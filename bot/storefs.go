package bot

// SQLite needs a local disk: on FUSE and network file systems (a Space's
// storage bucket mounted as a volume, NFS, SMB) fsync may not reach the
// storage and locks do not hold across mounts, so a crash or a second
// process corrupts the store. The bot refuses to open its SQLite store
// there and points to Postgres.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hubbot/hubbot/bot/config"
)

// remoteFS names the file systems, by their statfs magic number, on which
// the SQLite store is unsafe.
var remoteFS = map[int64]string{
	0x65735546: "FUSE",
	0x6969:     "NFS",
	0x517b:     "SMB",
	0xff534d42: "CIFS",
	0xfe534d42: "SMB2",
	0x00c36400: "Ceph",
	0x01021997: "9P",
	0x5346414f: "AFS",
	0x73757245: "Coda",
	0x47504653: "GPFS",
	0x0bd00bd0: "Lustre",
}

// storeFSError explains why the data dir cannot hold the SQLite store.
func storeFSError(dir, fs string) error {
	return fmt.Errorf("the data dir %s is on a %s file system, where SQLite is unsafe (fsync may not reach the storage and locks do not hold across mounts): "+
		"put HUBBOT_DATA on a local disk, or set HUBBOT_DATABASE_URL to a Postgres database (on a Space, a storage bucket volume is such a file system)", dir, fs)
}

// scratchDir is where checkouts and conversions happen: store.scratch_dir,
// else a directory of the system's temp dir named after the data dir, so it
// is the same at every start (leftovers are swept) and two bots on one
// machine never sweep each other's.
func scratchDir(s config.Store) string {
	if s.ScratchDir != "" {
		return s.ScratchDir
	}
	dir, err := filepath.Abs(s.DataDir)
	if err != nil {
		dir = s.DataDir
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "hubbot-"+hex.EncodeToString(sum[:6]))
}
