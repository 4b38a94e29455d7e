package safetensors

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
)

// Options configure a conversion. The zero value is ready to use.
type Options struct {
	// Limits bound what reading an untrusted checkpoint may cost.
	Limits Limits
	// DiscardNames are tied-weight names to drop in favour of the tensor
	// they are tied to; nil means DefaultDiscardNames().
	DiscardNames []string
	// Sync flushes every output file to disk (fsync) before it is renamed
	// into place. Off by default: the bot uploads the files right away and
	// redoes the job after a crash, and a conversion then runs at page-cache
	// speed.
	Sync bool
	// Log, when set, receives one line per file as it is converted.
	Log io.Writer
	// Progress, when set, is told how far the file being converted is:
	// before each tensor and after the last, the tensors done of the
	// file's total and the bytes written, header included. It runs on the
	// converting goroutine between two tensors: keep it quick.
	Progress func(done, total int, written int64)
}

func (o *Options) discard() []string {
	if o.DiscardNames == nil {
		return DefaultDiscardNames()
	}
	return o.DiscardNames
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// FileResult describes one safetensors file that was written.
type FileResult struct {
	Source string // the checkpoint, relative to the source folder, forward slashes
	Output string // the safetensors file, relative to the destination

	Format      string // "zip" (torch.save since 1.6) or "legacy"
	SourceBytes int64
	OutputBytes int64
	Tensors     int // tensors written

	// Aliases maps each name that was removed because it is the same tensor
	// as another to the name that was kept (also in the file's __metadata__).
	Aliases map[string]string
	// Gathered lists non-contiguous tensors that were made contiguous.
	Gathered []string
	// Overlapping lists tensors that share bytes with another written tensor
	// (partial views of one storage), each written as its own copy.
	Overlapping []string

	names      []string // every name in the checkpoint, aliases included
	written    []string // the names written, in file order
	dataBytes  int64    // the bytes of the tensors written
	outputPath string   // where the file is on disk; "" for a stream
	plan       *plan
	stream     *streamed // the file, when it is streamed rather than written
}

// openLocal opens a checkpoint on disk as a source.
func openLocal(path string, lim Limits) (*source, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open the checkpoint: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat the checkpoint: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, refuse(ErrNotCheckpoint, "not a regular file")
	}
	return &source{r: f, f: f, size: fi.Size(), lim: lim}, f, nil
}

// convertFile converts the checkpoint src into a new file at outPath,
// verified. On error outPath is removed.
func convertFile(ctx context.Context, src *source, outPath string, opts *Options) (res *FileResult, err error) {
	out, err := os.OpenFile(outPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create the output: %w", err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the output: %w", cerr)
		}
		if err != nil {
			os.Remove(outPath)
		}
	}()
	res, err = convertTo(ctx, src, &sink{w: out, back: out}, opts)
	if err != nil {
		return nil, err
	}
	if opts.Sync {
		if err := out.Sync(); err != nil {
			return nil, fmt.Errorf("sync the output: %w", err)
		}
	}
	res.outputPath = outPath
	return res, nil
}

// convertTo converts the checkpoint in src into out, which is empty, and
// verifies what it wrote.
func convertTo(ctx context.Context, src *source, out *sink, opts *Options) (*FileResult, error) {
	ck, err := readCheckpoint(src.r, src.size, src.lim)
	if err != nil {
		return nil, err
	}
	nts, err := stateDict(ck)
	if err != nil {
		return nil, err
	}
	p, err := makePlan(nts, opts.discard(), src.size)
	if err != nil {
		return nil, err
	}
	out.progress = opts.Progress
	if err := writeVerified(ctx, src, out, p); err != nil {
		return nil, err
	}

	res := &FileResult{
		plan:        p,
		Format:      ck.format,
		SourceBytes: src.size,
		OutputBytes: p.size,
		Tensors:     len(p.tensors),
		Aliases:     p.aliases,
		Overlapping: overlapping(p.tensors),
	}
	for _, nt := range nts {
		res.names = append(res.names, nt.name)
	}
	for _, ot := range p.tensors {
		res.written = append(res.written, ot.name)
		res.dataBytes += ot.nbytes
		if !ot.contiguous {
			res.Gathered = append(res.Gathered, ot.name)
		}
	}
	sort.Strings(res.Gathered)
	return res, nil
}

// sink is where a converted file's bytes go: a file being written, or a
// stream (a hash, an upload) that cannot be read back.
type sink struct {
	w    io.Writer
	back io.ReaderAt // the bytes written so far, for verification; nil for a stream
	n    int64       // bytes written

	progress func(done, total int, written int64) // Options.Progress
}

func (s *sink) Write(b []byte) (int, error) {
	n, err := s.w.Write(b)
	s.n += int64(n)
	return n, err
}

// writeVerified writes the file of plan p to out and verifies it: the
// CRC32 of whole storages in the same pass that copies their bytes, other
// tensors right after they are written, then the header and the size.
func writeVerified(ctx context.Context, src *source, out *sink, p *plan) error {
	v := newVerifier(src, out, p)
	if err := write(ctx, src, out, p, v); err != nil {
		return err
	}
	if err := v.finish(ctx, p); err != nil {
		return err
	}
	if out.n != p.size {
		return fmt.Errorf("%w: %d bytes were written, expected %d", ErrVerify, out.n, p.size)
	}
	return verifyHeader(out, p)
}

// write writes the header, then every tensor in file order: contiguous ones
// copied through one buffer, non-contiguous ones gathered from a window of
// the source; v checks each tensor as it is written.
func write(ctx context.Context, src *source, out *sink, p *plan, v *verifier) error {
	var n [8]byte
	for i, l := 0, uint64(len(p.header)); i < 8; i++ {
		n[i] = byte(l >> (8 * i))
	}
	if _, err := out.Write(n[:]); err != nil {
		return fmt.Errorf("write the header: %w", err)
	}
	if _, err := out.Write(p.header); err != nil {
		return fmt.Errorf("write the header: %w", err)
	}
	var largest int64
	for _, ot := range p.tensors {
		if ot.contiguous {
			largest = max(largest, ot.nbytes)
		}
	}
	bufs := copyBufsFor(largest)
	var bw *bufio.Writer
	for i, ot := range p.tensors {
		if out.progress != nil {
			out.progress(i, len(p.tensors), out.n)
		}
		if ot.nbytes == 0 {
			continue
		}
		abs := ot.rec.off + ot.start
		if ot.contiguous {
			var crc uint32
			sum := &crc
			if !byCRC(ot) {
				sum = nil
			}
			start := out.n
			if err := src.copyRange(ctx, out, abs, ot.nbytes, bufs, sum); err != nil {
				return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
			}
			if err := v.copied(ot, start, crc); err != nil {
				return err
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if out.back == nil {
			if err := writeGatheredStream(src, out, ot, v); err != nil {
				return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
			}
			continue
		}
		if bw == nil {
			bw = bufio.NewWriterSize(out, 1<<20)
		}
		start := out.n
		win, release, err := src.window(abs, ot.span)
		if err != nil {
			return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
		}
		err = guardFaults(func() error { return gather(bw, win, ot.namedTensor) })
		release()
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return fmt.Errorf("tensor %s: write: %w", quoteName(ot.name), err)
		}
		if err := v.gathered(ot, out.back, start); err != nil {
			return err
		}
	}
	if out.progress != nil {
		out.progress(len(p.tensors), len(p.tensors), out.n)
	}
	return nil
}

// writeGatheredStream gathers a non-contiguous tensor in memory, checks it
// there (a stream cannot be read back) and writes it.
func writeGatheredStream(src *source, out *sink, ot *outTensor, v *verifier) error {
	if ot.nbytes > src.lim.MaxGatherBytes {
		return refuse(ErrLimit, "a non-contiguous tensor of %d bytes, above the %d-byte gather limit", ot.nbytes, src.lim.MaxGatherBytes)
	}
	win, release, err := src.window(ot.rec.off+ot.start, ot.span)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.Grow(int(ot.nbytes))
	err = guardFaults(func() error { return gather(&b, win, ot.namedTensor) })
	release()
	if err != nil {
		return err
	}
	if err := v.gathered(ot, bytes.NewReader(b.Bytes()), 0); err != nil {
		return err
	}
	if _, err := out.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// overlapping lists the written tensors whose bytes overlap another
// written tensor's in the same storage.
func overlapping(ts []*outTensor) []string {
	type span struct {
		start, end int64
		name       string
	}
	byRec := make(map[*record][]span)
	for _, t := range ts {
		if t.nbytes > 0 {
			byRec[t.rec] = append(byRec[t.rec], span{t.start, t.start + t.span, t.name})
		}
	}
	seen := make(map[string]bool)
	for _, spans := range byRec {
		sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
		far := -1 // index of the span reaching furthest so far
		for i, s := range spans {
			if far >= 0 && s.start < spans[far].end {
				seen[s.name], seen[spans[far].name] = true, true
			}
			if far < 0 || s.end > spans[far].end {
				far = i
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
