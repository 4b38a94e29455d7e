package bot

import (
	"fmt"
	"syscall"
)

// checkStoreFS refuses a data dir on a FUSE or network file system.
func checkStoreFS(dir string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("check the file system of the data dir %s: %w", dir, err)
	}
	if fs, ok := remoteFS[int64(st.Type)&0xffffffff]; ok {
		return storeFSError(dir, fs)
	}
	return nil
}
