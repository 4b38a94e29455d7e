package safetensors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
)

// verifyBuf is the read size of the verification pass.
const verifyBuf = 1 << 20

// verifier checks a file while it is written, before it may be published.
// A tensor that is a whole storage is checked with the storage's CRC32 from
// the zip directory, computed on the bytes written: that proves both that
// the input was intact and that the copy is exact, reading only the output.
// Other tensors are compared byte for byte with the source, and the CRC32
// of their storages is checked on the input at the end.
type verifier struct {
	src       *source
	out       *os.File
	dataStart int64
	buf       []byte
	crc       uint32 // running CRC32 of the tensor being written
	checked   map[*record]bool
}

func newVerifier(src *source, out *os.File, p *plan) *verifier {
	return &verifier{src: src, out: out, dataStart: 8 + int64(len(p.header)), buf: make([]byte, verifyBuf), checked: make(map[*record]bool)}
}

// byCRC reports whether a tensor is verified with its storage's CRC32.
func byCRC(ot *outTensor) bool {
	return ot.contiguous && ot.rec.hasCRC && ot.start == 0 && ot.nbytes == ot.rec.size
}

// written checks n bytes of tensor ot, at off from its first byte, that
// were just written; last marks the tensor's final chunk.
func (v *verifier) written(ot *outTensor, off, n int64, last bool) error {
	outOff := v.dataStart + ot.begin + off
	switch {
	case byCRC(ot):
		if off == 0 {
			v.crc = 0
		}
		var err error
		if v.crc, err = crcUpdate(v.crc, v.out, outOff, n, v.buf); err != nil {
			return fmt.Errorf("read the output: %w", err)
		}
		if !last {
			return nil
		}
		if v.crc != ot.rec.crc {
			if err := checkRecordCRC(v.src, ot.rec, v.buf); err != nil {
				return err
			}
			return fmt.Errorf("%w: tensor %s: the written bytes differ from the checkpoint (CRC32 %08x, expected %08x)", ErrVerify, quoteName(ot.name), v.crc, ot.rec.crc)
		}
		v.checked[ot.rec] = true
	case ot.contiguous:
		if err := compareRange(v.src.r, ot.rec.off+ot.start+off, v.out, outOff, n, v.buf); err != nil {
			return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
		}
	default:
		if err := compareGathered(v.src, ot, v.out, v.dataStart+ot.begin, v.buf); err != nil {
			return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
		}
	}
	return nil
}

// finish checks, on the input, the CRC32 of the storages that no whole
// tensor covered.
func (v *verifier) finish(ctx context.Context, p *plan) error {
	for _, ot := range p.tensors {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ot.nbytes > 0 && ot.rec.hasCRC && !v.checked[ot.rec] {
			if err := checkRecordCRC(v.src, ot.rec, v.buf); err != nil {
				return err
			}
			v.checked[ot.rec] = true
		}
	}
	return nil
}

// verifyHeader reads the written header back with the format's rules and
// checks that it is the planned one, and that the file has the planned size.
func verifyHeader(out *os.File, p *plan) error {
	fi, err := out.Stat()
	if err != nil {
		return fmt.Errorf("stat the output: %w", err)
	}
	if fi.Size() != p.size {
		return fmt.Errorf("%w: the output has %d bytes, expected %d", ErrVerify, fi.Size(), p.size)
	}
	h, err := ReadHeader(out, fi.Size())
	if err != nil {
		return err
	}
	return samePlan(h, p)
}

// samePlan checks that the header read back is the one that was planned.
func samePlan(h *Header, p *plan) error {
	if len(h.Tensors) != len(p.tensors) {
		return fmt.Errorf("%w: the header lists %d tensors, expected %d", ErrVerify, len(h.Tensors), len(p.tensors))
	}
	for i, ot := range p.tensors {
		ht, ok := h.Tensors[ot.name]
		if !ok || h.Order[i] != ot.name || ht.DType != ot.t.dt.name || !slices.Equal(ht.Shape, ot.shape) ||
			ht.Begin != ot.begin || ht.End != ot.end {
			return fmt.Errorf("%w: the header entry of tensor %s is not the planned one", ErrVerify, quoteName(ot.name))
		}
	}
	if len(h.Metadata) != len(p.metadata) {
		return fmt.Errorf("%w: the header metadata is not the planned one", ErrVerify)
	}
	for k, v := range p.metadata {
		if h.Metadata[k] != v {
			return fmt.Errorf("%w: the header metadata is not the planned one", ErrVerify)
		}
	}
	return nil
}

// checkRecordCRC compares a storage record's CRC32 with the zip directory's.
func checkRecordCRC(src *source, rec *record, buf []byte) error {
	sum, err := crcUpdate(0, src.r, rec.off, rec.size, buf)
	if err != nil {
		return fmt.Errorf("read %s: %w", rec.name, err)
	}
	if sum != rec.crc {
		return refuse(ErrMalformed, "storage record %q is corrupt: its CRC32 is %08x, the zip directory records %08x", rec.name, sum, rec.crc)
	}
	return nil
}

// crcWindow is how much of a file crcUpdate maps at a time: small enough
// to keep the process's resident memory low, large enough to make the
// mapping calls negligible.
const crcWindow = 8 << 20

// crcUpdate adds n bytes at off to the CRC32 (IEEE) sum. From a file the
// bytes are memory-mapped a window at a time, which spares copying them
// out of the page cache; otherwise they are read into buf.
func crcUpdate(sum uint32, r io.ReaderAt, off, n int64, buf []byte) (uint32, error) {
	if f, ok := r.(*os.File); ok {
		for n > 0 {
			c := min(n, crcWindow)
			win, release, ok := mapFile(f, off, c)
			if !ok {
				break // fall back to reading what is left
			}
			err := guardFaults(func() error {
				sum = crc32.Update(sum, crc32.IEEETable, win)
				return nil
			})
			release()
			if err != nil {
				return 0, err
			}
			off += c
			n -= c
		}
	}
	for n > 0 {
		c := min(n, int64(len(buf)))
		if _, err := r.ReadAt(buf[:c], off); err != nil {
			return 0, truncatedRead(err)
		}
		sum = crc32.Update(sum, crc32.IEEETable, buf[:c])
		off += c
		n -= c
	}
	return sum, nil
}

// truncatedRead names a read that hit the end of a file.
func truncatedRead(err error) error {
	if errors.Is(err, io.EOF) {
		return refuse(ErrMalformed, "the file ends early")
	}
	return err
}

// compareRange compares n bytes of a at aOff with b at bOff.
func compareRange(a io.ReaderAt, aOff int64, b io.ReaderAt, bOff, n int64, buf []byte) error {
	half := int64(len(buf) / 2)
	x, y := buf[:half], buf[half:]
	for n > 0 {
		c := min(n, half)
		if _, err := a.ReadAt(x[:c], aOff); err != nil {
			return truncatedRead(err)
		}
		if _, err := b.ReadAt(y[:c], bOff); err != nil {
			return truncatedRead(err)
		}
		if !bytes.Equal(x[:c], y[:c]) {
			return fmt.Errorf("%w: the written bytes differ from the checkpoint", ErrVerify)
		}
		aOff, bOff, n = aOff+c, bOff+c, n-c
	}
	return nil
}

// compareGathered checks a tensor that was made contiguous, element by
// element, finding each source element from its index with divisions:
// a different walk from the one gather used to write it.
func compareGathered(src *source, ot *outTensor, out io.ReaderAt, outOff int64, buf []byte) error {
	win, release, err := src.window(ot.rec.off+ot.start, ot.span)
	if err != nil {
		return err
	}
	defer release()
	return guardFaults(func() error {
		size := ot.t.dt.size
		shape, stride := ot.t.shape, ot.t.stride
		per := int64(len(buf)) / size // elements per read
		for first := int64(0); first < ot.numel; first += per {
			count := min(per, ot.numel-first)
			chunk := buf[:count*size]
			if _, err := out.ReadAt(chunk, outOff+first*size); err != nil {
				return truncatedRead(err)
			}
			for i := int64(0); i < count; i++ {
				rem, off := first+i, int64(0)
				for d := len(shape) - 1; d >= 0; d-- {
					off += (rem % shape[d]) * stride[d]
					rem /= shape[d]
				}
				off *= size
				if !bytes.Equal(chunk[i*size:(i+1)*size], win[off:off+size]) {
					return fmt.Errorf("%w: element %d differs from the checkpoint", ErrVerify, first+i)
				}
			}
		}
		return nil
	})
}
