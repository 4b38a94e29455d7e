package hubclient

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
)

// CommitFile is a file to add or replace.
type CommitFile struct {
	PathInRepo string // forward slashes, relative to the repo root
	LocalPath  string // read from this file, streamed; or
	Content    []byte // these bytes, for small files; or
	// Section produces bytes [off, off+n) of a file of Size bytes that is
	// on no disk (a conversion streamed from the Hub); every call must give
	// the same bytes. With SHA256 set the file is not read to hash it; it
	// is read by sections to upload it (parts in parallel, retries).
	Section func(ctx context.Context, off, n int64) (io.ReadCloser, error)
	Size    int64
	SHA256  string
}

// CommitRequest is one commit through the commit API.
type CommitRequest struct {
	Revision     string // branch or "refs/pr/N"; default "main". With CreatePR, the base branch.
	CreatePR     bool   // open a new pull request from this commit
	Summary      string // commit title, required
	Description  string // commit message body; the PR description with CreatePR
	ParentCommit string // optimistic concurrency: fail if Revision moved; with CreatePR, the commit the PR starts from
	Files        []CommitFile
	Deletes      []string // paths to delete; a trailing "/" deletes a folder
}

// CommitResult is the Hub's answer to a commit.
type CommitResult struct {
	CommitOID      string `json:"commitOid"`
	CommitURL      string `json:"commitUrl"`
	PullRequestURL string `json:"pullRequestUrl"`
	PullRequestNum int    `json:"-"` // parsed from PullRequestURL
}

// PullRequestRef is the git ref of the pull request the commit opened, or "".
func (r *CommitResult) PullRequestRef() string {
	if r.PullRequestNum == 0 {
		return ""
	}
	return "refs/pr/" + strconv.Itoa(r.PullRequestNum)
}

// ErrNothingToCommit is returned when every file is already on the Hub with
// the same content and nothing is deleted: the Hub would record an empty commit.
var ErrNothingToCommit = errors.New("nothing to commit: every file is unchanged")

// Batch sizes follow huggingface_hub.
const (
	preuploadBatch  = 256
	lfsBatch        = 256
	uploadParallel  = 4
	sampleSize      = 512
	hashBufferBytes = 1 << 20
)

// preparedFile is a file measured for the commit: size, sample and hashes,
// all computed in one pass over its content.
type preparedFile struct {
	CommitFile
	size   int64
	sample []byte
	sha256 string
	gitOID string // git blob sha1, to recognise an unchanged regular file
	lfs    bool
}

// open returns the content from the start.
func (f *preparedFile) open(ctx context.Context) (io.ReadCloser, error) {
	if f.Section != nil {
		return f.Section(ctx, 0, f.Size)
	}
	if f.LocalPath == "" {
		return io.NopCloser(bytes.NewReader(f.Content)), nil
	}
	return os.Open(f.LocalPath)
}

// section returns bytes [off, off+n) of the content, for uploads and retries.
func (f *preparedFile) section(ctx context.Context, off, n int64) (io.Reader, io.Closer, error) {
	if f.Section != nil {
		rc, err := f.Section(ctx, off, n)
		return rc, rc, err
	}
	if f.LocalPath == "" {
		return bytes.NewReader(f.Content[off : off+n]), io.NopCloser(nil), nil
	}
	file, err := os.Open(f.LocalPath)
	if err != nil {
		return nil, nil, err
	}
	return io.NewSectionReader(file, off, n), file, nil
}

// CreateCommit uploads what is needed and creates one commit: preupload
// decides regular or LFS per file, LFS content goes through the batch API
// (basic or multipart, then verify when asked), and the NDJSON commit call
// ties it together. Large files are streamed from disk and never held in
// memory. The commit call itself is not retried; see IsAmbiguous.
func (c *Client) CreateCommit(ctx context.Context, r Repo, req CommitRequest) (*CommitResult, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	req.Revision = revOrMain(req.Revision)
	if strings.TrimSpace(req.Summary) == "" {
		return nil, errors.New("commit: summary is required")
	}
	if req.CreatePR && strings.HasPrefix(req.Revision, "refs/pr/") {
		return nil, errors.New("commit: a new pull request needs a branch as its base, not a pull request ref")
	}
	files := make([]*preparedFile, 0, len(req.Files))
	for _, f := range req.Files {
		clean, err := cleanPath(f.PathInRepo)
		if err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		f.PathInRepo = clean
		pf, err := prepare(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("commit: read %s: %w", f.PathInRepo, err)
		}
		files = append(files, pf)
	}
	deletes := make([]string, 0, len(req.Deletes))
	for _, d := range req.Deletes {
		clean, err := cleanPath(d)
		if err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		if strings.HasSuffix(d, "/") {
			clean += "/"
		}
		deletes = append(deletes, clean)
	}

	files, err := c.preupload(ctx, r, req.Revision, req.CreatePR, files)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 && len(deletes) == 0 {
		return nil, ErrNothingToCommit
	}
	if err := c.uploadLFS(ctx, r, req, files); err != nil {
		return nil, err
	}
	return c.commit(ctx, r, req, files, deletes)
}

// prepare reads a file once to get its size, first bytes, sha256 and git
// blob id. A streamed file whose sha256 is known is only sampled.
func prepare(ctx context.Context, f CommitFile) (*preparedFile, error) {
	pf := &preparedFile{CommitFile: f}
	var size int64
	if f.Section != nil && f.SHA256 != "" {
		rc, err := f.Section(ctx, 0, min(f.Size, sampleSize))
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		sample := &limitedBuffer{max: sampleSize}
		if _, err := io.Copy(sample, rc); err != nil {
			return nil, err
		}
		pf.size, pf.sample, pf.sha256 = f.Size, sample.buf, f.SHA256
		return pf, nil
	}
	if f.Section != nil {
		size = f.Size
	} else if f.LocalPath != "" {
		st, err := os.Stat(f.LocalPath)
		if err != nil {
			return nil, err
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", f.LocalPath)
		}
		size = st.Size()
	} else {
		size = int64(len(f.Content))
	}
	rc, err := pf.open(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	sh, gh := sha256.New(), sha1.New()
	fmt.Fprintf(gh, "blob %d\x00", size)
	sample := &limitedBuffer{max: sampleSize}
	n, err := io.CopyBuffer(io.MultiWriter(sh, gh, sample), rc, make([]byte, hashBufferBytes))
	if err != nil {
		return nil, err
	}
	if n != size {
		return nil, fmt.Errorf("%s changed while being read (%d bytes, expected %d)", f.PathInRepo, n, size)
	}
	pf.size, pf.sample = size, sample.buf
	pf.sha256, pf.gitOID = hex.EncodeToString(sh.Sum(nil)), hex.EncodeToString(gh.Sum(nil))
	return pf, nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf []byte
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// preupload asks the Hub how to upload each file and drops files that are
// ignored or unchanged.
func (c *Client) preupload(ctx context.Context, r Repo, rev string, createPR bool, files []*preparedFile) ([]*preparedFile, error) {
	u := c.apiURL(r, "preupload", EscapeRevision(rev))
	if createPR {
		u += "?create_pr=1"
	}
	type fileIn struct {
		Path   string `json:"path"`
		Size   int64  `json:"size"`
		Sample string `json:"sample"`
	}
	type fileOut struct {
		Path         string `json:"path"`
		UploadMode   string `json:"uploadMode"`
		ShouldIgnore bool   `json:"shouldIgnore"`
		OID          string `json:"oid"`
	}
	var kept []*preparedFile
	for start := 0; start < len(files); start += preuploadBatch {
		chunk := files[start:min(start+preuploadBatch, len(files))]
		in := struct {
			Files []fileIn `json:"files"`
		}{}
		for _, f := range chunk {
			in.Files = append(in.Files, fileIn{Path: f.PathInRepo, Size: f.size, Sample: base64.StdEncoding.EncodeToString(f.sample)})
		}
		var out struct {
			Files []fileOut `json:"files"`
		}
		if err := c.sendJSON(ctx, "preupload", http.MethodPost, u, in, &out, true); err != nil {
			return nil, fmt.Errorf("preupload to %s at %q: %w", r, rev, err)
		}
		modes := map[string]fileOut{}
		for _, f := range out.Files {
			modes[f.Path] = f
		}
		for _, f := range chunk {
			m, ok := modes[f.PathInRepo]
			if !ok {
				return nil, fmt.Errorf("preupload to %s at %q: no answer for %s", r, rev, f.PathInRepo)
			}
			if m.ShouldIgnore {
				c.log.Info("hub ignores file (gitignore)", "path", f.PathInRepo)
				continue
			}
			f.lfs = m.UploadMode == "lfs" && f.size > 0 // empty files are always regular
			if m.OID != "" && (m.OID == f.sha256 || m.OID == f.gitOID) {
				continue // unchanged
			}
			kept = append(kept, f)
		}
	}
	return kept, nil
}

// lfsAction is one action of an LFS batch answer.
type lfsAction struct {
	Href      string            `json:"href"`
	Header    map[string]string `json:"header"`
	ExpiresIn int               `json:"expires_in"`
}

type lfsObject struct {
	OID     string `json:"oid"`
	Size    int64  `json:"size"`
	Actions *struct {
		Upload *lfsAction `json:"upload"`
		Verify *lfsAction `json:"verify"`
	} `json:"actions"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// uploadLFS sends the content of every LFS file the Hub does not have yet.
func (c *Client) uploadLFS(ctx context.Context, r Repo, req CommitRequest, files []*preparedFile) error {
	byOID := map[string]*preparedFile{}
	var objects []map[string]any
	for _, f := range files {
		if !f.lfs || byOID[f.sha256] != nil {
			continue
		}
		byOID[f.sha256] = f
		objects = append(objects, map[string]any{"oid": f.sha256, "size": f.size})
	}
	u := c.Endpoint() + "/" + r.String() + ".git/info/lfs/objects/batch"
	for start := 0; start < len(objects); start += lfsBatch {
		body := map[string]any{
			"operation": "upload",
			"transfers": []string{"basic", "multipart"},
			"hash_algo": "sha256",
			"objects":   objects[start:min(start+lfsBatch, len(objects))],
		}
		if !req.CreatePR {
			body["ref"] = map[string]string{"name": req.Revision} // raw, not escaped
		}
		data, _ := json.Marshal(body)
		resp, err := c.do(ctx, call{endpoint: "lfs_batch", method: http.MethodPost, url: u, idempotent: true,
			body:   func() (io.Reader, error) { return bytes.NewReader(data), nil },
			length: int64(len(data)),
			header: map[string]string{"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json"}})
		if err != nil {
			return fmt.Errorf("lfs batch for %s: %w", r, err)
		}
		var out struct {
			Transfer string      `json:"transfer"`
			Objects  []lfsObject `json:"objects"`
		}
		if err := decodeJSON(resp, &out); err != nil {
			return fmt.Errorf("lfs batch for %s: %w", r, err)
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(uploadParallel)
		for _, obj := range out.Objects {
			f := byOID[obj.OID]
			if f == nil {
				return fmt.Errorf("lfs batch for %s: answer names unknown object %s", r, obj.OID)
			}
			if obj.Error != nil {
				return fmt.Errorf("lfs batch for %s: %s: %d %s", r, f.PathInRepo, obj.Error.Code, obj.Error.Message)
			}
			if obj.Actions == nil || obj.Actions.Upload == nil {
				continue // already stored
			}
			g.Go(func() error {
				if err := c.uploadObject(gctx, f, obj.Actions.Upload); err != nil {
					return fmt.Errorf("upload %s: %w", f.PathInRepo, err)
				}
				if v := obj.Actions.Verify; v != nil {
					if err := c.verifyObject(gctx, f, v); err != nil {
						return fmt.Errorf("verify %s: %w", f.PathInRepo, err)
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// uploadObject sends one object with the transfer the batch answer chose:
// multipart when the upload header carries a chunk size, else one PUT.
func (c *Client) uploadObject(ctx context.Context, f *preparedFile, up *lfsAction) error {
	if cs, ok := up.Header["chunk_size"]; ok {
		chunk, err := strconv.ParseInt(cs, 10, 64)
		if err != nil || chunk <= 0 {
			return fmt.Errorf("multipart: bad chunk_size %q", cs)
		}
		return c.uploadMultipart(ctx, f, up, chunk)
	}
	extra := map[string]string{}
	for k, v := range up.Header {
		if _, err := strconv.Atoi(k); err != nil {
			extra[k] = v
		}
	}
	_, err := c.put(ctx, "lfs_upload", up.Href, f, 0, f.size, extra)
	return err
}

// put sends bytes [off, off+n) of f to a presigned URL and returns the ETag.
func (c *Client) put(ctx context.Context, endpoint, href string, f *preparedFile, off, n int64, header map[string]string) (string, error) {
	var closer io.Closer
	defer func() {
		if closer != nil {
			closer.Close()
		}
	}()
	body := func() (io.Reader, error) {
		if closer != nil {
			closer.Close()
		}
		r, cl, err := f.section(ctx, off, n)
		closer = cl
		return r, err
	}
	resp, err := c.do(ctx, call{endpoint: endpoint, method: http.MethodPut, url: href, body: body, length: n,
		idempotent: true, noAuth: true, header: header})
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.Header.Get("ETag"), nil
}

// uploadMultipart sends the parts named in the upload header (keys "00001",
// "00002", ...) and completes the upload with their ETags.
func (c *Client) uploadMultipart(ctx context.Context, f *preparedFile, up *lfsAction, chunk int64) error {
	want := int((f.size + chunk - 1) / chunk)
	urls := make([]string, want)
	for k, v := range up.Header {
		n, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		if n < 1 || n > want {
			return fmt.Errorf("multipart: part %d outside 1..%d", n, want)
		}
		urls[n-1] = v
	}
	for i, u := range urls {
		if u == "" {
			return fmt.Errorf("multipart: %d parts needed for %d bytes in chunks of %d, part %d missing", want, f.size, chunk, i+1)
		}
	}
	type part struct {
		PartNumber int    `json:"partNumber"`
		ETag       string `json:"etag"`
	}
	parts := make([]part, want)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(uploadParallel)
	for i, u := range urls {
		off := int64(i) * chunk
		g.Go(func() error {
			etag, err := c.put(gctx, "lfs_upload_part", u, f, off, min(chunk, f.size-off), nil)
			if err != nil {
				return fmt.Errorf("part %d: %w", i+1, err)
			}
			if etag == "" {
				return fmt.Errorf("part %d: storage answered without an ETag", i+1)
			}
			parts[i] = part{PartNumber: i + 1, ETag: etag}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	body, n, err := jsonBody(map[string]any{"oid": f.sha256, "parts": parts})
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, call{endpoint: "lfs_complete", method: http.MethodPost, url: up.Href, body: body, length: n,
		idempotent: true, noAuth: true,
		header: map[string]string{"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json"}})
	if err != nil {
		return fmt.Errorf("complete multipart upload: %w", err)
	}
	resp.Body.Close()
	return nil
}

// verifyObject asks the Hub to confirm it stored the object. The token goes
// along only when the verify URL is on the Hub's own host.
func (c *Client) verifyObject(ctx context.Context, f *preparedFile, v *lfsAction) error {
	body, n, err := jsonBody(map[string]any{"oid": f.sha256, "size": f.size})
	if err != nil {
		return err
	}
	target, err := url.Parse(v.Href)
	if err != nil {
		return fmt.Errorf("bad verify URL: %w", err)
	}
	header := map[string]string{"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json"}
	for k, val := range v.Header {
		if !strings.EqualFold(k, "Authorization") {
			header[k] = val
		}
	}
	resp, err := c.do(ctx, call{endpoint: "lfs_verify", method: http.MethodPost, url: v.Href, body: body, length: n,
		idempotent: true, noAuth: target.Host != c.base.Host, header: header})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

var prURLPattern = regexp.MustCompile(`/discussions/(\d+)/?$`)

// commit sends the NDJSON commit call. Regular files are base64-encoded into
// the body as it streams out, so no file is held whole in memory.
func (c *Client) commit(ctx context.Context, r Repo, req CommitRequest, files []*preparedFile, deletes []string) (*CommitResult, error) {
	u := c.apiURL(r, "commit", EscapeRevision(req.Revision))
	if req.CreatePR {
		u += "?create_pr=1"
	}
	body := func() (io.Reader, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeNDJSON(ctx, pw, req, files, deletes)) }()
		return pr, nil
	}
	resp, err := c.do(ctx, call{endpoint: "commit", method: http.MethodPost, url: u, body: body, length: -1,
		header: map[string]string{"Content-Type": "application/x-ndjson", "Accept": "application/json"}})
	if err != nil {
		return nil, fmt.Errorf("commit to %s at %q: %w", r, req.Revision, err)
	}
	var out CommitResult
	if err := decodeJSON(resp, &out); err != nil {
		return nil, fmt.Errorf("commit to %s at %q: %w", r, req.Revision, err)
	}
	if m := prURLPattern.FindStringSubmatch(out.PullRequestURL); m != nil {
		out.PullRequestNum, _ = strconv.Atoi(m[1])
	}
	if req.CreatePR && out.PullRequestNum == 0 {
		return &out, fmt.Errorf("commit to %s: asked for a pull request, the answer has no pull request URL (%q)", r, out.PullRequestURL)
	}
	return &out, nil
}

// writeNDJSON writes the commit body: the header line, then one line per
// operation, each terminated by a newline.
func writeNDJSON(ctx context.Context, w io.Writer, req CommitRequest, files []*preparedFile, deletes []string) error {
	line := func(key string, value any) error {
		data, err := json.Marshal(map[string]any{"key": key, "value": value})
		if err != nil {
			return err
		}
		_, err = w.Write(append(data, '\n'))
		return err
	}
	header := map[string]any{"summary": req.Summary, "description": req.Description}
	if req.ParentCommit != "" {
		header["parentCommit"] = req.ParentCommit
	}
	if err := line("header", header); err != nil {
		return err
	}
	for _, f := range files {
		if f.lfs {
			if err := line("lfsFile", map[string]any{"path": f.PathInRepo, "algo": "sha256", "oid": f.sha256, "size": f.size}); err != nil {
				return err
			}
			continue
		}
		if err := writeFileLine(ctx, w, f); err != nil {
			return err
		}
	}
	for _, d := range deletes {
		key := "deletedFile"
		if strings.HasSuffix(d, "/") {
			key = "deletedFolder"
		}
		if err := line(key, map[string]string{"path": d}); err != nil {
			return err
		}
	}
	return nil
}

// writeFileLine streams {"key":"file","value":{"content":"<base64>","path":...,"encoding":"base64"}}.
func writeFileLine(ctx context.Context, w io.Writer, f *preparedFile) error {
	path, _ := json.Marshal(f.PathInRepo)
	if _, err := io.WriteString(w, `{"key":"file","value":{"content":"`); err != nil {
		return err
	}
	rc, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if _, err := io.Copy(enc, rc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, `","path":%s,"encoding":"base64"}}`+"\n", path)
	return err
}

// cleanPath applies huggingface_hub's rules for paths in a commit: a leading
// "/" or "./" is dropped; ".", ".." and anything below ".." are refused, and
// so is any ".git" or ".cache" component.
func cleanPath(p string) (string, error) {
	orig := p
	p = strings.TrimRight(p, "/")
	for strings.HasPrefix(p, "/") || strings.HasPrefix(p, "./") {
		p = strings.TrimPrefix(strings.TrimPrefix(p, "/"), "./")
	}
	if err := validatePath(p); err != nil {
		return "", fmt.Errorf("invalid path %q: %w", orig, err)
	}
	return p, nil
}

// validatePath refuses paths that would escape the repo or touch git's own files.
func validatePath(p string) error {
	if p == "" || p == "." {
		return errors.New("empty path")
	}
	if strings.ContainsRune(p, '\\') || strings.ContainsRune(p, 0) {
		return errors.New("backslashes and NUL are not allowed")
	}
	for _, part := range strings.Split(p, "/") {
		switch part {
		case "", ".":
			return errors.New("empty or '.' path component")
		case "..":
			return errors.New("'..' is not allowed")
		case ".git", ".cache":
			return fmt.Errorf("%q components are not allowed", part)
		}
	}
	return nil
}
