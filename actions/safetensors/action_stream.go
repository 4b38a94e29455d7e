package safetensors

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/hubbot/hubbot/actions"
)

// maxInlineCheckpoint bounds a checkpoint that is a regular git file (not
// LFS) read into memory on the streaming path; the Hub keeps files above
// 10 MiB in LFS.
const maxInlineCheckpoint = 64 << 20

// runStreamed converts todo without downloading the inputs or writing the
// outputs: pass 1 reads every input with range requests, converts and
// verifies it into hashes (the same refusals as the local path, before
// anything is uploaded); the proposal's files are streams that the
// publisher uploads by sections (pass 2).
func (a *Action) runStreamed(ctx context.Context, ws *actions.Workspace, ranges actions.RangeFetcher, todo []*job, skipped []Skip, already []string, log io.Writer) (actions.Result, error) {
	in := func(ctx context.Context, rel string) (*source, io.Closer, error) {
		p, isPointer, err := ws.Pointer(rel)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", rel, err)
		}
		if !isPointer {
			data, err := readLimited(ws.Path(rel), maxInlineCheckpoint)
			if err != nil {
				return nil, nil, err
			}
			return &source{r: bytes.NewReader(data), size: int64(len(data)), lim: a.limits}, io.NopCloser(nil), nil
		}
		f, err := ranges.OpenRange(ctx, rel, p)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", rel, err)
		}
		return &source{r: f, size: f.Size(), lim: a.limits}, f, nil
	}
	opts := &Options{Limits: a.limits, Log: log}
	rep, err := runJobs(ctx, in, "", todo, opts)
	if err != nil {
		if Refused(err) {
			return failure(fmt.Sprintf("Could not convert to safetensors: %s", oneLine(err)), skipped), nil
		}
		return actions.Result{}, err
	}
	rep.Skipped = append(skipped, rep.Skipped...)
	if len(rep.Files) == 0 {
		return actions.Result{
			Conclusion: actions.Skipped,
			Summary:    "No checkpoint with tensors to convert.",
			Details:    skippedMarkdown(rep.Skipped),
		}, nil
	}
	prop := &actions.Proposal{Title: ProposalTitle, Description: description(rep, ws)}
	prop.Files = rep.streams()
	return succeeded(rep, already, prop), nil
}

// streams lists the files of a streamed conversion, in the order of
// outputs.
func (r *Report) streams() []actions.ProposedFile {
	var files []actions.ProposedFile
	for _, f := range r.Files {
		s := f.stream
		files = append(files, actions.ProposedFile{PathInRepo: f.Output,
			Stream: &actions.Stream{Size: s.Size(), SHA256: s.SHA256(), Section: s.Section}})
	}
	for _, ix := range r.Indexes {
		files = append(files, actions.ProposedFile{PathInRepo: ix.Output, Stream: bytesStream(ix.content)})
	}
	return files
}

// bytesStream is a Stream of bytes in memory.
func bytesStream(b []byte) *actions.Stream {
	sum := sha256.Sum256(b)
	return &actions.Stream{Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]),
		Section: func(_ context.Context, off, n int64) (io.ReadCloser, error) {
			if off < 0 || n < 0 || off+n > int64(len(b)) {
				return nil, fmt.Errorf("section [%d, %d) of a %d-byte file", off, off+n, len(b))
			}
			return io.NopCloser(bytes.NewReader(b[off : off+n])), nil
		}}
}
