package hubclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrChanged is wrapped by RemoteFile reads when the file is no longer the
// one that was opened: the storage answers with another ETag or size.
var ErrChanged = errors.New("the file changed while it was being read")

// ErrNoRanges is wrapped by RemoteFile reads when the storage does not
// answer range requests with the range (it refuses them, or answers 200
// with the whole file for a range that does not start at 0).
var ErrNoRanges = errors.New("the storage does not serve byte ranges")

// RemoteFile reads one file of a repository with HTTP range requests on
// its resolve URL, without downloading it: an io.ReaderAt for readers that
// jump (a zip's central directory at the end, then each record) or go
// through a file once. The revision is pinned to the commit it resolved to
// when opened, and every answer must carry the ETag and size of the first,
// so the bytes all come from one version of the file.
//
// Reads that continue where an earlier one ended reuse its open answer (up
// to maxCursors answers stay open, so a few readers going through
// different parts of the file at once, as parallel upload parts do, each
// keep theirs); a jump opens a new range ("bytes=off-"). A connection that
// fails in the middle of a body is reopened at the byte where it stopped,
// with the client's retry budget and backoff; 5xx answers are retried by
// the client. ReadAt may be called concurrently.
type RemoteFile struct {
	c      *Client
	ctx    context.Context
	url    string // resolve URL at the pinned commit
	path   string
	size   int64
	etag   string // the storage's ETag, as first seen; "" if it sends none
	commit string
	linked string // the Hub's X-Linked-Etag: an LFS file's sha256

	mu       sync.Mutex
	idle     []*cursor // open answers not in use, oldest first
	requests int
}

// cursor is an open answer positioned at pos.
type cursor struct {
	body io.ReadCloser
	pos  int64
}

// maxCursors bounds the open answers kept for reuse.
const maxCursors = 8

// OpenFile opens path in repo r at revision rev (default main) for range
// reads. ctx bounds every later read; Close releases the open answer.
func (c *Client) OpenFile(ctx context.Context, r Repo, rev, path string) (*RemoteFile, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if err := validatePath(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f := &RemoteFile{c: c, ctx: ctx, path: path, url: c.ResolveURL(r, revOrMain(rev), path)}
	// A one-byte range tells the size (Content-Range), the storage's ETag
	// and, on the Hub's first answer, the commit the revision resolved to.
	resp, err := c.follow(ctx, f.url, map[string]string{"Range": "bytes=0-0"})
	if err != nil {
		return nil, fmt.Errorf("open %s from %s at %q: %w", path, r, revOrMain(rev), scrubURLError(err))
	}
	defer resp.Body.Close()
	f.requests++
	f.commit = resp.first.Header.Get("X-Repo-Commit")
	f.linked = normalizeETag(resp.first.Header.Get("X-Linked-Etag"))
	f.etag = normalizeETag(resp.Header.Get("ETag"))
	switch resp.StatusCode {
	case http.StatusPartialContent:
		_, total, err := contentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		f.size = total
	case http.StatusOK:
		// Storage that ignores ranges: the size is the whole answer's.
		if resp.ContentLength < 0 {
			return nil, fmt.Errorf("open %s: %w: a 200 answer without a length", path, ErrNoRanges)
		}
		f.size = resp.ContentLength
	default:
		return nil, fmt.Errorf("open %s: unexpected status %d", path, resp.StatusCode)
	}
	if f.commit != "" {
		f.url = c.ResolveURL(r, f.commit, path)
	}
	return f, nil
}

// Size is the file's size in bytes.
func (f *RemoteFile) Size() int64 { return f.size }

// Commit is the commit the revision resolved to when the file was opened.
func (f *RemoteFile) Commit() string { return f.commit }

// LinkedETag is the sha256 of an LFS file's content as the Hub names it
// (X-Linked-Etag), "" for a regular file.
func (f *RemoteFile) LinkedETag() string { return f.linked }

// ETag is the storage's ETag for the file, "" if it sends none.
func (f *RemoteFile) ETag() string { return f.etag }

// Requests counts the HTTP answers opened so far (each range, each retry).
func (f *RemoteFile) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Close releases the open answers. The file can still be read.
func (f *RemoteFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.idle {
		c.body.Close()
	}
	f.idle = nil
	return nil
}

// take returns the idle answer positioned at off, or nil.
func (f *RemoteFile) take(off int64) *cursor {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.idle {
		if c.pos == off {
			f.idle = append(f.idle[:i], f.idle[i+1:]...)
			return c
		}
	}
	return nil
}

// put keeps an answer for reuse, closing the oldest beyond maxCursors.
func (f *RemoteFile) put(c *cursor) {
	if c == nil || c.body == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.idle = append(f.idle, c)
	if len(f.idle) > maxCursors {
		f.idle[0].body.Close()
		f.idle = f.idle[1:]
	}
}

// ReadAt reads len(p) bytes at off, as io.ReaderAt.
func (f *RemoteFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset", f.path)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := int(min(int64(len(p)), f.size-off))
	cur := f.take(off)
	defer func() { f.put(cur) }()
	read, failures := 0, 0
	for read < want {
		if err := f.ctx.Err(); err != nil {
			return read, err
		}
		if cur == nil {
			var err error
			if cur, err = f.open(off + int64(read)); err != nil {
				return read, err
			}
		}
		n, err := io.ReadFull(cur.body, p[read:want])
		read += n
		cur.pos += int64(n)
		if err == nil {
			continue
		}
		at := cur.pos
		cur.body.Close()
		cur = nil
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = fmt.Errorf("the answer ended at byte %d of %d", at, f.size)
		}
		if failures >= f.c.opts.MaxRetries {
			return read, fmt.Errorf("read %s at byte %d: %w", f.path, at, scrubURLError(err))
		}
		wait := f.c.backoff(failures, err)
		failures++
		f.c.log.LogAttrs(f.ctx, slog.LevelWarn, "range read failed, reopening",
			slog.String("path", f.path), slog.Int64("offset", at), slog.Int("attempt", failures),
			slog.String("error", scrubURLError(err).Error()))
		timer := time.NewTimer(wait)
		select {
		case <-f.ctx.Done():
			timer.Stop()
			return read, f.ctx.Err()
		case <-timer.C:
		}
	}
	if want < len(p) {
		return read, io.EOF
	}
	return read, nil
}

// open starts an answer at off, to the end of the file, and checks that it
// is the range asked for, of the same file.
func (f *RemoteFile) open(off int64) (*cursor, error) {
	resp, err := f.c.follow(f.ctx, f.url, map[string]string{"Range": "bytes=" + strconv.FormatInt(off, 10) + "-"})
	if err != nil {
		return nil, fmt.Errorf("read %s at byte %d: %w", f.path, off, scrubURLError(err))
	}
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	fail := func(err error) (*cursor, error) {
		resp.Body.Close()
		return nil, fmt.Errorf("read %s at byte %d: %w", f.path, off, err)
	}
	if etag := normalizeETag(resp.Header.Get("ETag")); f.etag != "" && etag != f.etag {
		return fail(fmt.Errorf("%w: ETag %q, opened as %q", ErrChanged, etag, f.etag))
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, total, err := contentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return fail(err)
		}
		if total != f.size {
			return fail(fmt.Errorf("%w: %d bytes, opened with %d", ErrChanged, total, f.size))
		}
		if start != off {
			return fail(fmt.Errorf("%w: asked for byte %d, the answer starts at %d", ErrNoRanges, off, start))
		}
	case http.StatusOK:
		if resp.ContentLength >= 0 && resp.ContentLength != f.size {
			return fail(fmt.Errorf("%w: %d bytes, opened with %d", ErrChanged, resp.ContentLength, f.size))
		}
		if off != 0 {
			return fail(fmt.Errorf("%w: a range from byte %d was answered with the whole file (200)", ErrNoRanges, off))
		}
	default:
		return fail(fmt.Errorf("unexpected status %d", resp.StatusCode))
	}
	return &cursor{body: resp.Body, pos: off}, nil
}

// contentRange parses "bytes START-END/TOTAL".
func contentRange(v string) (start, total int64, err error) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	span, size, ok2 := strings.Cut(rest, "/")
	first, _, ok3 := strings.Cut(span, "-")
	if ok && ok2 && ok3 {
		start, err1 := strconv.ParseInt(first, 10, 64)
		total, err2 := strconv.ParseInt(size, 10, 64)
		if err1 == nil && err2 == nil && start >= 0 && total >= 0 {
			return start, total, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: unreadable Content-Range %q", ErrNoRanges, v)
}
