// Package actions defines what a unit of CI work sees and returns.
//
// An action gets a Workspace (a tree checked out at one revision, plus a way
// to fetch the real content of LFS pointer files) and its decoded options, and
// returns a Result. It never posts to the Hub: the bot publishes results
// (bot/publish.go), and actions/builtin says which actions exist. This
// keeps every action runnable on a local folder (`hubbot check`, `hubbot convert`)
// and testable without a server.
package actions

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/hubbot/hubbot/lfs"
)

// Action is one configured unit of work, built once from config.toml.
type Action interface {
	// Run does the work on ws and writes progress to log, which is stored as
	// the job's log. An error means the action could not do its job (a
	// failure to fetch, a bug); findings in the repo are a Result with
	// Conclusion Failure, not an error.
	Run(ctx context.Context, ws *Workspace, log io.Writer) (Result, error)
}

// Repo names a Hub repository.
type Repo struct {
	ID   string // "namespace/name"
	Type string // "model", "dataset" or "space"
}

// Workspace is a tree checked out at one revision.
type Workspace struct {
	Dir  string // root of the checkout; LFS files are pointer files
	Repo Repo   // empty for a local folder
	Ref  string // "refs/heads/main", "refs/pr/3", "refs/tags/v1"; empty for a local folder
	SHA  string // the commit checked out; empty for a local folder

	// Changed lists the paths changed by the event, relative to Dir with
	// forward slashes; nil when unknown (a schedule, a command, a new ref).
	Changed []string

	// Content fetches the real bytes of a file whose checkout holds an LFS
	// pointer. Nil for a local folder, where files hold their content.
	Content ContentFetcher
}

// ContentFetcher downloads the real content of a file at the workspace's
// revision, checked against its LFS pointer.
type ContentFetcher interface {
	Fetch(ctx context.Context, path string, p lfs.Pointer, w io.Writer) error
}

// Path returns the local path of a repo-relative path.
func (ws *Workspace) Path(rel string) string {
	return filepath.Join(ws.Dir, filepath.FromSlash(rel))
}

// Pointer reports whether the checked-out file at rel is an LFS pointer, and
// which content it stands for.
func (ws *Workspace) Pointer(rel string) (lfs.Pointer, bool, error) {
	f, err := os.Open(ws.Path(rel))
	if err != nil {
		return lfs.Pointer{}, false, err
	}
	defer f.Close()
	buf := make([]byte, lfs.MaxPointerSize+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return lfs.Pointer{}, false, err
	}
	p, ok := lfs.Parse(buf[:n])
	return p, ok, nil
}

// Materialize makes sure the file at rel holds its real content, downloading
// it when the checkout has an LFS pointer, and returns its local path. The
// download goes to a temporary file that replaces the pointer only once it is
// complete and checked, so a failure never leaves a half-written file.
func (ws *Workspace) Materialize(ctx context.Context, rel string) (string, error) {
	local := ws.Path(rel)
	p, isPointer, err := ws.Pointer(rel)
	if err != nil || !isPointer || ws.Content == nil {
		return local, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(local), ".hubbot-download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := ws.Content.Fetch(ctx, rel, p, tmp); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return local, os.Rename(tmp.Name(), local)
}

// Files lists every regular file in the workspace, relative to Dir with
// forward slashes, skipping the .git directory.
func (ws *Workspace) Files() ([]string, error) {
	var files []string
	err := filepath.WalkDir(ws.Dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(ws.Dir, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

// Conclusion is the outcome of an action that ran.
type Conclusion string

// Conclusions. A job whose action returns an error is failed, not concluded.
const (
	Success Conclusion = "success" // nothing wrong found, or the work was done
	Failure Conclusion = "failure" // the action found problems in the repo
	Neutral Conclusion = "neutral" // informational: nothing to say either way
	Skipped Conclusion = "skipped" // nothing to do, with the reason in Summary
)

// Result is what an action hands back for publishing.
type Result struct {
	Conclusion Conclusion

	// Summary is one line of markdown: the verdict.
	Summary string
	// Details is markdown shown under the summary (tables, findings). The
	// report layer collapses and truncates it as the Hub requires.
	Details string

	// Fingerprint identifies the findings, so a report on a branch is only
	// updated when they change. Empty means "compare Summary and Details".
	Fingerprint string

	// Proposal, when set, is a set of files to offer as a new pull request.
	Proposal *Proposal
}

// Proposal is a set of files an action wants to offer as one pull request.
type Proposal struct {
	Title       string
	Description string // markdown; the publisher adds its hidden marker
	Files       []ProposedFile
}

// ProposedFile is one file of a Proposal.
type ProposedFile struct {
	PathInRepo string  // forward slashes, relative to the repo root
	LocalPath  string  // where the content is on disk; or
	Stream     *Stream // the content, produced on demand
}
