package actions

import (
	"context"
	"io"

	"github.com/hubbot/hubbot/lfs"
)

// Stream is the content of a proposed file that is on no disk: a
// conversion streamed from the Hub back to it. Size and SHA256 are known
// before the upload (from a first pass over the inputs); Section produces
// bytes [off, off+n) on demand, the same bytes on every call (checked by
// the producer), so the publisher can upload parts in parallel and retry
// them without a local copy.
type Stream struct {
	Size    int64
	SHA256  string
	Section func(ctx context.Context, off, n int64) (io.ReadCloser, error)
}

// RangeReader reads a file's content at any offset without downloading it.
type RangeReader interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// RangeFetcher is a ContentFetcher that can also open the content behind
// an LFS pointer for range reads. Actions that stream (safetensors) use it
// when the workspace's Content implements it.
type RangeFetcher interface {
	OpenRange(ctx context.Context, path string, p lfs.Pointer) (RangeReader, error)
}
