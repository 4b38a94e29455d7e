//go:build !linux

package bot

// checkStoreFS knows file system types on Linux only, where the bot is
// deployed; elsewhere it accepts any data dir.
func checkStoreFS(string) error { return nil }
