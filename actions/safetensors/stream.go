package safetensors

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A streamed conversion writes nothing to disk. Pass 1 converts each file
// into a hash: every verification of the local path runs (the CRC32 of
// whole storages in the copy, partial views' storages on the input, the
// header, the size, the index), and it records the file's size, sha256 and
// the CRC32 of every streamBlock of it. Pass 2 produces any byte range of
// the file again from the input (Section), for the upload, and checks every
// block it produces against pass 1 before a byte of it leaves: an input
// that changed between the passes, or a bad read, fails the upload instead
// of uploading corrupt output.

// streamBlock is the unit of pass 2's check against pass 1.
const streamBlock = 1 << 20

// streamed is an output file of a streamed conversion.
type streamed struct {
	src    *source
	p      *plan
	sha256 string
	blocks []uint32 // CRC32 of each streamBlock of the file
}

// headerBytes is the start of the file: the header's length and the header.
func (p *plan) headerBytes() []byte {
	b := make([]byte, 8, 8+len(p.header))
	binary.LittleEndian.PutUint64(b, uint64(len(p.header)))
	return append(b, p.header...)
}

// blockSums is a writer that records the CRC32 of every streamBlock.
type blockSums struct {
	sums []uint32
	cur  uint32
	fill int
}

func (b *blockSums) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		c := min(len(p), streamBlock-b.fill)
		b.cur = crc32.Update(b.cur, crc32.IEEETable, p[:c])
		b.fill += c
		p = p[c:]
		if b.fill == streamBlock {
			b.sums = append(b.sums, b.cur)
			b.cur, b.fill = 0, 0
		}
	}
	return n, nil
}

func (b *blockSums) finish() []uint32 {
	if b.fill > 0 {
		b.sums = append(b.sums, b.cur)
	}
	return b.sums
}

// streamFile is pass 1 for one input: convert it, verified, into hashes.
func streamFile(ctx context.Context, src *source, opts *Options) (*FileResult, error) {
	h := sha256.New()
	var sums blockSums
	res, err := convertTo(ctx, src, &sink{w: io.MultiWriter(h, &sums)}, opts)
	if err != nil {
		return nil, err
	}
	res.stream = &streamed{src: src, p: res.plan, sha256: hex.EncodeToString(h.Sum(nil)), blocks: sums.finish()}
	return res, nil
}

// Size is the file's size in bytes.
func (s *streamed) Size() int64 { return s.p.size }

// SHA256 is the file's sha256, hex, from pass 1.
func (s *streamed) SHA256() string { return s.sha256 }

// Section produces bytes [off, off+n) of the file (pass 2). The bytes are
// produced a block at a time into memory, whole blocks even at the ends of
// the range, and each block is checked against pass 1 before it is
// returned. The reader is produced on a goroutine; Close stops it.
func (s *streamed) Section(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	if off < 0 || n < 0 || off+n > s.p.size {
		return nil, fmt.Errorf("section [%d, %d) of a %d-byte file", off, off+n, s.p.size)
	}
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		defer cancel()
		first := off - off%streamBlock
		last := min(s.p.size, (off+n+streamBlock-1)/streamBlock*streamBlock)
		cw := &checkedBlocks{w: pw, sums: s.blocks, pos: first, from: off, to: off + n, buf: make([]byte, 0, streamBlock)}
		err := s.produce(ctx, cw, first, last)
		if err == nil {
			err = cw.flush()
		}
		pw.CloseWithError(err)
	}()
	return &sectionReader{PipeReader: pr, cancel: cancel}, nil
}

type sectionReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (r *sectionReader) Close() error {
	r.cancel()
	return r.PipeReader.Close()
}

// produce writes bytes [a, b) of the file to w.
func (s *streamed) produce(ctx context.Context, w io.Writer, a, b int64) error {
	p := s.p
	put := func(data []byte, at int64) error { // data is the file's bytes at at
		lo, hi := max(a, at), min(b, at+int64(len(data)))
		if lo >= hi {
			return nil
		}
		_, err := w.Write(data[lo-at : hi-at])
		return err
	}
	if err := put(p.headerBytes(), 0); err != nil {
		return err
	}
	dataStart := 8 + int64(len(p.header))
	bufs := [][]byte{make([]byte, copyBuf)}
	for _, ot := range p.tensors {
		at := dataStart + ot.begin
		lo, hi := max(a, at), min(b, at+ot.nbytes)
		if ot.nbytes == 0 || lo >= hi {
			continue
		}
		if ot.contiguous {
			if err := s.src.copyRange(ctx, w, ot.rec.off+ot.start+(lo-at), hi-lo, bufs, nil); err != nil {
				return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
			}
			continue
		}
		win, release, err := s.src.window(ot.rec.off+ot.start, ot.span)
		if err != nil {
			return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
		}
		g := &rangeWriter{w: w, pos: at, from: lo, to: hi}
		err = guardFaults(func() error { return gather(g, win, ot.namedTensor) })
		release()
		if err != nil {
			return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
		}
	}
	return nil
}

// rangeWriter passes on the bytes of [from, to) of a stream that starts at
// pos.
type rangeWriter struct {
	w             io.Writer
	pos, from, to int64
}

func (r *rangeWriter) Write(p []byte) (int, error) {
	n := len(p)
	lo, hi := max(r.from, r.pos), min(r.to, r.pos+int64(n))
	if lo < hi {
		if _, err := r.w.Write(p[lo-r.pos : hi-r.pos]); err != nil {
			return 0, err
		}
	}
	r.pos += int64(n)
	return n, nil
}

// errDiffers is the error of a block of pass 2 that is not pass 1's.
var errDiffers = errors.New("the bytes produced differ from the first pass (did the checkpoint change?)")

// checkedBlocks collects whole blocks starting at pos, checks each against
// sums, and passes on the part of it inside [from, to).
type checkedBlocks struct {
	w             io.Writer
	sums          []uint32
	pos, from, to int64 // pos: the file offset of buf[0]
	buf           []byte
}

func (c *checkedBlocks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), streamBlock-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == streamBlock {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (c *checkedBlocks) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	i := c.pos / streamBlock
	if i >= int64(len(c.sums)) || crc32.ChecksumIEEE(c.buf) != c.sums[i] {
		return fmt.Errorf("%w: %w at bytes %d to %d", ErrVerify, errDiffers, c.pos, c.pos+int64(len(c.buf)))
	}
	lo, hi := max(c.from, c.pos), min(c.to, c.pos+int64(len(c.buf)))
	if lo < hi {
		if _, err := c.w.Write(c.buf[lo-c.pos : hi-c.pos]); err != nil {
			return err
		}
	}
	c.pos += int64(len(c.buf))
	c.buf = c.buf[:0]
	return nil
}
