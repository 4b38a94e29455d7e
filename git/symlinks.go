package git

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// neutraliseSymlinks makes every symbolic link of the work tree under root
// that does not lead to an existing path inside the tree (outside .git) a
// regular file holding the link's target text as the tree records it, which
// is how git itself checks out links where it cannot make them
// (core.symlinks=false). Repo content is untrusted: a README.md linking to
// /etc/passwd must not make an action read and publish a file of the host.
// Links inside the tree stay.
func neutraliseSymlinks(root string, tree *object.Tree) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", root, err)
	}
	gitDir := filepath.Join(realRoot, ".git")
	// Replacing a link may leave another link that went through it
	// dangling, so repeat until a pass changes nothing. Each pass removes
	// links, so this ends.
	for {
		var bad []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p == filepath.Join(root, ".git") {
				return filepath.SkipDir
			}
			if d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			target, err := filepath.EvalSymlinks(p)
			if err != nil || !within(realRoot, target) || within(gitDir, target) {
				bad = append(bad, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("check symbolic links: %w", err)
		}
		if len(bad) == 0 {
			return nil
		}
		for _, p := range bad {
			if err := replaceLink(root, p, tree); err != nil {
				return err
			}
		}
	}
}

// replaceLink turns the link at p into a file holding its target text, read
// from the tree: go-git may have rewritten an absolute target on disk.
func replaceLink(root, p string, tree *object.Tree) error {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return fmt.Errorf("replace link %s: %w", p, err)
	}
	f, err := tree.File(filepath.ToSlash(rel))
	if err != nil {
		return fmt.Errorf("replace link %s: read its target: %w", rel, err)
	}
	target, err := f.Contents()
	if err != nil {
		return fmt.Errorf("replace link %s: read its target: %w", rel, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("replace link %s: %w", p, err)
	}
	// O_EXCL: never write through whatever might appear at p meanwhile.
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("replace link %s: %w", p, err)
	}
	_, err = out.WriteString(target)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("replace link %s: %w", p, err)
	}
	return nil
}

// within reports whether path p is dir or below it. Both are clean and
// absolute.
func within(dir, p string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}
