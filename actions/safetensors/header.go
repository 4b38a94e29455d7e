package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// HeaderTensor is one tensor entry of a safetensors header.
type HeaderTensor struct {
	DType      string
	Shape      []int64
	Begin, End int64 // data offsets, relative to the start of the byte buffer
}

// Header is a safetensors header, read back and validated.
type Header struct {
	// Len is the length N of the JSON header (padding included); the byte
	// buffer starts at 8+N.
	Len      int64
	Metadata map[string]string
	Tensors  map[string]HeaderTensor
	// Order lists the tensor names in the order the JSON has them.
	Order []string
}

// ReadHeader reads the header of a safetensors file of the given size and
// checks it with the rules of the format's reference reader: a header of at
// most 100,000,000 bytes that starts with '{', no duplicate names, known
// dtypes, string-to-string metadata, each tensor's byte length equal to its
// shape times its dtype size (checked arithmetic, whole bytes), and tensors
// that tile the byte buffer from 0 to the end of the file with no hole and
// no overlap.
func ReadHeader(r io.ReaderAt, size int64) (*Header, error) {
	var nb [8]byte
	if size < 8 {
		return nil, fmt.Errorf("%w: file of %d bytes has no header", ErrVerify, size)
	}
	if _, err := r.ReadAt(nb[:], 0); err != nil {
		return nil, fmt.Errorf("read the header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if n > maxHeaderSize || n > uint64(size-8) {
		return nil, fmt.Errorf("%w: header length %d is too large", ErrVerify, n)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 8); err != nil {
		return nil, fmt.Errorf("read the header: %w", err)
	}
	if len(buf) == 0 || buf[0] != '{' {
		return nil, fmt.Errorf("%w: header does not start with '{'", ErrVerify)
	}
	h := &Header{Len: int64(n), Tensors: make(map[string]HeaderTensor)}
	if err := h.parse(buf); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVerify, err)
	}

	names := make([]string, 0, len(h.Tensors))
	for name := range h.Tensors {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := h.Tensors[names[i]], h.Tensors[names[j]]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		return a.End < b.End
	})
	var pos int64
	for _, name := range names {
		t := h.Tensors[name]
		if t.Begin != pos {
			return nil, fmt.Errorf("%w: tensor %s starts at %d, expected %d (hole or overlap)", ErrVerify, quoteName(name), t.Begin, pos)
		}
		bits := headerBits(t.DType)
		numel := int64(1)
		ok := true
		for _, d := range t.Shape {
			numel, ok = mulNonNeg(numel, d)
			if !ok {
				break
			}
		}
		var nbits int64
		if ok {
			nbits, ok = mulNonNeg(numel, bits)
		}
		if !ok || nbits%8 != 0 || t.End-t.Begin != nbits/8 {
			return nil, fmt.Errorf("%w: tensor %s has %d bytes for shape %v of %s", ErrVerify, quoteName(name), t.End-t.Begin, t.Shape, t.DType)
		}
		pos = t.End
	}
	if 8+int64(n)+pos != size {
		return nil, fmt.Errorf("%w: the tensors end at byte %d but the file has %d", ErrVerify, 8+int64(n)+pos, size)
	}
	return h, nil
}

// parse decodes the JSON header, refusing duplicate names.
func (h *Header) parse(buf []byte) error {
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, ok := tok.(string)
		if !ok {
			return errors.New("header key is not a string")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if name == "__metadata__" {
			if h.Metadata != nil {
				return errors.New("duplicate __metadata__")
			}
			h.Metadata = make(map[string]string)
			if err := json.Unmarshal(raw, &h.Metadata); err != nil {
				return fmt.Errorf("__metadata__: %v", err)
			}
			continue
		}
		if _, dup := h.Tensors[name]; dup {
			return fmt.Errorf("duplicate tensor %s", quoteName(name))
		}
		var e struct {
			DType       string   `json:"dtype"`
			Shape       []uint64 `json:"shape"`
			DataOffsets []uint64 `json:"data_offsets"`
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return fmt.Errorf("tensor %s: %v", quoteName(name), err)
		}
		if headerBits(e.DType) == 0 {
			return fmt.Errorf("tensor %s: unknown dtype %q", quoteName(name), e.DType)
		}
		if e.Shape == nil || len(e.DataOffsets) != 2 {
			return fmt.Errorf("tensor %s: missing shape or data_offsets", quoteName(name))
		}
		t := HeaderTensor{DType: e.DType}
		for _, v := range e.Shape {
			if v > 1<<62 {
				return fmt.Errorf("tensor %s: dimension too large", quoteName(name))
			}
			t.Shape = append(t.Shape, int64(v))
		}
		if e.DataOffsets[0] > e.DataOffsets[1] || e.DataOffsets[1] > 1<<62 {
			return fmt.Errorf("tensor %s: bad data_offsets", quoteName(name))
		}
		t.Begin, t.End = int64(e.DataOffsets[0]), int64(e.DataOffsets[1])
		h.Tensors[name] = t
		h.Order = append(h.Order, name)
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if rest := buf[dec.InputOffset():]; len(bytes.Trim(rest, " \t\r\n")) != 0 {
		return errors.New("data after the header object")
	}
	return nil
}
