package run

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/git"
)

// hashLimit is the size up to which an output candidate is compared by
// content; larger files are compared by size, time and mode.
const hashLimit = 1 << 20

// fileState identifies a file's version well enough to tell whether the
// command changed it.
type fileState string

// snapshot records the state of every file of the work tree that matches the
// outputs, before the command runs: only what the command creates or
// changes is proposed, never an untouched file of the checkout (an LFS
// pointer proposed as content would replace the weights with their pointer).
func (a *Action) snapshot(root string) (map[string]fileState, error) {
	states := map[string]fileState{}
	err := a.walkOutputs(root, func(rel, p string, d fs.DirEntry) error {
		st, err := stateOf(p, d)
		if err != nil {
			return err
		}
		states[rel] = st
		return nil
	})
	return states, err
}

// collect lists the files matching the outputs that the command created or
// changed. Links are followed only to regular files inside the work tree
// (outside .git); a link elsewhere, or a special file, is refused and
// named in refused.
func (a *Action) collect(root string, before map[string]fileState) (files []actions.ProposedFile, refused []string, err error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, nil, err
	}
	gitDir := filepath.Join(realRoot, ".git")
	err = a.walkOutputs(root, func(rel, p string, d fs.DirEntry) error {
		st, err := stateOf(p, d)
		if err != nil {
			return err
		}
		if old, ok := before[rel]; ok && old == st {
			return nil
		}
		local := p
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := filepath.EvalSymlinks(p)
			if err != nil || !within(realRoot, target) || within(gitDir, target) {
				refused = append(refused, fmt.Sprintf("%s is a link out of the work tree", codeSpan(rel)))
				return nil
			}
			fi, err := os.Stat(target)
			if err != nil {
				return err
			}
			if fi.IsDir() {
				return nil // a directory is not a file to propose
			}
			if !fi.Mode().IsRegular() {
				refused = append(refused, fmt.Sprintf("%s is not a regular file", codeSpan(rel)))
				return nil
			}
			local = target
		case !d.Type().IsRegular():
			refused = append(refused, fmt.Sprintf("%s is not a regular file", codeSpan(rel)))
			return nil
		}
		files = append(files, actions.ProposedFile{PathInRepo: rel, LocalPath: local})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(files, func(x, y actions.ProposedFile) int { return strings.Compare(x.PathInRepo, y.PathInRepo) })
	return files, refused, nil
}

// walkOutputs calls fn for every entry of the tree under root, other than
// directories and what is in .git, whose repo-relative path matches the
// outputs. It does not follow links.
func (a *Action) walkOutputs(root string, fn func(rel, p string, d fs.DirEntry) error) error {
	gitDir := filepath.Join(root, ".git")
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == gitDir {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !git.MatchAny(a.outputs, rel) {
			return nil
		}
		return fn(rel, p, d)
	})
}

// stateOf is a link's target, a small file's content hash, or a large
// file's size, modification time and mode.
func stateOf(p string, d fs.DirEntry) (fileState, error) {
	if d.Type()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		return fileState("link:" + target), err
	}
	fi, err := d.Info()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() || fi.Size() > hashLimit {
		return fileState(fmt.Sprintf("stat:%d:%d:%s", fi.Size(), fi.ModTime().UnixNano(), fi.Mode())), nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, hashLimit+1)); err != nil {
		return "", err
	}
	return fileState("sum:" + hex.EncodeToString(h.Sum(nil))), nil
}

// proposal is the pull request made of the output files.
func (a *Action) proposal(ws *actions.Workspace, shown string, files []actions.ProposedFile) *actions.Proposal {
	title := a.title
	if title == "" {
		title = "Outputs of " + shown
		if r := []rune(title); len(r) > 200 {
			title = string(r[:199]) + "…"
		}
	}
	desc := a.description
	if desc == "" {
		var b strings.Builder
		fmt.Fprintf(&b, "Files written by %s", codeSpan(shown))
		if ws.SHA != "" {
			fmt.Fprintf(&b, " on commit %s", codeSpan(ws.SHA))
		}
		b.WriteString(":\n\n")
		for i, f := range files {
			if i == 50 {
				fmt.Fprintf(&b, "- and %d more\n", len(files)-50)
				break
			}
			fmt.Fprintf(&b, "- %s\n", codeSpan(f.PathInRepo))
		}
		desc = b.String()
	}
	return &actions.Proposal{Title: title, Description: desc, Files: files}
}

// within reports whether the clean absolute path p is dir or below it.
func within(dir, p string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}
