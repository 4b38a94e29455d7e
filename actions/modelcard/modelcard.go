// Package modelcard is the model card checker: it reads README.md and the
// list of the repo's files at one revision and reports what would make the
// Hub reject the push or show the model's page wrong (errors), likely
// mistakes (warnings) and improvements (suggestions), each with its line
// and column in README.md.
//
// Check is the pure core, used by the action (bot runs) and by RunCLI
// (`hubbot check DIR`). It reads no file contents besides README.md: file
// sizes come from LFS pointers, so a repo with terabytes of weights costs
// the same as an empty one.
//
// The card is untrusted input. The YAML block is bounded before parsing
// (size, depth, keys per mapping, empty values) and while building the tree (alias
// expansion); see the limits in yamltree.go. Values from the card reach a
// report only through sanitize, and the markdown renderer escapes every
// cell.
package modelcard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/lfs"
)

// Action is the `modelcard` action.
type Action struct {
	opts Options
}

// New builds the action from its `[actions.with]` options.
func New(raw actions.Options) (*Action, error) {
	opts, err := DecodeOptions(raw)
	if err != nil {
		return nil, err
	}
	return &Action{opts: opts}, nil
}

// Run checks the card in ws. Findings are the Result; an error means the
// workspace could not be read.
func (a *Action) Run(ctx context.Context, ws *actions.Workspace, log io.Writer) (actions.Result, error) {
	readme, files, err := Load(ctx, ws)
	if err != nil {
		return actions.Result{}, err
	}
	// The bot names the repo's type in the workspace; a folder with no
	// repo (or an unknown type) is detected from the card.
	typ, err := ParseRepoType(ws.Repo.Type)
	if err != nil {
		typ = ""
	}
	fmt.Fprintf(log, "modelcard: checking README.md (%d bytes) against %d files\n", len(readme), len(files))
	rep := CheckRepo(readme, files, typ, a.opts)
	fmt.Fprintf(log, "modelcard: applied the %s card rules\n", rep.Type.noun())
	fmt.Fprintf(log, "modelcard: %s\n", plainSummary(rep))
	return rep.Result(), nil
}

// Load reads what Check needs from a workspace: README.md's content (nil
// when there is none, or when it is a link, an LFS pointer or too large)
// and the list of files with their real sizes. Only files small enough to
// be LFS pointers are opened, and only their first bytes.
func Load(ctx context.Context, ws *actions.Workspace) ([]byte, []File, error) {
	info, err := os.Stat(ws.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read workspace %s: %w", ws.Dir, err)
	}
	if !info.IsDir() {
		return nil, nil, fmt.Errorf("read workspace %s: not a directory", ws.Dir)
	}
	paths, err := ws.Files()
	if err != nil {
		return nil, nil, fmt.Errorf("list files of %s: %w", ws.Dir, err)
	}
	files := make([]File, 0, len(paths)+1)
	for i, rel := range paths {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, fmt.Errorf("list files of %s: %w", ws.Dir, err)
			}
		}
		st, err := os.Lstat(ws.Path(rel))
		if err != nil {
			return nil, nil, fmt.Errorf("stat %s: %w", rel, err)
		}
		f := File{Path: rel, Size: st.Size()}
		if st.Size() <= lfs.MaxPointerSize {
			p, isPointer, err := ws.Pointer(rel)
			if err != nil {
				return nil, nil, fmt.Errorf("read %s: %w", rel, err)
			}
			if isPointer {
				f.Size, f.LFS = p.Size, true
			}
		}
		files = append(files, f)
	}

	// README.md exactly, at the root, as the Hub reads it. Workspace.Files
	// lists regular files only; a link is noted, never followed, since a
	// hostile repo could point it anywhere on this machine.
	st, err := os.Lstat(ws.Path("README.md"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, files, nil
	case err != nil:
		return nil, nil, fmt.Errorf("stat README.md: %w", err)
	case st.Mode()&fs.ModeSymlink != 0:
		return nil, append(files, File{Path: "README.md", Symlink: true}), nil
	case !st.Mode().IsRegular():
		return nil, files, nil
	}
	for _, f := range files {
		if f.Path == "README.md" && (f.LFS || f.Size > MaxReadmeBytes) {
			return nil, files, nil
		}
	}
	readme, err := readLimited(ws.Path("README.md"), MaxReadmeBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("read README.md: %w", err)
	}
	return readme, files, nil
}

// readLimited reads at most limit+1 bytes, so a file that grew after it was
// listed is still bounded (and reported as too large by Check).
func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

var _ actions.Action = (*Action)(nil)
