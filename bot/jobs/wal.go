package jobs

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// walSyncer makes committed transactions durable. The database runs with
// synchronous=NORMAL, so that the workers' many small writes do not each
// wait for the disk; a delivery, though, must be on disk before the Hub is
// answered, so the intake syncs the write-ahead log after each of its
// commits. One fsync covers the whole batch, and everything committed
// before it.
type walSyncer struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func (w *walSyncer) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	// SQLite may delete and recreate the log (it does when the last
	// connection closes): make sure the file held is the one on disk.
	st, err := os.Stat(w.path)
	if err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	if w.f != nil {
		if held, err := w.f.Stat(); err != nil || !sameFile(held, st) {
			w.f.Close()
			w.f = nil
		}
	}
	if w.f == nil {
		if w.f, err = os.Open(w.path); err != nil {
			return fmt.Errorf("sync write-ahead log: %w", err)
		}
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	return nil
}

func (w *walSyncer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

func sameFile(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 {
		return os.SameFile(a, b)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
