package hubtest

// This file runs the git CLI on the bare repositories. Every command gets a
// clean environment so that the developer's global git config (signing,
// hooks, filters) and variables such as GIT_DIR never leak into the fake.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const zeroSHA = "0000000000000000000000000000000000000000"

// emptyTreeSHA is git's well-known id of the empty tree.
const emptyTreeSHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

func gitVersion() (string, error) {
	out, err := exec.Command("git", "version").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

type gitRunner struct {
	env    []string
	tmpDir string
}

func newGitRunner(dir string) *gitRunner {
	env := []string{
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"HOME=" + dir,
		"LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0",
		"PATH=" + os.Getenv("PATH"),
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	return &gitRunner{env: env, tmpDir: filepath.Join(dir, "tmp")}
}

// gitError carries the stderr of a failed git command.
type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.args, " "), e.err, strings.TrimSpace(e.stderr))
}

func (e *gitError) Unwrap() error { return e.err }

// run runs git with args in gitDir (a bare repository, or "" for none) and
// returns its stdout.
func (g *gitRunner) run(ctx context.Context, gitDir string, stdin io.Reader, env []string, args ...string) ([]byte, error) {
	full := args
	if gitDir != "" {
		full = append([]string{"--git-dir=" + gitDir}, args...)
	}
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Env = append(append([]string(nil), g.env...), env...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &gitError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

func (g *gitRunner) initBare(ctx context.Context, gitDir string) error {
	if _, err := g.run(ctx, "", nil, nil, "init", "--quiet", "--bare", "--initial-branch=main", gitDir); err != nil {
		return err
	}
	// Serve any reachable sha (go-git fetches a single commit by sha) and
	// accept pushes through http-backend.
	for _, kv := range [][2]string{
		{"uploadpack.allowAnySHA1InWant", "true"},
		{"uploadpack.allowFilter", "true"},
		{"http.receivepack", "true"},
		{"core.logAllRefUpdates", "false"},
		{"gc.auto", "0"},
	} {
		if _, err := g.run(ctx, gitDir, nil, nil, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// hashObject writes a blob and returns its id.
func (g *gitRunner) hashObject(ctx context.Context, gitDir string, content io.Reader) (string, error) {
	out, err := g.run(ctx, gitDir, content, nil, "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// refs returns every ref of the repository with the commit it points at;
// annotated tags are peeled to their commit.
func (g *gitRunner) refs(ctx context.Context, gitDir string) (map[string]string, error) {
	out, err := g.run(ctx, gitDir, nil, nil, "for-each-ref", "--format=%(objectname) %(*objectname) %(refname)")
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 {
			continue
		}
		sha := f[0]
		if f[1] != "" {
			sha = f[1]
		}
		refs[f[2]] = sha
	}
	return refs, nil
}

// resolveHex resolves a full or abbreviated hex commit id; callers pass
// only validated hex, never user text that git could read as an option.
func (g *gitRunner) resolveHex(ctx context.Context, gitDir, hexID string) (string, bool) {
	out, err := g.run(ctx, gitDir, nil, nil, "rev-parse", "--verify", "--quiet", "--end-of-options", hexID+"^{commit}")
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

// treeEntry is one line of ls-tree.
type treeEntry struct {
	mode string
	typ  string // blob, tree, commit
	sha  string
	size int64 // -1 for trees
	path string
}

// lsTree lists the tree treeish; recursive lists every file and directory.
func (g *gitRunner) lsTree(ctx context.Context, gitDir, treeish string, recursive bool) ([]treeEntry, error) {
	args := []string{"ls-tree", "-l", "-z"}
	if recursive {
		args = append(args, "-r", "-t")
	}
	args = append(args, "--end-of-options", treeish)
	out, err := g.run(ctx, gitDir, nil, nil, args...)
	if err != nil {
		return nil, err
	}
	var entries []treeEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, path, ok := strings.Cut(string(rec), "\t")
		if !ok {
			return nil, fmt.Errorf("parse ls-tree output %q", rec)
		}
		f := strings.Fields(meta)
		if len(f) != 4 {
			return nil, fmt.Errorf("parse ls-tree output %q", rec)
		}
		size := int64(-1)
		if f[3] != "-" {
			size, err = strconv.ParseInt(f[3], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parse ls-tree size %q: %w", f[3], err)
			}
		}
		entries = append(entries, treeEntry{mode: f[0], typ: f[1], sha: f[2], size: size, path: path})
	}
	return entries, nil
}

// object is a git object read by catFile.
type object struct {
	typ  string
	size int64
	data []byte
}

// catFiles reads objects by id in one git process. Missing ids are absent
// from the result.
func (g *gitRunner) catFiles(ctx context.Context, gitDir string, ids []string) (map[string]object, error) {
	result := map[string]object{}
	if len(ids) == 0 {
		return result, nil
	}
	var in bytes.Buffer
	for _, id := range ids {
		in.WriteString(id)
		in.WriteByte('\n')
	}
	out, err := g.run(ctx, gitDir, &in, nil, "cat-file", "--batch")
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(bytes.NewReader(out))
	for {
		header, err := r.ReadString('\n')
		if errors.Is(err, io.EOF) {
			return result, nil
		}
		if err != nil {
			return nil, err
		}
		f := strings.Fields(header)
		if len(f) == 2 && f[1] == "missing" {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("parse cat-file header %q", header)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse cat-file size %q: %w", header, err)
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("read object %s: %w", f[0], err)
		}
		if _, err := r.ReadByte(); err != nil { // the newline after the content
			return nil, fmt.Errorf("read object %s: %w", f[0], err)
		}
		result[f[0]] = object{typ: f[1], size: size, data: data}
	}
}

// catFile reads one object.
func (g *gitRunner) catFile(ctx context.Context, gitDir, id string) (object, bool, error) {
	objs, err := g.catFiles(ctx, gitDir, []string{id})
	if err != nil {
		return object{}, false, err
	}
	o, ok := objs[id]
	return o, ok, nil
}

// indexEntry is a file of a tree being built.
type indexEntry struct {
	mode string
	sha  string
}

// writeTree builds a tree object holding exactly files (path -> entry).
func (g *gitRunner) writeTree(ctx context.Context, gitDir string, files map[string]indexEntry) (string, error) {
	if len(files) == 0 {
		return emptyTreeSHA, nil
	}
	idx := filepath.Join(g.tmpDir, "index-"+randomHex(8))
	defer os.Remove(idx)
	env := []string{"GIT_INDEX_FILE=" + idx}
	var in bytes.Buffer
	for path, e := range files {
		fmt.Fprintf(&in, "%s %s\t%s\x00", e.mode, e.sha, path)
	}
	if _, err := g.run(ctx, gitDir, &in, env, "update-index", "--add", "-z", "--index-info"); err != nil {
		return "", err
	}
	out, err := g.run(ctx, gitDir, nil, env, "write-tree")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// signature is the author and committer of a commit.
type signature struct {
	name  string
	email string
	when  time.Time
}

// commitTree writes a commit object.
func (g *gitRunner) commitTree(ctx context.Context, gitDir, tree string, parents []string, message string, sig signature) (string, error) {
	date := fmt.Sprintf("@%d +0000", sig.when.Unix())
	env := []string{
		"GIT_AUTHOR_NAME=" + sig.name, "GIT_AUTHOR_EMAIL=" + sig.email, "GIT_AUTHOR_DATE=" + date,
		"GIT_COMMITTER_NAME=" + sig.name, "GIT_COMMITTER_EMAIL=" + sig.email, "GIT_COMMITTER_DATE=" + date,
	}
	args := []string{"commit-tree", tree}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	args = append(args, "-F", "-")
	out, err := g.run(ctx, gitDir, strings.NewReader(message), env, args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// updateRef moves ref to newSHA if it still points at oldSHA (zeroSHA: the
// ref must not exist).
func (g *gitRunner) updateRef(ctx context.Context, gitDir, ref, newSHA, oldSHA string) error {
	_, err := g.run(ctx, gitDir, nil, nil, "update-ref", ref, newSHA, oldSHA)
	return err
}

// commitInfo is one commit of a log.
type commitInfo struct {
	sha         string
	authorName  string
	authorEmail string
	date        time.Time
	title       string
	body        string
	parents     []string
}

// log lists up to n commits reachable from rev, newest first, after skipping
// skip of them.
func (g *gitRunner) log(ctx context.Context, gitDir, sha string, skip, n int) ([]commitInfo, error) {
	out, err := g.run(ctx, gitDir, nil, nil, "log", "-z",
		"--format=%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%B",
		"--skip="+strconv.Itoa(skip), "--max-count="+strconv.Itoa(n), "--end-of-options", sha)
	if err != nil {
		return nil, err
	}
	var commits []commitInfo
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		f := strings.SplitN(string(rec), "\x1f", 6)
		if len(f) != 6 {
			return nil, fmt.Errorf("parse log record %q", rec)
		}
		secs, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse commit date %q: %w", f[4], err)
		}
		title, body := splitMessage(f[5])
		commits = append(commits, commitInfo{
			sha: f[0], parents: strings.Fields(f[1]), authorName: f[2], authorEmail: f[3],
			date: time.Unix(secs, 0).UTC(), title: title, body: body,
		})
	}
	return commits, nil
}

// splitMessage splits a commit message into its title (first paragraph
// line) and the rest, as the Hub's commit list shows them.
func splitMessage(msg string) (title, body string) {
	msg = strings.TrimRight(msg, "\n")
	title, body, _ = strings.Cut(msg, "\n")
	return title, strings.TrimLeft(body, "\n")
}

// diffEntry is one changed path between two commits.
type diffEntry struct {
	oldMode, newMode string
	oldSHA, newSHA   string
	status           byte
	path             string
}

// diffTree lists the files changed between two commits, without rename
// detection.
func (g *gitRunner) diffTree(ctx context.Context, gitDir, a, b string) ([]diffEntry, error) {
	out, err := g.run(ctx, gitDir, nil, nil, "diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", "--end-of-options", a, b)
	if err != nil {
		return nil, err
	}
	parts := bytes.Split(out, []byte{0})
	var entries []diffEntry
	for i := 0; i+1 < len(parts); i += 2 {
		meta := string(parts[i])
		if meta == "" {
			break
		}
		f := strings.Fields(strings.TrimPrefix(meta, ":"))
		if len(f) != 5 || f[4] == "" {
			return nil, fmt.Errorf("parse diff-tree output %q", meta)
		}
		entries = append(entries, diffEntry{
			oldMode: f[0], newMode: f[1], oldSHA: f[2], newSHA: f[3], status: f[4][0], path: string(parts[i+1]),
		})
	}
	return entries, nil
}

// diffPatch returns the unified diff between two tree-ishes.
func (g *gitRunner) diffPatch(ctx context.Context, gitDir, a, b string) ([]byte, error) {
	return g.run(ctx, gitDir, nil, nil, "diff", "--no-color", "--no-ext-diff", "--no-renames", "--end-of-options", a, b)
}

// mergeBase returns the best common ancestor of two commits.
func (g *gitRunner) mergeBase(ctx context.Context, gitDir, a, b string) (string, error) {
	out, err := g.run(ctx, gitDir, nil, nil, "merge-base", "--end-of-options", a, b)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// errMergeConflict reports a merge that needs a human.
var errMergeConflict = errors.New("merge conflict")

// mergeTrees computes the tree of merging ours and theirs.
func (g *gitRunner) mergeTrees(ctx context.Context, gitDir, ours, theirs string) (string, error) {
	out, err := g.run(ctx, gitDir, nil, nil, "merge-tree", "--write-tree", "--no-messages", ours, theirs)
	if err != nil {
		var ge *gitError
		var ee *exec.ExitError
		if errors.As(err, &ge) && errors.As(ge.err, &ee) && ee.ExitCode() == 1 {
			return "", errMergeConflict
		}
		return "", err
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]), nil
}
