package safetensors

import (
	"context"
	"fmt"
	"io"

	"github.com/hubbot/hubbot/actions"
)

// Remote is a repository read over the network, for ConvertRemote.
type Remote struct {
	Name  string   // how messages name it, e.g. "hf://alice/tiny@main"
	Files []string // every file of the repository, forward slashes
	// Open opens a file for range reads (hubclient.Client.OpenFile).
	Open func(ctx context.Context, rel string) (actions.RangeReader, error)
}

// ConvertRemote converts the checkpoints of a remote repository into
// safetensors files in dst, choosing them with the same rules as a folder
// (ConvertPath). The inputs are read with range requests and never stored:
// a zip checkpoint's directory at its end, then its pickle and each
// storage record in turn; a legacy one from start to end. The outputs are
// written and verified as by ConvertPath, so dst needs room for the
// outputs only.
func ConvertRemote(ctx context.Context, src Remote, dst string, opts Options) (*Report, error) {
	opts.Limits = opts.Limits.withDefaults()
	lim := opts.Limits
	readIndex := func(rel string) ([]byte, error) {
		f, err := src.Open(ctx, rel)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if f.Size() > lim.MaxIndexBytes {
			return nil, refuse(ErrLimit, "the index is %d bytes, above the %d-byte limit", f.Size(), lim.MaxIndexBytes)
		}
		b := make([]byte, f.Size())
		if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
			return nil, fmt.Errorf("read the index: %w", err)
		}
		return b, nil
	}
	jobs, skipped, err := findJobs(src.Files, nil, readIndex, lim)
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, nothingToConvert(src.Name, skipped)
	}
	in := func(ctx context.Context, rel string) (*source, io.Closer, error) {
		f, err := src.Open(ctx, rel)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", rel, err)
		}
		return &source{r: f, size: f.Size(), lim: lim}, f, nil
	}
	return convertJobs(ctx, src.Name, jobs, skipped, in, dst, opts)
}
