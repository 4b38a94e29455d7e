package safetensors

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// namedTensor is one entry of the state dict with its layout checked.
type namedTensor struct {
	name string
	t    *tensorRef
	rec  *record

	numel  int64
	nbytes int64 // numel * element size: what the output holds
	// start is the offset in rec of the tensor's first element; span the
	// bytes from there to the end of its last element in memory. A
	// contiguous tensor has span == nbytes.
	start, span int64
	contiguous  bool
}

// printable shows a path or name as is, or quoted if it holds control
// characters (a newline would break a one-line message).
func printable(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}

// quoteName quotes a tensor name for a message, shortened if it is long.
func quoteName(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%q...", s[:120])
	}
	return fmt.Sprintf("%q", s)
}

// stateDict finds the tensors of a checkpoint as convert.py does: the
// top-level dict, or its "state_dict" entry if it has one, whose every
// value must be a tensor.
func stateDict(ck *checkpoint) ([]*namedTensor, error) {
	d, ok := ck.obj.(*pyDict)
	if !ok {
		return nil, refuse(ErrNotTensors, "the checkpoint holds a %s, not a dictionary of tensors", typeName(ck.obj))
	}
	if inner, ok := d.get("state_dict"); ok {
		if d, ok = inner.(*pyDict); !ok {
			return nil, refuse(ErrNotTensors, "the checkpoint's state_dict is a %s, not a dictionary of tensors", typeName(inner))
		}
	}
	if len(d.keys) == 0 {
		return nil, refuse(ErrNotTensors, "the checkpoint holds no tensors")
	}
	out := make([]*namedTensor, 0, len(d.keys))
	for i, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return nil, refuse(ErrNotTensors, "the checkpoint has a key of type %s; tensor names must be strings", typeName(k))
		}
		t, ok := d.vals[i].(*tensorRef)
		if !ok {
			return nil, refuse(ErrNotTensors, "entry %s is a %s, not a tensor", quoteName(name), typeName(d.vals[i]))
		}
		if name == "__metadata__" {
			return nil, refuse(ErrUnsupported, "a tensor is named __metadata__, which safetensors reserves")
		}
		nt, err := layout(name, t)
		if err != nil {
			return nil, err
		}
		out = append(out, nt)
	}
	return out, nil
}

// layout computes where a tensor's bytes are and checks that its view
// stays inside its storage.
func layout(name string, t *tensorRef) (*namedTensor, error) {
	nt := &namedTensor{name: name, t: t, rec: t.st.rec, numel: 1, contiguous: true}
	if t.dt.packed2() && len(t.shape) == 0 {
		return nil, refuse(ErrUnsupported, "tensor %s: a 0-dimensional float4_e2m1fn_x2 has no safetensors shape", quoteName(name))
	}
	for _, n := range t.shape {
		var ok bool
		if nt.numel, ok = mulNonNeg(nt.numel, n); !ok {
			return nil, refuse(ErrMalformed, "tensor %s: its size overflows", quoteName(name))
		}
	}
	var ok bool
	if nt.nbytes, ok = mulNonNeg(nt.numel, t.dt.size); !ok {
		return nil, refuse(ErrMalformed, "tensor %s: its size overflows", quoteName(name))
	}
	if nt.numel == 0 {
		return nt, nil // nothing to read, wherever the view points
	}
	last := t.offset // index of the last element, in elements
	want := int64(1) // the stride a C-contiguous tensor has
	for i := len(t.shape) - 1; i >= 0; i-- {
		step, ok1 := mulNonNeg(t.shape[i]-1, t.stride[i])
		var ok2 bool
		last, ok2 = addNonNeg(last, step)
		if !ok1 || !ok2 {
			return nil, refuse(ErrMalformed, "tensor %s: its view overflows", quoteName(name))
		}
		if t.shape[i] != 1 && t.stride[i] != want {
			nt.contiguous = false
		}
		want *= t.shape[i] // cannot overflow: bounded by numel
	}
	first, ok1 := mulNonNeg(t.offset, t.dt.size)
	end, ok2 := mulNonNeg(last, t.dt.size)
	if ok2 {
		end, ok2 = addNonNeg(end, t.dt.size)
	}
	if !ok1 || !ok2 || end > t.st.size {
		return nil, refuse(ErrMalformed, "tensor %s: its view ends at byte %s of a %d-byte storage, past its end",
			quoteName(name), byteCount(end, ok1 && ok2), t.st.size)
	}
	nt.start = t.st.off + first
	nt.span = end - first
	return nt, nil
}

// byteCount shows an offset, or "overflow" when it could not be computed.
func byteCount(n int64, ok bool) string {
	if !ok {
		return "(overflow)"
	}
	return fmt.Sprint(n)
}
