package hubtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hubbot/hubbot/lfs"
)

func queryBool(r *http.Request, key string) bool {
	v := r.URL.Query().Get(key)
	return v == "1" || v == "true" || v == "True"
}

// writeAccess checks that p may write to rev of rp: a branch needs write
// access, refs/pr/N its author or a writer.
func (s *Server) writeAccess(p principal, rp *repo, ref string) error {
	if p.anonymous() {
		return &apiError{status: http.StatusUnauthorized, msg: "You must be authenticated to write to this repo"}
	}
	if num, ok := prNumber(ref); ok {
		if s.canPushToPR(p, rp, num) {
			return nil
		}
		return errForbidden("You don't have the rights to push to this pull request")
	}
	if s.canWrite(p, rp) {
		return nil
	}
	return errForbidden("You don't have the rights to write to " + rp.name + ", open a pull request instead")
}

type preuploadFile struct {
	Path   *string `json:"path"`
	Size   *int64  `json:"size"`
	Sample string  `json:"sample"`
}

func (s *Server) handlePreupload(w http.ResponseWriter, r *http.Request, p principal, rp *repo, rev string) {
	ctx := r.Context()
	var body struct {
		Files         []preuploadFile `json:"files"`
		GitAttributes *string         `json:"gitAttributes"`
		GitIgnore     *string         `json:"gitIgnore"`
	}
	if err := decodeJSONBody(r, &body); err != nil {
		writeAPIError(w, err)
		return
	}
	if body.Files == nil {
		writeAPIError(w, errBadRequest("files is required"))
		return
	}
	if len(body.Files) > 1000 {
		writeAPIError(w, errBadRequest("at most 1000 files per request"))
		return
	}
	samples := make([][]byte, len(body.Files))
	for i, f := range body.Files {
		if f.Path == nil || f.Size == nil {
			writeAPIError(w, errBadRequest(fmt.Sprintf("files[%d]: path and size are required", i)))
			return
		}
		if err := validatePath(*f.Path); err != nil {
			writeAPIError(w, err)
			return
		}
		if *f.Size < 0 {
			writeAPIError(w, errBadRequest(fmt.Sprintf("files[%d]: size must not be negative", i)))
			return
		}
		sample, err := base64.StdEncoding.DecodeString(f.Sample)
		if err != nil {
			writeAPIError(w, errBadRequest(fmt.Sprintf("files[%d]: sample is not base64", i)))
			return
		}
		samples[i] = sample
	}
	sha, ref, err := s.resolveRev(ctx, rp, rev)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if queryBool(r, "create_pr") {
		if p.anonymous() {
			writeError(w, http.StatusUnauthorized, "", "You must be authenticated to open a pull request")
			return
		}
	} else if err := s.writeAccess(p, rp, ref); err != nil {
		writeAPIError(w, err)
		return
	}
	files, err := s.listFiles(ctx, rp, sha)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	byPath := map[string]fileInfo{}
	for _, f := range files {
		byPath[f.path] = f
	}
	readText := func(path string) string {
		f, ok := byPath[path]
		if !ok || f.lfs != nil {
			return ""
		}
		obj, ok, err := s.git.catFile(ctx, rp.gitDir, f.oid)
		if err != nil || !ok {
			return ""
		}
		return string(obj.data)
	}
	var attrs attributes
	if body.GitAttributes != nil {
		attrs = parseAttributes(*body.GitAttributes)
	} else {
		attrs = parseAttributes(readText(".gitattributes"))
	}
	var ignore ignoreRules
	if body.GitIgnore != nil {
		ignore = parseIgnore(*body.GitIgnore)
	} else {
		ignore = parseIgnore(readText(".gitignore"))
	}
	out := make([]map[string]any, 0, len(body.Files))
	for i, f := range body.Files {
		mode := "regular"
		if *f.Size > 0 && (attrs.lfs(*f.Path) || *f.Size > maxRegularFileSize || bytes.IndexByte(samples[i], 0) >= 0) {
			mode = "lfs"
		}
		entry := map[string]any{"path": *f.Path, "uploadMode": mode, "shouldIgnore": ignore.ignored(*f.Path)}
		if existing, ok := byPath[*f.Path]; ok && !existing.dir {
			if existing.lfs != nil {
				entry["oid"] = existing.lfs.OID
			} else {
				entry["oid"] = existing.oid
			}
		}
		out = append(out, entry)
	}
	writeJSON(w, http.StatusOK, map[string]any{"commitOid": sha, "files": out})
}

// commitBody is a parsed commit request.
type commitBody struct {
	summary      string
	description  string
	parentCommit string
	ops          []commitOp
}

type commitHeader struct {
	Summary      *string `json:"summary"`
	Description  string  `json:"description"`
	ParentCommit string  `json:"parentCommit"`
}

type commitFileValue struct {
	Path     string  `json:"path"`
	Content  *string `json:"content"`
	Encoding string  `json:"encoding"`
	OldPath  string  `json:"oldPath"`
}

type commitLFSValue struct {
	Path    string `json:"path"`
	Algo    string `json:"algo"`
	OID     string `json:"oid"`
	Size    *int64 `json:"size"`
	OldPath string `json:"oldPath"`
}

type commitPathValue struct {
	Path string `json:"path"`
}

// parseCommitBody reads an NDJSON commit (one {"key","value"} object per
// line, header first) or the legacy JSON object.
func parseCommitBody(r io.Reader) (commitBody, error) {
	dec := json.NewDecoder(r)
	var first map[string]json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return commitBody{}, errBadRequest("line 1: invalid JSON: " + err.Error())
	}
	if _, ok := first["key"]; !ok {
		if dec.More() {
			return commitBody{}, errBadRequest("invalid JSON body: trailing data")
		}
		return parseLegacyCommit(first)
	}
	var body commitBody
	haveHeader := false
	for line := 1; ; line++ {
		var item struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		if line == 1 {
			raw, _ := json.Marshal(first)
			if err := json.Unmarshal(raw, &item); err != nil {
				return commitBody{}, errBadRequest("line 1: " + err.Error())
			}
		} else if err := dec.Decode(&item); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return commitBody{}, errBadRequest(fmt.Sprintf("line %d: invalid JSON: %v", line, err))
		}
		if len(item.Value) == 0 || string(item.Value) == "null" {
			return commitBody{}, errBadRequest(fmt.Sprintf("line %d: value is required", line))
		}
		if item.Key == "header" {
			if haveHeader {
				return commitBody{}, errBadRequest(fmt.Sprintf("line %d: duplicate header", line))
			}
			var h commitHeader
			if err := json.Unmarshal(item.Value, &h); err != nil {
				return commitBody{}, errBadRequest(fmt.Sprintf("line %d: header: %v", line, err))
			}
			if h.Summary == nil || strings.TrimSpace(*h.Summary) == "" {
				return commitBody{}, errBadRequest("header: summary is required")
			}
			body.summary, body.description, body.parentCommit = *h.Summary, h.Description, h.ParentCommit
			haveHeader = true
			continue
		}
		if !haveHeader {
			return commitBody{}, errBadRequest("line 1: the header must come first")
		}
		op, err := parseCommitOp(item.Key, item.Value)
		if err != nil {
			return commitBody{}, errBadRequest(fmt.Sprintf("line %d: %v", line, err))
		}
		body.ops = append(body.ops, op)
	}
	if !haveHeader {
		return commitBody{}, errBadRequest("missing header")
	}
	return body, nil
}

func parseCommitOp(key string, raw json.RawMessage) (commitOp, error) {
	switch key {
	case "file":
		var v commitFileValue
		if err := json.Unmarshal(raw, &v); err != nil {
			return commitOp{}, fmt.Errorf("file: %v", err)
		}
		op := commitOp{kind: opFile, path: v.Path, oldPath: v.OldPath}
		if v.Content == nil {
			if v.OldPath == "" {
				return commitOp{}, fmt.Errorf("file %s: content is required", v.Path)
			}
			return op, nil
		}
		switch v.Encoding {
		case "base64":
			data, err := base64.StdEncoding.DecodeString(*v.Content)
			if err != nil {
				return commitOp{}, fmt.Errorf("file %s: content is not valid base64", v.Path)
			}
			op.content = data
		case "utf-8", "utf8", "":
			op.content = []byte(*v.Content)
		default:
			return commitOp{}, fmt.Errorf("file %s: unknown encoding %q", v.Path, v.Encoding)
		}
		op.hasData = true
		return op, nil
	case "lfsFile":
		var v commitLFSValue
		if err := json.Unmarshal(raw, &v); err != nil {
			return commitOp{}, fmt.Errorf("lfsFile: %v", err)
		}
		if v.Algo != "" && v.Algo != "sha256" {
			return commitOp{}, fmt.Errorf("lfsFile %s: algo must be sha256", v.Path)
		}
		if !lfs.ValidOID(v.OID) {
			return commitOp{}, fmt.Errorf("lfsFile %s: oid must be a lowercase hex sha256", v.Path)
		}
		if v.Size == nil || *v.Size < 0 {
			return commitOp{}, fmt.Errorf("lfsFile %s: size is required", v.Path)
		}
		return commitOp{kind: opLFS, path: v.Path, oldPath: v.OldPath, oid: v.OID, size: *v.Size}, nil
	case "deletedFile", "deletedFolder", "deletedEntry":
		var v commitPathValue
		if err := json.Unmarshal(raw, &v); err != nil {
			return commitOp{}, fmt.Errorf("%s: %v", key, err)
		}
		kind := map[string]opKind{"deletedFile": opDeleteFile, "deletedFolder": opDeleteFolder, "deletedEntry": opDeleteEntry}[key]
		if kind == opDeleteFile && strings.HasSuffix(v.Path, "/") {
			kind = opDeleteFolder
		}
		return commitOp{kind: kind, path: v.Path}, nil
	}
	return commitOp{}, fmt.Errorf("unknown key %q", key)
}

// parseLegacyCommit reads the JSON commit format older clients send.
func parseLegacyCommit(obj map[string]json.RawMessage) (commitBody, error) {
	var v struct {
		Summary        *string           `json:"summary"`
		Description    string            `json:"description"`
		ParentCommit   string            `json:"parentCommit"`
		Files          []commitFileValue `json:"files"`
		LFSFiles       []commitLFSValue  `json:"lfsFiles"`
		DeletedFiles   []commitPathValue `json:"deletedFiles"`
		DeletedFolders []commitPathValue `json:"deletedFolders"`
	}
	raw, _ := json.Marshal(obj)
	if err := json.Unmarshal(raw, &v); err != nil {
		return commitBody{}, errBadRequest("invalid commit: " + err.Error())
	}
	if v.Summary == nil || strings.TrimSpace(*v.Summary) == "" {
		return commitBody{}, errBadRequest("summary is required")
	}
	body := commitBody{summary: *v.Summary, description: v.Description, parentCommit: v.ParentCommit}
	add := func(key string, item any) error {
		raw, _ := json.Marshal(item)
		op, err := parseCommitOp(key, raw)
		if err != nil {
			return errBadRequest(err.Error())
		}
		body.ops = append(body.ops, op)
		return nil
	}
	for _, f := range v.Files {
		if err := add("file", f); err != nil {
			return commitBody{}, err
		}
	}
	for _, f := range v.LFSFiles {
		if err := add("lfsFile", f); err != nil {
			return commitBody{}, err
		}
	}
	for _, f := range v.DeletedFiles {
		if err := add("deletedFile", f); err != nil {
			return commitBody{}, err
		}
	}
	for _, f := range v.DeletedFolders {
		if err := add("deletedFolder", f); err != nil {
			return commitBody{}, err
		}
	}
	return body, nil
}

func (s *Server) handleCommit(w http.ResponseWriter, r *http.Request, p principal, rp *repo, rev string) {
	ctx := r.Context()
	if p.anonymous() {
		writeError(w, http.StatusUnauthorized, "", "You must be authenticated to commit")
		return
	}
	body, err := parseCommitBody(r.Body)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	parent := ""
	if body.parentCommit != "" {
		if !isHex(body.parentCommit, 5, 40) {
			writeAPIError(w, errBadRequest("parentCommit must be a commit sha"))
			return
		}
		sha, ok := s.git.resolveHex(ctx, rp.gitDir, strings.ToLower(body.parentCommit))
		if !ok {
			writeError(w, http.StatusPreconditionFailed, "", "A commit has happened since. Please refresh and try again.")
			return
		}
		parent = sha
	}
	_, ref, err := s.resolveRev(ctx, rp, rev)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	commitURL := func(sha string) string { return s.webURL(rp) + "/commit/" + sha }

	if queryBool(r, "create_pr") {
		if !strings.HasPrefix(ref, "refs/heads/") {
			writeAPIError(w, errRevisionNotFound(rev))
			return
		}
		d, sha, err := s.createPRFromCommit(ctx, rp, p, ref, parent, body.summary, body.description, body.ops)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"success": true, "commitOid": sha, "commitUrl": commitURL(sha), "hookOutput": "",
			"pullRequestUrl": s.discussionWebURL(rp, d.num),
		})
		return
	}
	if _, isPR := prNumber(ref); !isPR && !strings.HasPrefix(ref, "refs/heads/") {
		writeAPIError(w, errBadRequest(fmt.Sprintf("cannot commit to %q: not a branch or a pull request", rev)))
		return
	}
	if err := s.writeAccess(p, rp, ref); err != nil {
		writeAPIError(w, err)
		return
	}
	res, err := s.commitToRef(ctx, rp, p, commitParams{
		ref: ref, parentCommit: parent, summary: body.summary, description: body.description, ops: body.ops,
	})
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "commitOid": res.sha, "commitUrl": commitURL(res.sha), "hookOutput": "",
	})
}
