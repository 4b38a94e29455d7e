package safetensors

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
)

// verifyBuf is the read size of the verification.
const verifyBuf = 1 << 20

// verifier checks a file as it is written, before it may be published.
// A tensor that is a whole storage is checked with the storage's CRC32
// from the zip directory, computed on the bytes as they pass through the
// copy buffer, which are the bytes written: that proves both that the
// input was intact and that the copy is exact, with no second read. Other
// contiguous tensors are compared byte for byte with the source when the
// output can be read back (a stream cannot: there pass 1 and pass 2 must
// agree on the file's sha256 instead), non-contiguous ones element by
// element, and the CRC32 of their storages is checked on the input at the
// end.
type verifier struct {
	src       *source
	out       *sink
	dataStart int64
	buf       []byte
	checked   map[*record]bool
}

func newVerifier(src *source, out *sink, p *plan) *verifier {
	return &verifier{src: src, out: out, dataStart: 8 + int64(len(p.header)), checked: make(map[*record]bool)}
}

func (v *verifier) buffer() []byte {
	if v.buf == nil {
		v.buf = make([]byte, verifyBuf)
	}
	return v.buf
}

// byCRC reports whether a tensor is verified with its storage's CRC32.
func byCRC(ot *outTensor) bool {
	return ot.contiguous && ot.rec.hasCRC && ot.start == 0 && ot.nbytes == ot.rec.size
}

// copied checks contiguous tensor ot, just written at outOff; crc is the
// CRC32 of the bytes copied when byCRC(ot).
func (v *verifier) copied(ot *outTensor, outOff int64, crc uint32) error {
	if byCRC(ot) {
		if crc != ot.rec.crc {
			if err := checkRecordCRC(v.src, ot.rec, v.buffer()); err != nil {
				return err
			}
			return fmt.Errorf("%w: tensor %s: the written bytes differ from the checkpoint (CRC32 %08x, expected %08x)", ErrVerify, quoteName(ot.name), crc, ot.rec.crc)
		}
		v.checked[ot.rec] = true
		return nil
	}
	if v.out.back == nil {
		return nil
	}
	if err := compareRange(v.src.r, ot.rec.off+ot.start, v.out.back, outOff, ot.nbytes, v.buffer()); err != nil {
		return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
	}
	return nil
}

// gathered checks non-contiguous tensor ot, written contiguous at outOff
// of back.
func (v *verifier) gathered(ot *outTensor, back io.ReaderAt, outOff int64) error {
	if err := compareGathered(v.src, ot, back, outOff, v.buffer()); err != nil {
		return fmt.Errorf("tensor %s: %w", quoteName(ot.name), err)
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
			if err := checkRecordCRC(v.src, ot.rec, v.buffer()); err != nil {
				return err
			}
			v.checked[ot.rec] = true
		}
	}
	return nil
}

// verifyHeader reads the written header back with the format's rules and
// checks that it is the planned one. A stream is checked on the header
// bytes that were planned, as they were written from them.
func verifyHeader(out *sink, p *plan) error {
	back := out.back
	if f, ok := back.(*os.File); ok {
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("stat the output: %w", err)
		}
		if fi.Size() != p.size {
			return fmt.Errorf("%w: the output has %d bytes, expected %d", ErrVerify, fi.Size(), p.size)
		}
	}
	if back == nil {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(p.header)))
		back = bytes.NewReader(append(n[:], p.header...))
	}
	h, err := ReadHeader(back, p.size)
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

// crcUpdate adds n bytes at off to the CRC32 (IEEE) sum, read into buf.
// Reading into one small buffer that stays in the CPU cache is several
// times faster than mapping the file: a fresh mapping of a file that was
// just written costs a page fault every few pages (perf showed the
// checksum of a 2 GB output spending 1.3 s, mostly there, against 0.2 s
// with pread).
func crcUpdate(sum uint32, r io.ReaderAt, off, n int64, buf []byte) (uint32, error) {
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
