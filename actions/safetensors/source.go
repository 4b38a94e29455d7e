package safetensors

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime/debug"
)

// source is the checkpoint being converted.
type source struct {
	r    io.ReaderAt
	f    *os.File // r as a file, when it is one: kernel copies and mmap
	size int64
	lim  Limits
}

// copyBuf is the buffer that tensor bytes are copied through. The bytes
// are read into it, checksummed and written out while it is still in the
// CPU cache, so the checksum costs no extra pass over memory: measured on
// a 2 GB checkpoint, this is as cheap as copy_file_range followed by a
// checksum of the output, which reads every byte again from memory and
// contended with the copy. Larger buffers fall out of the cache; smaller
// ones cost more system calls.
const copyBuf = 1 << 20

// copyRange appends the n source bytes at off to dst through buf, adding
// them to *crc when crc is not nil.
func (s *source) copyRange(ctx context.Context, dst io.Writer, off, n int64, buf []byte, crc *uint32) error {
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := min(n, int64(len(buf)))
		if _, err := s.r.ReadAt(buf[:c], off); err != nil {
			if errors.Is(err, io.EOF) {
				return refuse(ErrMalformed, "the checkpoint ended while copying bytes %d to %d", off, off+c)
			}
			return fmt.Errorf("read tensor bytes: %w", err)
		}
		if crc != nil {
			*crc = crc32.Update(*crc, crc32.IEEETable, buf[:c])
		}
		if _, err := dst.Write(buf[:c]); err != nil {
			return fmt.Errorf("write tensor bytes: %w", err)
		}
		off += c
		n -= c
	}
	return nil
}

// window returns the source bytes [off, off+n), memory-mapped from a file
// (the kernel pages them in and out, so the process does not hold them)
// or else read into memory, up to Limits.MaxGatherBytes. release must be
// called when done.
func (s *source) window(off, n int64) ([]byte, func(), error) {
	if n == 0 {
		return nil, func() {}, nil
	}
	if s.f != nil {
		if b, release, ok := mapFile(s.f, off, n); ok {
			return b, release, nil
		}
	}
	if n > s.lim.MaxGatherBytes {
		return nil, nil, refuse(ErrLimit, "a non-contiguous tensor spans %d bytes, above the %d-byte gather limit", n, s.lim.MaxGatherBytes)
	}
	b := make([]byte, n)
	if _, err := s.r.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, refuse(ErrMalformed, "the checkpoint ends inside a tensor")
		}
		return nil, nil, fmt.Errorf("read tensor bytes: %w", err)
	}
	return b, func() {}, nil
}

// guardFaults runs fn, turning a fault on mapped memory (the file was
// truncated under us) into an error instead of a crash.
func guardFaults(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the checkpoint failed (was it changed while being converted?): %v", r)
		}
	}()
	return fn()
}

// dim is one dimension of a strided walk, stride in bytes.
type dim struct{ n, stride int64 }

// coalesce drops dimensions of size 1 and merges neighbours that are
// contiguous with each other, so the walk does as few steps as possible.
func coalesce(shape, stride []int64, size int64) []dim {
	var ds []dim
	for i := range shape {
		if shape[i] == 1 {
			continue
		}
		d := dim{n: shape[i], stride: stride[i] * size}
		if k := len(ds) - 1; k >= 0 && ds[k].stride == d.n*d.stride {
			ds[k] = dim{n: ds[k].n * d.n, stride: d.stride}
			continue
		}
		ds = append(ds, d)
	}
	return ds
}

// gather writes a non-contiguous tensor in C order to w: the runs of
// contiguous bytes, walked with an odometer over the other dimensions.
func gather(w io.Writer, src []byte, t *namedTensor) error {
	ds := coalesce(t.t.shape, t.t.stride, t.t.dt.size)
	run := t.t.dt.size
	if k := len(ds) - 1; k >= 0 && ds[k].stride == t.t.dt.size {
		run = ds[k].n * t.t.dt.size
		ds = ds[:k]
	}
	idx := make([]int64, len(ds))
	var off int64
	for {
		if _, err := w.Write(src[off : off+run]); err != nil {
			return err
		}
		k := len(ds) - 1
		for ; k >= 0; k-- {
			idx[k]++
			off += ds[k].stride
			if idx[k] < ds[k].n {
				break
			}
			off -= ds[k].n * ds[k].stride
			idx[k] = 0
		}
		if k < 0 {
			return nil
		}
	}
}
