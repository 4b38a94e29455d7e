package hubtest

// Git smart HTTP, served by the real `git http-backend` through CGI, and the
// /resolve and /raw file downloads: both live under /{prefix}{ns}/{name}.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// gitProtocolPattern is what the Git-Protocol header may hold ("version=2").
var gitProtocolPattern = regexp.MustCompile(`^[A-Za-z0-9=:.,_-]{1,64}$`)

// routeGitOrFiles serves git smart HTTP and file downloads; it returns false
// when the path is neither.
func (s *Server) routeGitOrFiles(w http.ResponseWriter, r *http.Request) bool {
	segs := pathSegments(r.URL.EscapedPath())
	kind := TypeModel
	if len(segs) > 0 && (segs[0] == "datasets" || segs[0] == "spaces") {
		kind, segs = strings.TrimSuffix(segs[0], "s"), segs[1:]
	}
	if len(segs) < 3 {
		return false
	}
	ns, name := segs[0], strings.TrimSuffix(segs[1], ".git")
	rest := segs[2:]
	var service string
	switch {
	case len(rest) == 2 && rest[0] == "info" && rest[1] == "refs":
		service = r.URL.Query().Get("service")
		if service != "git-upload-pack" && service != "git-receive-pack" {
			writeError(w, http.StatusForbidden, "", "Dumb HTTP is not supported; use a smart git client")
			return true
		}
	case len(rest) == 1 && (rest[0] == "git-upload-pack" || rest[0] == "git-receive-pack"):
		service = rest[0]
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return true
		}
	case (rest[0] == "resolve" || rest[0] == "raw") && len(rest) >= 2:
		if strings.HasSuffix(segs[1], ".git") {
			return false
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, http.MethodGet, http.MethodHead)
			return true
		}
		p, ok := s.authenticate(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "", msgBadToken)
			return true
		}
		repoName, err := unescapeAll([]string{ns, name})
		if err != nil {
			writeAPIError(w, err)
			return true
		}
		rp, ok := s.repoForRequest(w, p, kind, repoName)
		if !ok {
			return true
		}
		s.serveFile(w, r, rp, rest[1:], rest[0] == "raw")
		return true
	default:
		return false
	}
	s.serveGit(w, r, kind, ns+"/"+name, service, strings.Join(rest, "/"))
	return true
}

// challenge asks a git client for credentials.
func challenge(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="Authentication required", charset="UTF-8"`)
	writeError(w, http.StatusUnauthorized, "", msg)
}

func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, kind, name, service, rest string) {
	p, ok := s.authenticate(r)
	if !ok {
		challenge(w, msgBadToken)
		return
	}
	s.mu.Lock()
	rp, exists := s.repos[repoKey(kind, name)]
	readable := exists && s.canReadLocked(p, rp)
	writable := exists && s.canWriteLocked(p, rp)
	s.mu.Unlock()
	switch {
	case !readable && p.anonymous():
		challenge(w, "Repository not found")
		return
	case !readable:
		writeError(w, http.StatusNotFound, codeRepoNotFound, "Repository not found")
		return
	case service == "git-receive-pack" && p.anonymous():
		challenge(w, "You must be authenticated to push")
		return
	case service == "git-receive-pack" && !writable:
		writeError(w, http.StatusForbidden, "", "You don't have the rights to push to "+name)
		return
	}

	gitPath, err := exec.LookPath("git")
	if err != nil {
		writeAPIError(w, fmt.Errorf("find git: %w", err))
		return
	}
	env := append([]string{
		"GIT_PROJECT_ROOT=" + filepath.Join(s.dir, "repos"),
		"GIT_HTTP_EXPORT_ALL=1",
		"GIT_HTTP_MAX_REQUEST_BUFFER=1000M",
	}, s.git.env...)
	if p.user != nil {
		env = append(env, "REMOTE_USER="+p.user.name)
	}
	if proto := r.Header.Get("Git-Protocol"); gitProtocolPattern.MatchString(proto) {
		env = append(env, "GIT_PROTOCOL="+proto)
	}
	var stderr bytes.Buffer
	h := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"}, Env: env, Stderr: &stderr}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + typePlural(rp.kind) + "/" + rp.name + ".git/" + rest
	r2.URL.RawPath = ""
	r2.Body = r.Body

	if service != "git-receive-pack" || rest == "info/refs" {
		h.ServeHTTP(w, r2)
		s.logGitStderr(&stderr)
		return
	}
	// A push: serialise it with the other writes, then announce what moved.
	rp.writeMu.Lock()
	defer rp.writeMu.Unlock()
	before, err := s.git.refs(r.Context(), rp.gitDir)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	h.ServeHTTP(w, r2)
	s.logGitStderr(&stderr)
	after, err := s.git.refs(context.Background(), rp.gitDir)
	if err != nil {
		s.log.Error("hubtest: read refs after push", "repo", rp.name, "err", err)
		return
	}
	updates := diffRefs(before, after)
	if len(updates) == 0 {
		return
	}
	now := s.opts.Clock()
	s.touch(rp, now)
	for _, u := range updates {
		if num, ok := prNumber(u.ref); ok && u.newSHA != "" {
			subject := ""
			if commits, err := s.git.log(context.Background(), rp.gitDir, u.newSHA, 0, 1); err == nil && len(commits) == 1 {
				subject = commits[0].title
			}
			s.addCommitEvent(rp, num, p.user, u.newSHA, subject)
		}
	}
	s.emitRefUpdates(context.Background(), rp, updates)
}

func (s *Server) logGitStderr(stderr *bytes.Buffer) {
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		s.log.Debug("hubtest: git http-backend", "stderr", msg)
	}
}

// diffRefs lists the refs that changed between two snapshots, in name order.
func diffRefs(before, after map[string]string) []refUpdate {
	var updates []refUpdate
	for ref, sha := range after {
		if before[ref] != sha {
			updates = append(updates, refUpdate{ref: ref, oldSHA: before[ref], newSHA: sha})
		}
	}
	for ref, sha := range before {
		if _, ok := after[ref]; !ok {
			updates = append(updates, refUpdate{ref: ref, oldSHA: sha})
		}
	}
	sort.Slice(updates, func(i, j int) bool { return updates[i].ref < updates[j].ref })
	return updates
}

// serveFile answers /resolve (content; LFS files redirect to the CDN) and
// /raw (what git stores: the pointer of an LFS file).
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rp *repo, segs []string, raw bool) {
	ctx := r.Context()
	rev, rest, err := splitRevision(segs)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	filePath, err := unescapeAll(rest)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	sha, _, err := s.resolveRev(ctx, rp, rev)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	w.Header().Set("X-Repo-Commit", sha)
	if filePath == "" {
		writeAPIError(w, errEntryNotFound(filePath))
		return
	}
	f, err := s.findFile(ctx, rp, sha, filePath)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if f.lfs != nil && !raw {
		w.Header().Set("X-Linked-Etag", `"`+f.lfs.OID+`"`)
		w.Header().Set("X-Linked-Size", strconv.FormatInt(f.lfs.Size, 10))
		w.Header().Set("Location", s.presign(s.CDNURL, http.MethodGet, s.cdnObjectPath(rp, f.lfs.OID)))
		w.WriteHeader(http.StatusFound)
		return
	}
	obj, ok, err := s.git.catFile(ctx, rp.gitDir, f.oid)
	if err != nil || !ok {
		writeAPIError(w, fmt.Errorf("read %s: %v", filePath, err))
		return
	}
	w.Header().Set("ETag", `"`+f.oid+`"`)
	http.ServeContent(w, r, path.Base(filePath), time.Time{}, io.ReadSeeker(bytes.NewReader(obj.data)))
}

// File returns the content of a file of a repo at a revision: the real
// content for LFS files (read from the LFS store), for assertions.
func (s *Server) File(repoRef, rev, filePath string) ([]byte, error) {
	return s.readFile(repoRef, rev, filePath, true)
}

// RawFile returns the blob git stores for a file: the pointer text of an
// LFS file.
func (s *Server) RawFile(repoRef, rev, filePath string) ([]byte, error) {
	return s.readFile(repoRef, rev, filePath, false)
}

// readFile reads a file at a revision, through LFS when resolveLFS is set.
func (s *Server) readFile(repoRef, rev, filePath string, resolveLFS bool) ([]byte, error) {
	ctx := context.Background()
	rp, err := s.lookupRepo(repoRef)
	if err != nil {
		return nil, err
	}
	sha, _, err := s.resolveRev(ctx, rp, rev)
	if err != nil {
		return nil, fmt.Errorf("read %s@%s:%s: %w", repoRef, rev, filePath, err)
	}
	f, err := s.findFile(ctx, rp, sha, filePath)
	if err != nil {
		return nil, fmt.Errorf("read %s@%s:%s: %w", repoRef, rev, filePath, err)
	}
	if resolveLFS && f.lfs != nil {
		return s.LFSObject(f.lfs.OID)
	}
	obj, ok, err := s.git.catFile(ctx, rp.gitDir, f.oid)
	if err != nil {
		return nil, fmt.Errorf("read %s@%s:%s: %w", repoRef, rev, filePath, err)
	}
	if !ok {
		return nil, fmt.Errorf("read %s@%s:%s: blob %s missing", repoRef, rev, filePath, f.oid)
	}
	return obj.data, nil
}
