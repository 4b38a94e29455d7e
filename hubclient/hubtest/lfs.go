package hubtest

// The Git LFS batch API on the Hub listener, and the presigned storage URLs
// it hands out on the CDN listener. The CDN checks only the URL signature:
// it never needs an Authorization header, and Requests() on the CDN shows
// any that a client leaks.

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubbot/hubbot/lfs"
)

const lfsMediaType = "application/vnd.git-lfs+json"

// presignTTL is how long presigned URLs stay valid.
const presignTTL = time.Hour

type multipartUpload struct {
	id    string
	repo  *repo
	oid   string
	size  int64
	chunk int64
	parts int
	dir   string
	mu    sync.Mutex
	etags map[int]string
}

type uploadSet struct {
	mu sync.Mutex
	m  map[string]*multipartUpload
}

func newUploadSet() *uploadSet { return &uploadSet{m: map[string]*multipartUpload{}} }

// sign signs the parts of a presigned URL.
func (s *Server) sign(parts ...string) string {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(mac.Sum(nil))
}

// presign returns base+path with an expiry and a signature over the method,
// the path and the expiry.
func (s *Server) presign(base, method, path string) string {
	expires := strconv.FormatInt(s.opts.Clock().Add(presignTTL).Unix(), 10)
	q := url.Values{"X-Amz-Expires": {expires}, "X-Amz-Signature": {s.sign(method, path, expires)}}
	return base + path + "?" + q.Encode()
}

// checkSignature verifies a presigned request.
func (s *Server) checkSignature(r *http.Request) bool {
	q := r.URL.Query()
	expires, sig := q.Get("X-Amz-Expires"), q.Get("X-Amz-Signature")
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || s.opts.Clock().Unix() > exp {
		return false
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet // a download URL answers HEAD too, as S3 does
	}
	want := s.sign(method, r.URL.EscapedPath(), expires)
	return hmac.Equal([]byte(want), []byte(sig))
}

func writeLFSError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-Error-Message", msg)
	body, _ := json.Marshal(map[string]string{"message": msg, "error": msg})
	w.Header().Set("Content-Type", lfsMediaType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>\n", code, msg)
}

// splitRepoPath reads "/{prefix}{ns}/{name}" into a repo type and name.
func splitRepoPath(p string) (kind, name string, ok bool) {
	segs := pathSegments(p)
	kind = TypeModel
	if len(segs) == 3 && (segs[0] == "datasets" || segs[0] == "spaces") {
		kind, segs = strings.TrimSuffix(segs[0], "s"), segs[1:]
	}
	if len(segs) != 2 {
		return "", "", false
	}
	n, err := unescapeAll(segs)
	if err != nil || !validRepoName(strings.Split(n, "/")[0]) || !validRepoName(strings.Split(n, "/")[1]) {
		return "", "", false
	}
	return kind, n, true
}

func (s *Server) lfsBaseURL(rp *repo) string {
	return s.URL + "/" + urlPrefix(rp.kind) + rp.name + ".git/info/lfs"
}

// routeLFS dispatches /{prefix}{repo}.git/info/lfs/... on the Hub listener.
func (s *Server) routeLFS(w http.ResponseWriter, r *http.Request) {
	repoPath, rest, _ := strings.Cut(r.URL.EscapedPath(), ".git/info/lfs/")
	kind, name, ok := splitRepoPath(repoPath)
	if !ok {
		writeLFSError(w, http.StatusNotFound, "Repository not found")
		return
	}
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	if strings.HasPrefix(rest, "complete/") {
		s.handleMultipartComplete(w, r, kind, name, strings.TrimPrefix(rest, "complete/"))
		return
	}
	p, ok := s.authenticate(r)
	if !ok {
		w.Header().Set("LFS-Authenticate", `Basic realm="Hugging Face"`)
		writeLFSError(w, http.StatusUnauthorized, msgBadToken)
		return
	}
	s.mu.Lock()
	rp, exists := s.repos[repoKey(kind, name)]
	readable := exists && s.canReadLocked(p, rp)
	s.mu.Unlock()
	if !readable {
		if p.anonymous() {
			w.Header().Set("LFS-Authenticate", `Basic realm="Hugging Face"`)
			writeLFSError(w, http.StatusUnauthorized, "Repository not found")
			return
		}
		writeLFSError(w, http.StatusNotFound, "Repository not found")
		return
	}
	switch rest {
	case "objects/batch":
		s.handleLFSBatch(w, r, p, rp)
	case "objects/verify":
		s.handleLFSVerify(w, r, rp)
	default:
		writeLFSError(w, http.StatusNotFound, "Not Found")
	}
}

type lfsObject struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}

type lfsBatchRequest struct {
	Operation string      `json:"operation"`
	Transfers []string    `json:"transfers"`
	Objects   []lfsObject `json:"objects"`
	HashAlgo  string      `json:"hash_algo"`
	Ref       *struct {
		Name string `json:"name"`
	} `json:"ref"`
}

func (s *Server) handleLFSBatch(w http.ResponseWriter, r *http.Request, p principal, rp *repo) {
	var req lfsBatchRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&req); err != nil {
		writeLFSError(w, http.StatusBadRequest, "invalid batch request: "+err.Error())
		return
	}
	if req.Operation != "upload" && req.Operation != "download" {
		writeLFSError(w, http.StatusBadRequest, `operation must be "upload" or "download"`)
		return
	}
	if req.Objects == nil {
		writeLFSError(w, http.StatusBadRequest, "objects is required")
		return
	}
	if req.HashAlgo != "" && req.HashAlgo != "sha256" && req.HashAlgo != "sha_256" {
		writeLFSError(w, http.StatusConflict, "unsupported hash algorithm "+req.HashAlgo)
		return
	}
	if req.Operation == "upload" {
		if p.anonymous() {
			w.Header().Set("LFS-Authenticate", `Basic realm="Hugging Face"`)
			writeLFSError(w, http.StatusUnauthorized, "You must be authenticated to upload")
			return
		}
		ref := ""
		if req.Ref != nil {
			ref = req.Ref.Name
		}
		if ref != "" {
			if !strings.HasPrefix(ref, "refs/") {
				ref = "refs/heads/" + ref
			}
			if err := s.writeAccess(p, rp, ref); err != nil {
				writeLFSError(w, http.StatusForbidden, err.Error())
				return
			}
		}
	}
	multipart := slices.Contains(req.Transfers, "multipart")
	transfer := "basic"
	objects := make([]map[string]any, 0, len(req.Objects))
	for _, o := range req.Objects {
		obj := map[string]any{"oid": o.OID, "size": o.Size}
		if !lfs.ValidOID(o.OID) || o.Size < 0 {
			obj["error"] = map[string]any{"code": http.StatusUnprocessableEntity, "message": "Invalid oid or size"}
			objects = append(objects, obj)
			continue
		}
		stored, have := s.repoLFS(rp, o.OID)
		if req.Operation == "download" {
			if !have {
				obj["error"] = map[string]any{"code": http.StatusNotFound, "message": "Object does not exist"}
			} else {
				obj["size"] = stored
				obj["authenticated"] = true
				obj["actions"] = map[string]any{"download": map[string]any{
					"href": s.presign(s.CDNURL, http.MethodGet, s.cdnObjectPath(rp, o.OID)), "expires_in": int(presignTTL.Seconds()),
				}}
			}
			objects = append(objects, obj)
			continue
		}
		obj["authenticated"] = true
		if have && stored == o.Size {
			objects = append(objects, obj) // already uploaded: no actions
			continue
		}
		verify := map[string]any{"href": s.lfsBaseURL(rp) + "/objects/verify", "expires_in": int(presignTTL.Seconds())}
		if multipart && o.Size >= s.opts.MultipartThreshold {
			transfer = "multipart"
			up, err := s.startMultipart(rp, o)
			if err != nil {
				obj["error"] = map[string]any{"code": http.StatusInternalServerError, "message": err.Error()}
				objects = append(objects, obj)
				continue
			}
			header := map[string]string{"chunk_size": strconv.FormatInt(up.chunk, 10)}
			for i := 1; i <= up.parts; i++ {
				header[fmt.Sprintf("%05d", i)] = s.presign(s.CDNURL, http.MethodPut, fmt.Sprintf("/multipart/%s/%d", up.id, i))
			}
			obj["actions"] = map[string]any{
				"upload": map[string]any{
					"href":   s.presign(s.URL, http.MethodPost, s.completionPath(rp, up.id)),
					"header": header, "expires_in": int(presignTTL.Seconds()),
				},
				"verify": verify,
			}
		} else {
			obj["actions"] = map[string]any{
				"upload": map[string]any{"href": s.presign(s.CDNURL, http.MethodPut, s.cdnObjectPath(rp, o.OID)), "expires_in": int(presignTTL.Seconds())},
				"verify": verify,
			}
		}
		objects = append(objects, obj)
	}
	body, _ := json.Marshal(map[string]any{"transfer": transfer, "objects": objects, "hash_algo": "sha256"})
	w.Header().Set("Content-Type", lfsMediaType)
	_, _ = w.Write(body)
}

// completionPath is the Hub path that completes a multipart upload.
func (s *Server) completionPath(rp *repo, id string) string {
	return "/" + urlPrefix(rp.kind) + rp.name + ".git/info/lfs/complete/" + id
}

// cdnObjectPath is the storage path of an object of a repo on the CDN.
func (s *Server) cdnObjectPath(rp *repo, oid string) string {
	return "/lfs/" + rp.kind + "/" + rp.name + "/" + oid
}

func (s *Server) startMultipart(rp *repo, o lfsObject) (*multipartUpload, error) {
	id := randomHex(16)
	dir := filepath.Join(s.dir, "tmp", "multipart-"+id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start multipart upload: %w", err)
	}
	chunk := s.opts.MultipartChunkSize
	parts := int((o.Size + chunk - 1) / chunk)
	if parts == 0 {
		parts = 1
	}
	up := &multipartUpload{id: id, repo: rp, oid: o.OID, size: o.Size, chunk: chunk, parts: parts, dir: dir, etags: map[int]string{}}
	s.uploads.mu.Lock()
	s.uploads.m[id] = up
	s.uploads.mu.Unlock()
	return up, nil
}

func (s *Server) handleMultipartComplete(w http.ResponseWriter, r *http.Request, kind, name, id string) {
	// The completion URL is presigned on the Hub listener, signed over its
	// full path.
	if !s.checkSignature(r) {
		writeLFSError(w, http.StatusForbidden, "invalid or expired signature")
		return
	}
	s.uploads.mu.Lock()
	up, ok := s.uploads.m[id]
	s.uploads.mu.Unlock()
	if !ok || up.repo.kind != kind || up.repo.name != name {
		writeLFSError(w, http.StatusNotFound, "unknown upload")
		return
	}
	var body struct {
		OID   string `json:"oid"`
		Parts []struct {
			PartNumber int    `json:"partNumber"`
			ETag       string `json:"etag"`
		} `json:"parts"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		writeLFSError(w, http.StatusBadRequest, "invalid completion body: "+err.Error())
		return
	}
	if body.OID != up.oid {
		writeLFSError(w, http.StatusBadRequest, "oid does not match the upload")
		return
	}
	if len(body.Parts) != up.parts {
		writeLFSError(w, http.StatusBadRequest, fmt.Sprintf("expected %d parts, got %d", up.parts, len(body.Parts)))
		return
	}
	up.mu.Lock()
	for i, part := range body.Parts {
		want, have := up.etags[part.PartNumber]
		if part.PartNumber != i+1 || !have || strings.Trim(part.ETag, `"`) != want {
			up.mu.Unlock()
			writeLFSError(w, http.StatusBadRequest, fmt.Sprintf("part %d: missing or wrong etag", part.PartNumber))
			return
		}
	}
	up.mu.Unlock()
	var readers []io.Reader
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i := 1; i <= up.parts; i++ {
		f, err := os.Open(filepath.Join(up.dir, strconv.Itoa(i)))
		if err != nil {
			writeLFSError(w, http.StatusBadRequest, fmt.Sprintf("part %d was not uploaded", i))
			return
		}
		files = append(files, f)
		readers = append(readers, f)
	}
	if err := s.storeLFS(up.oid, up.size, io.MultiReader(readers...)); err != nil {
		writeLFSError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.linkLFS(up.repo, up.oid, up.size)
	s.uploads.mu.Lock()
	delete(s.uploads.m, id)
	s.uploads.mu.Unlock()
	_ = os.RemoveAll(up.dir)
	w.Header().Set("Content-Type", lfsMediaType)
	_, _ = w.Write([]byte("{}"))
}

func (s *Server) handleLFSVerify(w http.ResponseWriter, r *http.Request, rp *repo) {
	var o lfsObject
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&o); err != nil {
		writeLFSError(w, http.StatusBadRequest, "invalid verify body: "+err.Error())
		return
	}
	size, ok := s.repoLFS(rp, o.OID)
	switch {
	case !ok:
		writeLFSError(w, http.StatusNotFound, "Object "+o.OID+" not found")
	case size != o.Size:
		writeLFSError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Object %s has size %d, not %d", o.OID, size, o.Size))
	default:
		w.Header().Set("Content-Type", lfsMediaType)
		_, _ = w.Write([]byte(`{"message":"Object verified"}`))
	}
}

// routeCDN serves the presigned storage URLs.
func (s *Server) routeCDN(w http.ResponseWriter, r *http.Request) {
	if !s.checkSignature(r) {
		writeS3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature is invalid or expired.")
		return
	}
	segs := pathSegments(r.URL.EscapedPath())
	switch {
	case len(segs) == 5 && segs[0] == "lfs":
		s.mu.Lock()
		rp, ok := s.repos[repoKey(segs[1], segs[2]+"/"+segs[3])]
		s.mu.Unlock()
		oid := segs[4]
		if !ok || !lfs.ValidOID(oid) {
			writeS3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			if _, have := s.repoLFS(rp, oid); !have {
				writeS3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
				return
			}
			s.serveLFSFile(w, r, oid)
		case http.MethodPut:
			s.handleCDNPut(w, r, rp, oid)
		default:
			writeS3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The method is not allowed.")
		}
	case len(segs) == 3 && segs[0] == "multipart" && r.Method == http.MethodPut:
		s.handleCDNPart(w, r, segs[1], segs[2])
	default:
		writeS3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
}

// handleCDNPut stores a basic upload: the size is taken from Content-Length
// and checked with the oid while streaming.
func (s *Server) handleCDNPut(w http.ResponseWriter, r *http.Request, rp *repo, oid string) {
	if r.ContentLength < 0 {
		writeS3Error(w, http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
		return
	}
	if err := s.storeLFS(oid, r.ContentLength, r.Body); err != nil {
		if e, ok := err.(*apiError); ok {
			writeS3Error(w, e.status, "BadDigest", e.msg)
			return
		}
		writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	s.linkLFS(rp, oid, r.ContentLength)
	w.Header().Set("ETag", `"`+oid[:32]+`"`)
	w.WriteHeader(http.StatusOK)
}

// handleCDNPart stores one part of a multipart upload and answers its ETag.
func (s *Server) handleCDNPart(w http.ResponseWriter, r *http.Request, id, num string) {
	s.uploads.mu.Lock()
	up, ok := s.uploads.m[id]
	s.uploads.mu.Unlock()
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 || n > up.parts || strconv.Itoa(n) != num {
		writeS3Error(w, http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist.")
		return
	}
	want := up.chunk
	if n == up.parts {
		want = up.size - up.chunk*int64(up.parts-1)
	}
	tmp, err := os.CreateTemp(up.dir, "part-*")
	if err != nil {
		writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	defer os.Remove(tmp.Name())
	h := md5.New()
	got, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r.Body, want+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	if got != want {
		writeS3Error(w, http.StatusBadRequest, "IncompleteBody", fmt.Sprintf("part %d must have %d bytes, got %d or more", n, want, got))
		return
	}
	if err := os.Rename(tmp.Name(), filepath.Join(up.dir, strconv.Itoa(n))); err != nil {
		writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	etag := hex.EncodeToString(h.Sum(nil))
	up.mu.Lock()
	up.etags[n] = etag
	up.mu.Unlock()
	w.Header().Set("ETag", `"`+etag+`"`)
	w.WriteHeader(http.StatusOK)
}
