package hubtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hubbot/hubbot/lfs"
)

// fileInfo is a file or directory of a commit, with its LFS pointer.
type fileInfo struct {
	path  string
	dir   bool
	oid   string // git blob or tree id
	size  int64  // blob size (the pointer's size for LFS files)
	lfs   *lfs.Pointer
	isSub bool // a submodule entry
}

// realSize is the size of the content: the LFS object's for pointers.
func (f fileInfo) realSize() int64 {
	if f.lfs != nil {
		return f.lfs.Size
	}
	return f.size
}

// listFiles lists every file and directory of a commit, reading the small
// blobs to find LFS pointers.
func (s *Server) listFiles(ctx context.Context, rp *repo, sha string) ([]fileInfo, error) {
	entries, err := s.git.lsTree(ctx, rp.gitDir, sha, true)
	if err != nil {
		return nil, fmt.Errorf("list tree of %s: %w", sha, err)
	}
	var small []string
	for _, e := range entries {
		if e.typ == "blob" && e.size <= lfs.MaxPointerSize {
			small = append(small, e.sha)
		}
	}
	objs, err := s.git.catFiles(ctx, rp.gitDir, small)
	if err != nil {
		return nil, fmt.Errorf("read blobs of %s: %w", sha, err)
	}
	files := make([]fileInfo, 0, len(entries))
	for _, e := range entries {
		f := fileInfo{path: e.path, dir: e.typ == "tree", oid: e.sha, size: max(e.size, 0), isSub: e.typ == "commit"}
		if o, ok := objs[e.sha]; ok {
			if ptr, ok := lfs.Parse(o.data); ok {
				f.lfs = &ptr
			}
		}
		files = append(files, f)
	}
	return files, nil
}

// findFile returns the file at path of a commit.
func (s *Server) findFile(ctx context.Context, rp *repo, sha, path string) (fileInfo, error) {
	files, err := s.listFiles(ctx, rp, sha)
	if err != nil {
		return fileInfo{}, err
	}
	for _, f := range files {
		if f.path == path && !f.dir && !f.isSub {
			return f, nil
		}
	}
	return fileInfo{}, errEntryNotFound(path)
}

func (s *Server) resolveOrWrite(w http.ResponseWriter, r *http.Request, rp *repo, rev string) (string, bool) {
	sha, _, err := s.resolveRev(r.Context(), rp, rev)
	if err != nil {
		writeAPIError(w, err)
		return "", false
	}
	return sha, true
}

func (s *Server) handleRepoInfo(w http.ResponseWriter, r *http.Request, rp *repo, rev string) {
	ctx := r.Context()
	sha, ok := s.resolveOrWrite(w, r, rp, rev)
	if !ok {
		return
	}
	files, err := s.listFiles(ctx, rp, sha)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	q := r.URL.Query()
	blobs := q.Get("blobs") == "true" || q.Get("blobs") == "1"
	siblings := []map[string]any{}
	var card map[string]any
	for _, f := range files {
		if f.dir || f.isSub {
			continue
		}
		sib := map[string]any{"rfilename": f.path}
		if blobs {
			sib["size"] = f.realSize()
			sib["blobId"] = f.oid
			if f.lfs != nil {
				sib["lfs"] = map[string]any{"sha256": f.lfs.OID, "size": f.lfs.Size, "pointerSize": f.size}
			}
		}
		siblings = append(siblings, sib)
		if f.path == "README.md" && f.lfs == nil {
			if obj, ok, err := s.git.catFile(ctx, rp.gitDir, f.oid); err == nil && ok {
				card, _ = parseCardData(obj.data) // an unreadable card is simply absent
			}
		}
	}

	s.mu.Lock()
	info := map[string]any{
		"_id": rp.id, "id": rp.name, "author": rp.namespace, "sha": sha,
		"lastModified": isoTime(rp.lastModified), "createdAt": isoTime(rp.createdAt),
		"private": rp.private, "gated": false, "disabled": false, "downloads": 0, "likes": 0,
		"siblings": siblings, "tags": cardTags(card),
	}
	s.mu.Unlock()
	if card != nil {
		info["cardData"] = card
	}
	switch rp.kind {
	case TypeModel:
		info["modelId"] = rp.name
		info["spaces"] = []string{}
		if v, ok := card["library_name"].(string); ok {
			info["library_name"] = v
		}
		if v, ok := card["pipeline_tag"].(string); ok {
			info["pipeline_tag"] = v
		}
	case TypeSpace:
		sdk := rp.sdk
		if v, ok := card["sdk"].(string); ok {
			sdk = v
		}
		if sdk != "" {
			info["sdk"] = sdk
		}
		info["subdomain"] = subdomain(rp.name)
		info["host"] = "https://" + subdomain(rp.name) + ".hf.space"
		info["runtime"] = map[string]any{"stage": "RUNNING", "hardware": map[string]any{"current": "cpu-basic", "requested": "cpu-basic"}}
	}
	if expand := q["expand"]; len(expand) > 0 {
		expand = append(expand, q["expand[]"]...)
		filtered := map[string]any{"_id": info["_id"], "id": info["id"]}
		for _, key := range expand {
			if v, ok := info[key]; ok {
				filtered[key] = v
			}
		}
		info = filtered
	}
	w.Header().Set("X-Repo-Commit", sha)
	writeJSON(w, http.StatusOK, info)
}

// cardTags derives the repo tags the Hub shows from the card metadata.
func cardTags(card map[string]any) []string {
	tags := []string{}
	add := func(t string) {
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if v, ok := card["library_name"].(string); ok {
		add(v)
	}
	switch v := card["tags"].(type) {
	case []any:
		for _, t := range v {
			if str, ok := t.(string); ok {
				add(str)
			}
		}
	case string:
		add(v)
	}
	if v, ok := card["license"].(string); ok {
		add("license:" + v)
	}
	return tags
}

// treeEntryJSON renders a file or directory as the tree API does.
func treeEntryJSON(f fileInfo) map[string]any {
	if f.dir {
		return map[string]any{"type": "directory", "oid": f.oid, "size": 0, "path": f.path}
	}
	if f.isSub {
		return map[string]any{"type": "unknown", "oid": f.oid, "size": 0, "path": f.path}
	}
	e := map[string]any{"type": "file", "oid": f.oid, "size": f.realSize(), "path": f.path}
	if f.lfs != nil {
		e["lfs"] = map[string]any{"oid": f.lfs.OID, "size": f.lfs.Size, "pointerSize": f.size}
	}
	return e
}

func (s *Server) handleTree(w http.ResponseWriter, r *http.Request, rp *repo, segs []string) {
	ctx := r.Context()
	rev, rest, err := splitRevision(segs)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	dir, err := unescapeAll(rest)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	dir = strings.Trim(dir, "/")
	sha, ok := s.resolveOrWrite(w, r, rp, rev)
	if !ok {
		return
	}
	q := r.URL.Query()
	recursive := q.Get("recursive") == "true" || q.Get("recursive") == "1"
	expand := q.Get("expand") == "true" || q.Get("expand") == "1"
	defaultLimit := 1000
	if expand {
		defaultLimit = 100
	}
	offset, limit, err := pageParams(r, defaultLimit, defaultLimit)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	files, err := s.listFiles(ctx, rp, sha)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	prefix := ""
	if dir != "" {
		found := false
		for _, f := range files {
			if f.path == dir && f.dir {
				found = true
			}
		}
		if !found {
			w.Header().Set("X-Repo-Commit", sha)
			writeAPIError(w, errEntryNotFound(dir))
			return
		}
		prefix = dir + "/"
	}
	var selected []fileInfo
	for _, f := range files {
		rel, under := strings.CutPrefix(f.path, prefix)
		if !under || (!recursive && strings.Contains(rel, "/")) {
			continue
		}
		selected = append(selected, f)
	}
	page := selected[min(offset, len(selected)):min(offset+limit, len(selected))]
	out := make([]map[string]any, 0, len(page))
	for _, f := range page {
		e := treeEntryJSON(f)
		if expand {
			if c, err := s.lastCommit(ctx, rp, sha, f.path); err == nil && c != nil {
				e["lastCommit"] = map[string]any{"id": c.sha, "title": c.title, "date": isoTime(c.date)}
			}
		}
		out = append(out, e)
	}
	if offset+limit < len(selected) {
		s.setNextLink(w, r, "cursor", cursorFor(offset+limit))
	}
	w.Header().Set("X-Repo-Commit", sha)
	writeJSON(w, http.StatusOK, out)
}

// lastCommit returns the last commit that touched path.
func (s *Server) lastCommit(ctx context.Context, rp *repo, sha, path string) (*commitInfo, error) {
	out, err := s.git.run(ctx, rp.gitDir, nil, nil, "--literal-pathspecs", "log", "-1", "--format=%H", "--end-of-options", sha, "--", path)
	if err != nil {
		return nil, err
	}
	id := strings.TrimSpace(string(out))
	if id == "" {
		return nil, nil
	}
	commits, err := s.git.log(ctx, rp.gitDir, id, 0, 1)
	if err != nil || len(commits) == 0 {
		return nil, err
	}
	return &commits[0], nil
}

func (s *Server) handlePathsInfo(w http.ResponseWriter, r *http.Request, rp *repo, rev string) {
	ctx := r.Context()
	var paths []string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			writeAPIError(w, errBadRequest("invalid form body"))
			return
		}
		paths = r.PostForm["paths"]
	} else {
		var body struct {
			Paths []string `json:"paths"`
		}
		if err := decodeJSONBody(r, &body); err != nil {
			writeAPIError(w, err)
			return
		}
		paths = body.Paths
	}
	if len(paths) > 2000 {
		writeAPIError(w, errBadRequest("at most 2000 paths"))
		return
	}
	sha, ok := s.resolveOrWrite(w, r, rp, rev)
	if !ok {
		return
	}
	files, err := s.listFiles(ctx, rp, sha)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := []map[string]any{}
	for _, f := range files {
		if slices.Contains(paths, f.path) {
			out = append(out, treeEntryJSON(f))
		}
	}
	w.Header().Set("X-Repo-Commit", sha)
	writeJSON(w, http.StatusOK, out)
}

// commitAuthor maps a commit author to the Hub username.
func commitAuthor(c commitInfo) string {
	if name, ok := strings.CutSuffix(c.authorEmail, "@users.noreply.huggingface.co"); ok {
		return name
	}
	return c.authorName
}

func (s *Server) handleCommits(w http.ResponseWriter, r *http.Request, rp *repo, rev string) {
	sha, ok := s.resolveOrWrite(w, r, rp, rev)
	if !ok {
		return
	}
	q := r.URL.Query()
	page, ok := pageParam(w, q)
	if !ok {
		return
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeAPIError(w, errBadRequest("limit must be a positive integer"))
			return
		}
		limit = min(n, 1000)
	}
	commits, err := s.git.log(r.Context(), rp.gitDir, sha, page*limit, limit+1)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if len(commits) > limit {
		commits = commits[:limit]
		s.setNextLink(w, r, "p", strconv.Itoa(page+1))
	}
	out := make([]map[string]any, 0, len(commits))
	for _, c := range commits {
		name := commitAuthor(c)
		out = append(out, map[string]any{
			"id": c.sha, "title": c.title, "message": c.body, "date": isoTime(c.date),
			"authors": []map[string]any{{"user": name, "avatar": "/avatars/" + name + ".svg"}},
		})
	}
	w.Header().Set("X-Repo-Commit", sha)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request, rp *repo, spec string) {
	ctx := r.Context()
	a, b, ok := strings.Cut(spec, "..")
	if !ok || a == "" || b == "" || strings.HasPrefix(b, ".") {
		writeAPIError(w, errBadRequest(fmt.Sprintf("compare %q: want <revision>..<revision>", spec)))
		return
	}
	shaA, ok := s.resolveOrWrite(w, r, rp, a)
	if !ok {
		return
	}
	shaB, ok := s.resolveOrWrite(w, r, rp, b)
	if !ok {
		return
	}
	if q := r.URL.Query().Get("raw"); q != "true" && q != "1" {
		patch, err := s.git.diffPatch(ctx, rp.gitDir, shaA, shaB)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(patch)
		return
	}
	entries, err := s.git.diffTree(ctx, rp.gitDir, shaA, shaB)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, sideSHA(e))
	}
	objs, err := s.git.catFiles(ctx, rp.gitDir, ids)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	var buf bytes.Buffer
	for _, e := range entries {
		obj := objs[sideSHA(e)]
		kind, size := byte('T'), obj.size
		if ptr, ok := lfs.Parse(obj.data); ok {
			size = ptr.Size
		} else if isBinary(obj.data) {
			kind = 'B'
		}
		fmt.Fprintf(&buf, "%c %d\t:%s %s %s... %s... %c\t%s\n", kind, size, e.oldMode, e.newMode, e.oldSHA, e.newSHA, e.status, e.path)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// sideSHA is the blob of a changed file on the side where it exists.
func sideSHA(e diffEntry) string {
	if e.status == 'D' {
		return e.oldSHA
	}
	return e.newSHA
}

func (s *Server) handleRefs(w http.ResponseWriter, r *http.Request, rp *repo) {
	refs, err := s.git.refs(r.Context(), rp.gitDir)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	names := make([]string, 0, len(refs))
	for name := range refs {
		names = append(names, name)
	}
	slices.Sort(names)
	out := map[string][]map[string]string{"branches": {}, "tags": {}, "converts": {}}
	includePRs := r.URL.Query().Get("include_prs") == "1" || r.URL.Query().Get("include_prs") == "true"
	if includePRs {
		out["pullRequests"] = []map[string]string{}
	}
	for _, name := range names {
		var key, short string
		switch {
		case strings.HasPrefix(name, "refs/heads/"):
			key, short = "branches", strings.TrimPrefix(name, "refs/heads/")
		case strings.HasPrefix(name, "refs/tags/"):
			key, short = "tags", strings.TrimPrefix(name, "refs/tags/")
		case strings.HasPrefix(name, "refs/convert/"):
			key, short = "converts", strings.TrimPrefix(name, "refs/convert/")
		case strings.HasPrefix(name, "refs/pr/") && includePRs:
			key, short = "pullRequests", strings.TrimPrefix(name, "refs/pr/")
		default:
			continue
		}
		out[key] = append(out[key], map[string]string{"name": short, "ref": name, "targetCommit": refs[name]})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListRepos(w http.ResponseWriter, r *http.Request, p principal, kind string) {
	offset, limit, err := pageParams(r, 1000, 1000)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	q := r.URL.Query()
	author, search := q.Get("author"), strings.ToLower(q.Get("search"))
	s.mu.Lock()
	var items []map[string]any
	for _, rp := range s.repoOrder {
		if rp.kind != kind || !s.canReadLocked(p, rp) {
			continue
		}
		if author != "" && rp.namespace != author {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(rp.name), search) {
			continue
		}
		item := map[string]any{
			"_id": rp.id, "id": rp.name, "author": rp.namespace, "private": rp.private,
			"likes": 0, "downloads": 0, "tags": []string{}, "createdAt": isoTime(rp.createdAt),
			"lastModified": isoTime(rp.lastModified),
		}
		if kind == TypeModel {
			item["modelId"] = rp.name
		}
		items = append(items, item)
	}
	s.mu.Unlock()
	page := items[min(offset, len(items)):min(offset+limit, len(items))]
	if page == nil {
		page = []map[string]any{}
	}
	if offset+limit < len(items) {
		s.setNextLink(w, r, "cursor", cursorFor(offset+limit))
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleCreateRepo(w http.ResponseWriter, r *http.Request, p principal) {
	if p.anonymous() {
		writeError(w, http.StatusUnauthorized, "", "You must be authenticated to create a repo")
		return
	}
	var body struct {
		Name         string `json:"name"`
		Organization string `json:"organization"`
		Type         string `json:"type"`
		Private      *bool  `json:"private"`
		Visibility   string `json:"visibility"`
		SDK          string `json:"sdk"`
	}
	if err := decodeJSONBody(r, &body); err != nil {
		writeAPIError(w, err)
		return
	}
	if body.Name == "" {
		writeAPIError(w, errBadRequest("name is required"))
		return
	}
	ns := p.user.name
	if body.Organization != "" {
		ns = body.Organization
	}
	private := body.Visibility == "private"
	if body.Private != nil {
		private = *body.Private
	}
	if body.Type == TypeSpace && body.SDK == "" {
		writeAPIError(w, errBadRequest("sdk is required for a space"))
		return
	}
	if p.role != RoleWrite {
		writeAPIError(w, errForbidden("Your token does not allow creating repos"))
		return
	}
	rp, err := s.createRepo(r.Context(), p, RepoSpec{ID: ns + "/" + body.Name, Type: body.Type, Private: private, SDK: body.SDK})
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"url": s.webURL(rp), "name": rp.name, "id": rp.id})
}
