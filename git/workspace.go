// Package git makes the workspaces actions run in: a checkout of one ref of a
// Hub repository at an exact commit, fetched with go-git over HTTP(S).
//
// A checkout is shallow (depth 1) and never smudges LFS files: large files
// stay pointer files, and Content downloads the real bytes of the few an
// action asks for. Each checkout lives in its own directory under the root
// given to New, holds an advisory lock while it is in use, and is removed by
// Close; Sweep removes what a crashed process left behind.
//
// The package also answers which paths an event changed (ChangedPaths, from
// git or from the Hub's compare API) and matches them against the `paths`
// globs of config.toml (MatchPaths).
package git

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Names inside a job directory. The lock file sits next to the work tree, not
// in it, so actions never see it.
const (
	lockName = ".lock"
	repoName = "repo"
	tmpName  = "tmp"
)

// Workspaces makes and removes checkouts under one root directory, normally
// <data dir>/workspaces. It holds no mutable state and is safe for concurrent
// use; several processes may share a root.
type Workspaces struct {
	root string
}

// New returns the workspaces rooted at root, which is created when missing.
func New(root string) (*Workspaces, error) {
	if root == "" {
		return nil, errors.New("workspaces: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("workspaces: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("workspaces: create root: %w", err)
	}
	return &Workspaces{root: abs}, nil
}

// Root returns the absolute root directory.
func (w *Workspaces) Root() string { return w.root }

// Sweep removes the job directories of checkouts that are not in use: those
// a crashed process left behind. A checkout in use holds the lock of its
// directory, so Sweep leaves the live checkouts of other processes sharing
// the root alone. Call it at start-up; it returns how many directories it
// removed.
func (w *Workspaces) Sweep() (int, error) {
	entries, err := os.ReadDir(w.root)
	if err != nil {
		return 0, fmt.Errorf("sweep workspaces in %s: %w", w.root, err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		p := filepath.Join(w.root, e.Name())
		if !e.IsDir() {
			// Nothing but job directories belongs here; a stray file is
			// a leftover too.
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		lock, err := lockDir(p)
		if errors.Is(err, errLocked) || errors.Is(err, errGone) {
			continue // in use, or removed under us by another sweeper
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = removeAll(p)
		lock.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
			continue
		}
		removed++
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("sweep workspaces in %s: %w", w.root, err)
	}
	return removed, nil
}

// create makes a fresh job directory named after the job and locks it. It
// returns the directory and its lock, which the caller closes after removing
// the directory.
func (w *Workspaces) create(jobID string) (string, *os.File, error) {
	if err := os.MkdirAll(w.root, 0o700); err != nil {
		return "", nil, fmt.Errorf("create workspace: %w", err)
	}
	// A sweeper in another process may remove the directory between its
	// creation and its lock; try again with a new name then.
	for range 5 {
		dir, err := os.MkdirTemp(w.root, safeName(jobID)+"-")
		if err != nil {
			return "", nil, fmt.Errorf("create workspace: %w", err)
		}
		lock, err := lockDir(dir)
		if errors.Is(err, errLocked) || errors.Is(err, errGone) {
			continue
		}
		if err != nil {
			removeAll(dir)
			return "", nil, fmt.Errorf("create workspace: %w", err)
		}
		for _, sub := range []string{repoName, tmpName} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
				removeAll(dir)
				lock.Close()
				return "", nil, fmt.Errorf("create workspace: %w", err)
			}
		}
		return dir, lock, nil
	}
	return "", nil, errors.New("create workspace: the directory kept disappearing (another process sweeping the same root?)")
}

var (
	errLocked = errors.New("workspace in use")
	errGone   = errors.New("workspace removed")
)

// lockDir takes the exclusive lock of a job directory without waiting. It
// fails with errLocked when another owner holds it, and with errGone when the
// directory or its lock file was removed before the lock was taken (the
// remover held the lock, so whatever we locked is no longer the directory's).
func lockDir(dir string) (*os.File, error) {
	p := filepath.Join(dir, lockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errGone
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		return nil, err
	}
	// Whoever removes a directory holds its lock while doing so; if the
	// path no longer names the file we locked, we lost that race.
	held, err1 := f.Stat()
	now, err2 := os.Stat(p)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		f.Close()
		return nil, errGone
	}
	return f, nil
}

// safeName keeps a job id readable in a directory name without letting it
// name another directory.
func safeName(id string) string {
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	s := strings.Trim(b.String(), ".")
	if s == "" {
		s = "job"
	}
	return s
}

// removeAll removes dir and everything below it, also what a command made
// read-only: os.RemoveAll cannot empty a directory without write permission.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
