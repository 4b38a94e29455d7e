package git

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/lfs"
)

// Downloader downloads a file of a repo at a revision, checked against its
// LFS pointer; hubclient.Client satisfies it.
type Downloader interface {
	Download(ctx context.Context, repo hubclient.Repo, rev, path string, w io.Writer, want *lfs.Pointer) (*hubclient.DownloadInfo, error)
}

// Content fetches the real bytes behind the LFS pointer files of one commit
// through the Hub's resolve downloads. It implements actions.ContentFetcher.
type Content struct {
	// MaxSize, when positive, refuses pointers to larger content before
	// anything is downloaded: a pointer is repo content, and its size is
	// whatever its author wrote.
	MaxSize int64

	d    Downloader
	repo hubclient.Repo
	rev  string
}

// NewContent returns the fetcher of repo's files at rev, which should be a
// commit id so that every file comes from the same commit.
func NewContent(d Downloader, repo hubclient.Repo, rev string) *Content {
	return &Content{d: d, repo: repo, rev: rev}
}

// Content returns the fetcher of the checked-out commit's files.
func (c *Checkout) Content(d Downloader) *Content { return NewContent(d, c.Repo, c.SHA) }

// Fetch writes the content the pointer p of the file at name stands for to
// w, and fails unless it has exactly p's size and sha256 and comes from the
// fetcher's commit. On failure w may hold part of the content: write to a
// temporary file (actions.Workspace.Materialize does).
func (c *Content) Fetch(ctx context.Context, name string, p lfs.Pointer, w io.Writer) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == ".." ||
		strings.HasPrefix(name, "../") || strings.Contains(name, "\\") {
		return fmt.Errorf("fetch content: invalid repo path %q", name)
	}
	if !lfs.ValidOID(p.OID) || p.Size < 0 {
		return fmt.Errorf("fetch content of %s: invalid LFS pointer", name)
	}
	if c.MaxSize > 0 && p.Size > c.MaxSize {
		return fmt.Errorf("fetch content of %s: %d bytes is over the limit of %d", name, p.Size, c.MaxSize)
	}
	// Count what reaches w, so that a Downloader that does not check the
	// size can still not write more than the pointer announced.
	cw := &cappedWriter{w: w, limit: p.Size}
	want := p
	info, err := c.d.Download(ctx, c.repo, c.rev, name, cw, &want)
	if err != nil {
		return fmt.Errorf("fetch content of %s: %w", name, err)
	}
	switch {
	case cw.n != p.Size || info.Size != p.Size:
		return fmt.Errorf("fetch content of %s: got %d bytes, the pointer says %d", name, cw.n, p.Size)
	case info.SHA256 != p.OID:
		return fmt.Errorf("fetch content of %s: sha256 %s, the pointer says %s", name, info.SHA256, p.OID)
	case info.CommitSHA != "" && len(c.rev) == 40 && !strings.EqualFold(info.CommitSHA, c.rev):
		return fmt.Errorf("fetch content of %s: the Hub served commit %s, want %s", name, short(info.CommitSHA), short(c.rev))
	}
	return nil
}

// cappedWriter passes at most limit bytes to w and fails beyond.
type cappedWriter struct {
	w     io.Writer
	limit int64
	n     int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.limit {
		return 0, fmt.Errorf("more than the %d bytes announced", c.limit)
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
