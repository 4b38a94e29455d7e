package hubtest

// Building commits in the bare repos: the commit API, the push helpers and
// pull requests all end here, so they share the Hub's rules on paths, LFS
// pointers, .gitattributes and file sizes.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/hubbot/hubbot/lfs"
)

type opKind int

const (
	opFile         opKind = iota // regular file with content (or a move when content is nil)
	opLFS                        // LFS file by pointer; the object must be uploaded
	opAuto                       // helper file: LFS or regular by the repo's rules
	opDeleteFile                 // a file that must exist
	opDeleteFolder               // every file under a folder
	opDeleteEntry                // a file or a folder
)

type commitOp struct {
	kind    opKind
	path    string
	oldPath string
	content []byte // opFile, opAuto
	hasData bool   // opFile: content was given (a move has none)
	oid     string // opLFS
	size    int64  // opLFS
}

// validatePath applies the Hub's rules to a path in a repo.
func validatePath(p string) error {
	switch {
	case p == "":
		return errBadRequest("path must not be empty")
	case len(p) > 1000:
		return errBadRequest(fmt.Sprintf("path %.40q...: longer than 1000 characters", p))
	case strings.HasPrefix(p, "/"):
		return errBadRequest(fmt.Sprintf("path %q: must not start with /", p))
	case strings.ContainsRune(p, 0):
		return errBadRequest(fmt.Sprintf("path %q: must not contain NUL", p))
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return errBadRequest(fmt.Sprintf("path %q: empty path component", p))
		case seg == "." || seg == "..":
			return errBadRequest(fmt.Sprintf("path %q: %q is not allowed in a path", p, seg))
		case strings.EqualFold(seg, ".git"):
			return errBadRequest(fmt.Sprintf("path %q: .git is not allowed in a path", p))
		}
	}
	return nil
}

// isBinary applies git's heuristic: a NUL byte in the first 8000 bytes.
func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0
}

// commitParams describes a commit to an existing ref.
type commitParams struct {
	ref          string // full ref name
	startPoint   string // when set and ref does not exist, create ref from this ref
	parentCommit string // when set, the ref must still point at it
	summary      string
	description  string
	ops          []commitOp
	silent       bool // no webhook (repo creation)
}

type commitResult struct {
	sha, old string
}

func commitMessage(summary, description string) string {
	if strings.TrimSpace(description) == "" {
		return summary + "\n"
	}
	return summary + "\n\n" + description + "\n"
}

// commitToRef builds a commit on top of the head of params.ref, moves the
// ref, records it on the pull request for refs/pr/N, and sends repo.content.
func (s *Server) commitToRef(ctx context.Context, rp *repo, p principal, params commitParams) (commitResult, error) {
	// A write finishes even if the client goes away, as on the Hub.
	ctx = context.WithoutCancel(ctx)
	rp.writeMu.Lock()
	defer rp.writeMu.Unlock()
	head, ok := s.refSHA(ctx, rp, params.ref)
	old := head
	if !ok && params.startPoint != "" {
		head, ok = s.refSHA(ctx, rp, params.startPoint)
		old = zeroSHA
	}
	if !ok {
		return commitResult{}, errRevisionNotFound(params.ref)
	}
	if params.parentCommit != "" && params.parentCommit != head {
		return commitResult{}, &apiError{status: http.StatusPreconditionFailed, msg: "A commit has happened since. Please refresh and try again."}
	}
	now := s.opts.Clock()
	sha, err := s.buildCommit(ctx, rp, head, params.ops, commitMessage(params.summary, params.description), userSignature(p.user, now))
	if err != nil {
		return commitResult{}, err
	}
	if err := s.git.updateRef(ctx, rp.gitDir, params.ref, sha, old); err != nil {
		return commitResult{}, fmt.Errorf("move %s: %w", params.ref, err)
	}
	s.touch(rp, now)
	if num, ok := prNumber(params.ref); ok {
		s.addCommitEvent(rp, num, p.user, sha, params.summary)
	}
	if !params.silent {
		s.emitRefUpdates(ctx, rp, []refUpdate{{ref: params.ref, oldSHA: old, newSHA: sha}})
	}
	return commitResult{sha: sha, old: old}, nil
}

// prNumber returns N for "refs/pr/N".
func prNumber(ref string) (int, bool) {
	rest, ok := strings.CutPrefix(ref, "refs/pr/")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n <= 0 || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

// touch records a change of the repo's content.
func (s *Server) touch(rp *repo, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp.lastModified = now
}

// buildCommit writes the objects of a commit applying ops on parent and
// returns its id; it moves no ref.
func (s *Server) buildCommit(ctx context.Context, rp *repo, parent string, ops []commitOp, message string, sig signature) (string, error) {
	entries, err := s.git.lsTree(ctx, rp.gitDir, parent, true)
	if err != nil {
		return "", fmt.Errorf("list tree of %s: %w", parent, err)
	}
	files := map[string]indexEntry{}
	for _, e := range entries {
		if e.typ != "tree" {
			files[e.path] = indexEntry{mode: e.mode, sha: e.sha}
		}
	}
	attrs, err := s.attributesAt(ctx, rp, files)
	if err != nil {
		return "", err
	}
	var lfsPaths []string
	readmeChanged := false

	for _, op := range ops {
		if op.kind != opDeleteFolder && op.kind != opDeleteEntry {
			if err := validatePath(op.path); err != nil {
				return "", err
			}
		}
		if op.path == ".gitattributes" && (op.kind == opFile || op.kind == opAuto) && op.hasData {
			attrs = parseAttributes(string(op.content))
		}
		if op.path == "README.md" {
			readmeChanged = true
		}
		switch op.kind {
		case opFile, opAuto:
			if op.oldPath != "" {
				if err := validatePath(op.oldPath); err != nil {
					return "", err
				}
				old, ok := files[op.oldPath]
				if !ok {
					return "", errEntryNotFound(op.oldPath)
				}
				delete(files, op.oldPath)
				if !op.hasData {
					if err := addFile(files, op.path, old); err != nil {
						return "", err
					}
					continue
				}
			}
			entry, isLFS, err := s.writeFileBlob(ctx, rp, op, attrs)
			if err != nil {
				return "", err
			}
			if isLFS {
				lfsPaths = append(lfsPaths, op.path)
			}
			if err := addFile(files, op.path, entry); err != nil {
				return "", err
			}
		case opLFS:
			size, ok := s.repoLFS(rp, op.oid)
			if !ok {
				return "", errBadRequest(fmt.Sprintf("%s: LFS object %s was not uploaded to this repo", op.path, op.oid))
			}
			if size != op.size {
				return "", errBadRequest(fmt.Sprintf("%s: LFS object %s has size %d, not %d", op.path, op.oid, size, op.size))
			}
			if op.oldPath != "" {
				if err := validatePath(op.oldPath); err != nil {
					return "", err
				}
				if _, ok := files[op.oldPath]; !ok {
					return "", errEntryNotFound(op.oldPath)
				}
				delete(files, op.oldPath)
			}
			blob, err := s.git.hashObject(ctx, rp.gitDir, strings.NewReader(lfs.Pointer{OID: op.oid, Size: op.size}.String()))
			if err != nil {
				return "", err
			}
			if err := addFile(files, op.path, indexEntry{mode: "100644", sha: blob}); err != nil {
				return "", err
			}
			lfsPaths = append(lfsPaths, op.path)
		case opDeleteFile:
			if _, ok := files[op.path]; !ok {
				return "", errEntryNotFound(op.path)
			}
			delete(files, op.path)
		case opDeleteFolder, opDeleteEntry:
			dir := strings.TrimSuffix(op.path, "/")
			if err := validatePath(dir); err != nil {
				return "", err
			}
			removed := 0
			if _, ok := files[dir]; ok && op.kind == opDeleteEntry {
				delete(files, dir)
				removed++
			}
			for p := range files {
				if strings.HasPrefix(p, dir+"/") {
					delete(files, p)
					removed++
				}
			}
			if removed == 0 {
				return "", errEntryNotFound(op.path)
			}
		}
	}

	if err := s.trackLFSPaths(ctx, rp, files, attrs, lfsPaths); err != nil {
		return "", err
	}
	if readmeChanged {
		if e, ok := files["README.md"]; ok {
			if err := s.checkReadme(ctx, rp, e.sha); err != nil {
				return "", err
			}
		}
	}
	tree, err := s.git.writeTree(ctx, rp.gitDir, files)
	if err != nil {
		return "", fmt.Errorf("write tree: %w", err)
	}
	sha, err := s.git.commitTree(ctx, rp.gitDir, tree, []string{parent}, message, sig)
	if err != nil {
		return "", fmt.Errorf("write commit: %w", err)
	}
	return sha, nil
}

// addFile adds path to files, refusing a path that is both a file and a
// folder.
func addFile(files map[string]indexEntry, path string, e indexEntry) error {
	for dir := path; ; {
		i := strings.LastIndex(dir, "/")
		if i < 0 {
			break
		}
		dir = dir[:i]
		if _, ok := files[dir]; ok {
			return errBadRequest(fmt.Sprintf("path %q: %q is a file", path, dir))
		}
	}
	for p := range files {
		if strings.HasPrefix(p, path+"/") {
			return errBadRequest(fmt.Sprintf("path %q: is a folder", path))
		}
	}
	files[path] = e
	return nil
}

// writeFileBlob writes the blob of a file operation: the content itself, or
// for a helper file that the repo's rules send to LFS, a pointer to content
// stored in LFS.
func (s *Server) writeFileBlob(ctx context.Context, rp *repo, op commitOp, attrs attributes) (indexEntry, bool, error) {
	content := op.content
	binary := isBinary(content)
	if op.kind == opAuto {
		size := int64(len(content))
		toLFS := size > 0 && (attrs.lfs(op.path) || (rp.lfsThreshold > 0 && size >= rp.lfsThreshold) ||
			size > maxRegularFileSize || (binary && size > 1_000_000))
		if toLFS {
			ptr, err := s.storeLFSBytes(content)
			if err != nil {
				return indexEntry{}, false, err
			}
			s.linkLFS(rp, ptr.OID, ptr.Size)
			blob, err := s.git.hashObject(ctx, rp.gitDir, strings.NewReader(ptr.String()))
			return indexEntry{mode: "100644", sha: blob}, true, err
		}
	}
	if len(content) > maxRegularFileSize {
		return indexEntry{}, false, errBadRequest(fmt.Sprintf("%s: files larger than 10 MiB must be stored with LFS", op.path))
	}
	if binary && len(content) > 1_000_000 {
		return indexEntry{}, false, errBadRequest(fmt.Sprintf("%s: binary files larger than 1 MB must be stored with LFS", op.path))
	}
	blob, err := s.git.hashObject(ctx, rp.gitDir, bytes.NewReader(content))
	return indexEntry{mode: "100644", sha: blob}, false, err
}

// attributesAt reads .gitattributes from a file set.
func (s *Server) attributesAt(ctx context.Context, rp *repo, files map[string]indexEntry) (attributes, error) {
	e, ok := files[".gitattributes"]
	if !ok {
		return nil, nil
	}
	obj, ok, err := s.git.catFile(ctx, rp.gitDir, e.sha)
	if err != nil || !ok {
		return nil, fmt.Errorf("read .gitattributes: %v", err)
	}
	return parseAttributes(string(obj.data)), nil
}

// trackLFSPaths adds to .gitattributes the LFS files no pattern tracks yet,
// as the Hub does for lfsFile operations.
func (s *Server) trackLFSPaths(ctx context.Context, rp *repo, files map[string]indexEntry, attrs attributes, paths []string) error {
	var missing []string
	for _, p := range paths {
		if _, still := files[p]; still && !attrs.lfs(p) && !slices.Contains(missing, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var content []byte
	if e, ok := files[".gitattributes"]; ok {
		obj, ok, err := s.git.catFile(ctx, rp.gitDir, e.sha)
		if err != nil || !ok {
			return fmt.Errorf("read .gitattributes: %v", err)
		}
		content = obj.data
	}
	buf := bytes.NewBuffer(content)
	if len(content) > 0 && content[len(content)-1] != '\n' {
		buf.WriteByte('\n')
	}
	for _, p := range missing {
		fmt.Fprintf(buf, "%s filter=lfs diff=lfs merge=lfs -text\n", escapePattern(p))
	}
	blob, err := s.git.hashObject(ctx, rp.gitDir, buf)
	if err != nil {
		return err
	}
	return addFile(files, ".gitattributes", indexEntry{mode: "100644", sha: blob})
}

// frontMatter returns the YAML metadata block of a model card, if any.
func frontMatter(card []byte) ([]byte, bool) {
	text := strings.ReplaceAll(string(card), "\r\n", "\n")
	trimmed := strings.TrimLeft(text, " \t\n")
	if !strings.HasPrefix(trimmed, "---\n") {
		return nil, false
	}
	rest := trimmed[4:]
	if strings.HasPrefix(rest, "---") {
		return []byte{}, true
	}
	end := strings.Index(rest, "\n---")
	if end < 0 {
		return nil, false
	}
	after := rest[end+4:]
	if after != "" && !strings.HasPrefix(strings.TrimLeft(after, " \t"), "\n") && strings.TrimSpace(after) != "" {
		return nil, false
	}
	return []byte(rest[:end+1]), true
}

// parseCardData parses the metadata of a model card: nil when there is none.
func parseCardData(card []byte) (map[string]any, error) {
	block, ok := frontMatter(card)
	if !ok || len(bytes.TrimSpace(block)) == 0 {
		return nil, nil
	}
	var meta any
	if err := yaml.Unmarshal(block, &meta); err != nil {
		return nil, err
	}
	m, ok := meta.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("metadata must be a mapping")
	}
	return m, nil
}

// checkReadme refuses a README.md whose metadata is not valid YAML, as the
// Hub does on push.
func (s *Server) checkReadme(ctx context.Context, rp *repo, blob string) error {
	obj, ok, err := s.git.catFile(ctx, rp.gitDir, blob)
	if err != nil || !ok {
		return fmt.Errorf("read README.md: %v", err)
	}
	if _, isPointer := lfs.Parse(obj.data); isPointer {
		return nil
	}
	if _, err := parseCardData(obj.data); err != nil {
		return errBadRequest("Invalid metadata in README.md: " + err.Error())
	}
	return nil
}
