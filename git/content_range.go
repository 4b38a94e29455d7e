package git

import (
	"context"
	"fmt"
	"strings"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/lfs"
)

// RangeOpener opens a file of a repo for range reads; hubclient.Client
// satisfies it.
type RangeOpener interface {
	OpenFile(ctx context.Context, repo hubclient.Repo, rev, path string) (*hubclient.RemoteFile, error)
}

// OpenRange opens the content behind the pointer p of the file at name for
// range reads, without downloading it (actions.RangeFetcher). The Hub must
// serve it from the fetcher's commit, as the object p names, with p's size.
func (c *Content) OpenRange(ctx context.Context, name string, p lfs.Pointer) (actions.RangeReader, error) {
	ro, ok := c.d.(RangeOpener)
	if !ok {
		return nil, fmt.Errorf("open %s: this downloader cannot read ranges", name)
	}
	if !lfs.ValidOID(p.OID) || p.Size < 0 {
		return nil, fmt.Errorf("open %s: invalid LFS pointer", name)
	}
	f, err := ro.OpenFile(ctx, c.repo, c.rev, name)
	if err != nil {
		return nil, err
	}
	switch {
	case f.Size() != p.Size:
		err = fmt.Errorf("open %s: %d bytes, the pointer says %d", name, f.Size(), p.Size)
	case f.LinkedETag() != "" && f.LinkedETag() != p.OID:
		err = fmt.Errorf("open %s: the Hub serves object %s, the pointer says %s", name, short(f.LinkedETag()), short(p.OID))
	case f.Commit() != "" && len(c.rev) == 40 && !strings.EqualFold(f.Commit(), c.rev):
		err = fmt.Errorf("open %s: the Hub served commit %s, want %s", name, short(f.Commit()), short(c.rev))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
