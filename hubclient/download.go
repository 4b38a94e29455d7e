package hubclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hubbot/hubbot/lfs"
)

// DownloadInfo describes a downloaded file.
type DownloadInfo struct {
	Size      int64
	SHA256    string // of the bytes written
	CommitSHA string // X-Repo-Commit: what the revision resolved to
}

// Download streams a file at a revision to w through the resolve endpoint,
// following the Hub's redirect to its storage without sending the token to
// another host. When want is set (the file's LFS pointer), or the Hub names
// the content's sha256 and size in its headers, the bytes are checked against
// them; a mismatch is an error (w may then hold partial content, so write to
// a temporary file).
func (c *Client) Download(ctx context.Context, r Repo, rev, path string, w io.Writer, want *lfs.Pointer) (*DownloadInfo, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if err := validatePath(path); err != nil {
		return nil, fmt.Errorf("download %s: %w", path, err)
	}
	u := c.ResolveURL(r, revOrMain(rev), path)
	resp, err := c.follow(ctx, u, nil)
	if err != nil {
		return nil, fmt.Errorf("download %s from %s at %q: %w", path, r, rev, err)
	}
	defer resp.Body.Close()

	info := &DownloadInfo{CommitSHA: resp.first.Header.Get("X-Repo-Commit")}
	wantOID, wantSize := "", int64(-1)
	if want != nil {
		wantOID, wantSize = want.OID, want.Size
	} else {
		if etag := normalizeETag(firstHeader(resp.first.Header, "X-Linked-Etag", "ETag")); lfs.ValidOID(etag) {
			wantOID = etag
		}
		if n, err := strconv.ParseInt(resp.first.Header.Get("X-Linked-Size"), 10, 64); err == nil {
			wantSize = n
		}
	}
	h := sha256.New()
	src := io.Reader(resp.Body)
	if wantSize >= 0 {
		src = io.LimitReader(resp.Body, wantSize+1) // one more byte reveals an oversized answer
	}
	n, err := io.Copy(io.MultiWriter(w, h), src)
	if err != nil {
		return nil, fmt.Errorf("download %s from %s at %q: %w", path, r, rev, scrubURLError(err))
	}
	info.Size, info.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	if wantSize >= 0 && n != wantSize {
		return info, fmt.Errorf("download %s from %s at %q: got %d bytes, want %d", path, r, rev, n, wantSize)
	}
	if wantOID != "" && info.SHA256 != wantOID {
		return info, fmt.Errorf("download %s from %s at %q: sha256 %s, want %s", path, r, rev, info.SHA256, wantOID)
	}
	return info, nil
}

// followed is a response at the end of a redirect chain, with the first
// response's headers (the Hub's metadata headers are on the redirect).
type followed struct {
	*http.Response
	first *http.Response
}

// follow GETs u, following up to 10 redirects by hand: the token goes only to
// the Hub's own host, never to the storage host a redirect points at. header
// adds request headers (a Range) to every hop.
func (c *Client) follow(ctx context.Context, u string, header map[string]string) (*followed, error) {
	var first *http.Response
	noAuth := false
	hdr := map[string]string{"Accept-Encoding": "identity"}
	for k, v := range header {
		hdr[k] = v
	}
	for hops := 0; hops <= 10; hops++ {
		resp, err := c.do(ctx, call{endpoint: "resolve", method: http.MethodGet, url: u, idempotent: true,
			noAuth: noAuth, noRedirect: true, header: hdr})
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = resp
		}
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			return &followed{Response: resp, first: first}, nil
		}
		loc := resp.Header.Get("Location")
		resp.Body.Close()
		if loc == "" {
			return nil, fmt.Errorf("GET %s: %d without a Location", redactURL(u), resp.StatusCode)
		}
		next, err := url.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("GET %s: bad redirect: %w", redactURL(u), err)
		}
		cur, _ := url.Parse(u)
		target := cur.ResolveReference(next)
		if target.Scheme != "http" && target.Scheme != "https" {
			return nil, fmt.Errorf("GET %s: redirect to a %q URL", redactURL(u), target.Scheme)
		}
		noAuth = noAuth || target.Host != c.base.Host
		u = target.String()
	}
	return nil, errors.New("too many redirects")
}

func normalizeETag(s string) string {
	return strings.Trim(strings.TrimPrefix(s, "W/"), `"`)
}
