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

// copyBuf is the size of the buffers that tensor bytes are copied
// through. The bytes are read into one, checksummed and written out while
// it is still in the CPU cache, so the checksum costs no extra pass over
// memory. Larger buffers fall out of the cache (2 MiB doubled the system
// time of the copy); smaller ones cost more system calls.
//
// Measured alternatives that were slower, on a 2 GB checkpoint with a warm
// page cache: copy_file_range (what cp does) followed by reading each
// chunk back from the output for its CRC32 took about 1.4 times the
// system time of this copy, because a tensor's bytes sit at unrelated
// offsets within a page in the input and in the output, and the kernel's
// copy between misaligned pages is slower than two copies through a
// buffer (copy_file_range alone is fast only when both offsets are
// page-aligned, as in cp); mapping the input and writing from the mapping
// cost twice as much again in page-table work.
const copyBuf = 1 << 20

// copyBufsFor returns the buffers that copy tensors of at most largest
// bytes: two of copyBuf bytes, so that one is read ahead while the other
// is checksummed and written (copyRange), or one no larger than needed
// when every tensor fits in one.
func copyBufsFor(largest int64) [][]byte {
	if largest > copyBuf {
		return [][]byte{make([]byte, copyBuf), make([]byte, copyBuf)}
	}
	return [][]byte{make([]byte, largest)}
}

// copyRange appends the n source bytes at off to dst through bufs, adding
// them to *crc when crc is not nil: the checksum is that of the bytes as
// they are written. With two buffers or more and more than one buffer's
// worth of bytes, a goroutine reads the next chunk while the current one
// is checksummed and written, so the kernel's two copies (from the input's
// page cache into a buffer, from a buffer into the output's) run side by
// side. The reader is done when copyRange returns.
func (s *source) copyRange(ctx context.Context, dst io.Writer, off, n int64, bufs [][]byte, crc *uint32) error {
	put := func(b []byte) error {
		if crc != nil {
			*crc = crc32.Update(*crc, crc32.IEEETable, b)
		}
		if _, err := dst.Write(b); err != nil {
			return fmt.Errorf("write tensor bytes: %w", err)
		}
		return nil
	}
	if len(bufs) < 2 || n <= int64(len(bufs[0])) {
		buf := bufs[0]
		for n > 0 {
			c := min(n, int64(len(buf)))
			if err := s.readChunk(ctx, buf[:c], off); err != nil {
				return err
			}
			if err := put(buf[:c]); err != nil {
				return err
			}
			off += c
			n -= c
		}
		return nil
	}

	type chunk struct {
		b   []byte
		err error
	}
	// At most len(bufs) chunks are ever in flight, so no send blocks.
	free := make(chan []byte, len(bufs))
	full := make(chan chunk, len(bufs))
	for _, b := range bufs {
		free <- b
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer close(full)
		for n > 0 {
			var b []byte
			select {
			case b = <-free:
			case <-stop:
				return
			}
			c := min(n, int64(len(b)))
			err := s.readChunk(ctx, b[:c], off)
			full <- chunk{b[:c], err}
			if err != nil {
				return
			}
			off += c
			n -= c
		}
	}()
	defer func() {
		close(stop)
		<-done
	}()
	for c := range full {
		if c.err != nil {
			return c.err
		}
		if err := put(c.b); err != nil {
			return err
		}
		free <- c.b[:cap(c.b)]
	}
	return nil
}

// readChunk reads len(b) source bytes at off, the bytes of a tensor.
func (s *source) readChunk(ctx context.Context, b []byte, off int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := s.r.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return refuse(ErrMalformed, "the checkpoint ended while copying bytes %d to %d", off, off+int64(len(b)))
		}
		return fmt.Errorf("read tensor bytes: %w", err)
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
