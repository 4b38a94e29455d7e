package safetensors

import (
	"sort"
	"strings"
)

// This file holds the torch side of the unpickler: the allowlist of
// globals, and what REDUCE and BUILD mean for them. Nothing here runs code
// from the file: a rebuild function only records where a tensor's bytes are.

// globalKind says what an allowlisted global is.
type globalKind int

const (
	gOrderedDict       globalKind = iota + 1 // collections.OrderedDict
	gRebuildTensor                           // torch._utils._rebuild_tensor (old legacy files)
	gRebuildTensorV2                         // torch._utils._rebuild_tensor_v2
	gRebuildTensorV3                         // torch._utils._rebuild_tensor_v3 (float8, uint16+)
	gRebuildParameter                        // torch._utils._rebuild_parameter
	gRebuildParamState                       // torch._utils._rebuild_parameter_with_state
	gRebuildFromTypeV2                       // torch._tensor._rebuild_from_type_v2
	gStorage                                 // torch.HalfStorage, torch.UntypedStorage, ...
	gDtype                                   // torch.float16, torch.float8_e4m3fn, ...
	gTensorType                              // torch.Tensor, torch.nn.parameter.Parameter
)

// pyGlobal is an allowlisted global.
type pyGlobal struct {
	module, name string
	kind         globalKind
	dt           dtype // the element type of a gStorage, the type of a gDtype
}

// resolveGlobal looks a GLOBAL up in the allowlist. Anything else is refused
// with an error that names it; globals that could run code or reach the
// system are refused as unsafe.
func resolveGlobal(module, name string) (pyGlobal, error) {
	g := pyGlobal{module: module, name: name}
	switch module + "." + name {
	case "collections.OrderedDict":
		g.kind = gOrderedDict
	case "torch._utils._rebuild_tensor":
		g.kind = gRebuildTensor
	case "torch._utils._rebuild_tensor_v2":
		g.kind = gRebuildTensorV2
	case "torch._utils._rebuild_tensor_v3":
		g.kind = gRebuildTensorV3
	case "torch._utils._rebuild_parameter":
		g.kind = gRebuildParameter
	case "torch._utils._rebuild_parameter_with_state":
		g.kind = gRebuildParamState
	case "torch._tensor._rebuild_from_type_v2":
		g.kind = gRebuildFromTypeV2
	case "torch.Tensor", "torch._tensor.Tensor", "torch.nn.parameter.Parameter":
		g.kind = gTensorType
	}
	if g.kind != 0 {
		return g, nil
	}
	// torch.UntypedStorage's class lives in torch.storage, which is the name
	// a pickler records; both spellings are accepted.
	if module == "torch" || module == "torch.cuda" || (module == "torch.storage" && name == "UntypedStorage") {
		if elem, ok := storageElement(name); ok {
			g.kind = gStorage
			g.dt, _ = dtypeByTorch(elem)
			return g, nil
		}
	}
	if module == "torch" {
		if dt, ok := dtypeByTorch(name); ok {
			g.kind, g.dt = gDtype, dt
			return g, nil
		}
	}
	if strings.HasPrefix(module, "torch") {
		if t, ok := unsupportedType(name); ok {
			return g, refuse(ErrUnsupported, "the checkpoint holds %s tensors (GLOBAL %s.%s), which safetensors cannot store", t, module, name)
		}
	}
	if unsafeGlobal(module, name) {
		return g, refuse(ErrUnsafe, "refusing GLOBAL %s.%s: it is not in the allowlist and could run code under torch.load", module, name)
	}
	return g, refuse(ErrNotTensors, "refusing GLOBAL %s.%s: not in the allowlist (the file pickles Python objects, not only tensors)", module, name)
}

// unsafeGlobal reports whether a refused global is one that could run code
// or touch the system, which makes the file hostile rather than merely not
// a state dict. The allowlist is what protects hubbot; this only sorts the
// refusals for the report.
func unsafeGlobal(module, name string) bool {
	root, _, _ := strings.Cut(module, ".")
	switch root {
	case "os", "posix", "nt", "sys", "subprocess", "builtins", "__builtin__", "runpy", "pty",
		"socket", "shutil", "importlib", "ctypes", "pickle", "_pickle", "marshal", "types", "code",
		"codeop", "commands", "webbrowser", "functools", "operator", "io", "_io", "pathlib",
		"tempfile", "urllib", "urllib2", "http", "httplib", "requests", "asyncio", "multiprocessing",
		"threading", "_thread", "signal", "platform", "ssl", "ftplib", "smtplib", "telnetlib",
		"pdb", "bdb", "timeit", "trace", "profile", "cProfile", "dill", "cloudpickle", "joblib",
		"_posixsubprocess", "posixpath", "ntpath", "glob", "zipimport", "pkgutil", "imp":
		return true
	}
	switch name {
	case "eval", "exec", "execfile", "compile", "__import__", "getattr", "setattr", "apply",
		"system", "popen", "open", "input", "breakpoint", "globals", "locals", "vars":
		return true
	}
	return false
}

// record is the raw bytes of one storage in the checkpoint file.
type record struct {
	name   string // zip entry or legacy storage key, for messages
	off    int64  // offset of the first byte in the file
	size   int64  // bytes
	crc    uint32 // CRC32 (IEEE) from the zip directory
	hasCRC bool   // false for the legacy format
}

// storageRef is a storage as the pickle refers to it: a record, or (legacy
// format) a view into one.
type storageRef struct {
	rec  *record
	elem dtype // element type of the storage class (uint8 for UntypedStorage)
	off  int64 // byte offset of the view in rec
	size int64 // bytes visible through the view
}

// tensorRef is the layout a rebuild function describes.
type tensorRef struct {
	st     *storageRef
	dt     dtype
	offset int64 // in elements of dt
	shape  []int64
	stride []int64
}

// reduce implements REDUCE for the allowlisted callables.
func (u *unpickler) reduce(at int64, fn, argv any) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, u.fail(at, ErrUnsupported, "REDUCE on a %s", typeName(fn))
	}
	t, ok := argv.(*pyTuple)
	if !ok {
		return nil, u.fail(at, ErrMalformed, "REDUCE of %s.%s with a %s of arguments", g.module, g.name, typeName(argv))
	}
	args := t.items
	switch g.kind {
	case gOrderedDict:
		if len(args) != 0 {
			return nil, u.fail(at, ErrUnsupported, "collections.OrderedDict called with %d arguments", len(args))
		}
		return u.newDict(at)
	case gRebuildTensor, gRebuildTensorV2, gRebuildTensorV3:
		return u.rebuildTensor(at, g, args)
	case gRebuildParameter, gRebuildParamState:
		want := 3
		if g.kind == gRebuildParamState {
			want = 4
		}
		if len(args) != want {
			return nil, u.fail(at, ErrMalformed, "%s takes %d arguments, got %d", g.name, want, len(args))
		}
		tr, ok := args[0].(*tensorRef)
		if !ok {
			return nil, u.fail(at, ErrMalformed, "%s of a %s", g.name, typeName(args[0]))
		}
		if err := u.checkHooks(at, args[2]); err != nil {
			return nil, err
		}
		return tr, nil
	case gRebuildFromTypeV2:
		// A tensor with Python attributes: func(*args), then the attributes
		// (ignored: safetensors stores none).
		if len(args) != 4 {
			return nil, u.fail(at, ErrMalformed, "_rebuild_from_type_v2 takes 4 arguments, got %d", len(args))
		}
		if tt, ok := args[1].(pyGlobal); !ok || tt.kind != gTensorType {
			return nil, u.fail(at, ErrUnsupported, "_rebuild_from_type_v2 for a %s", typeName(args[1]))
		}
		switch args[3].(type) {
		case nil, *pyDict:
		default:
			return nil, u.fail(at, ErrUnsupported, "_rebuild_from_type_v2 with a %s state", typeName(args[3]))
		}
		f, ok := args[0].(pyGlobal)
		if !ok || (f.kind != gRebuildTensor && f.kind != gRebuildTensorV2 && f.kind != gRebuildTensorV3 &&
			f.kind != gRebuildParameter && f.kind != gRebuildParamState) {
			return nil, u.fail(at, ErrUnsupported, "_rebuild_from_type_v2 calling a %s", typeName(args[0]))
		}
		return u.reduce(at, f, args[2])
	}
	return nil, u.fail(at, ErrUnsupported, "%s.%s is not callable", g.module, g.name)
}

// build implements BUILD: setting the state of an object. Only the
// attribute dict of an OrderedDict (a state_dict's _metadata) is accepted,
// and ignored.
func (u *unpickler) build(at int64, obj, state any) error {
	if _, ok := obj.(*pyDict); !ok {
		return u.fail(at, ErrUnsupported, "BUILD on a %s", typeName(obj))
	}
	switch s := state.(type) {
	case nil, *pyDict:
		return nil
	case *pyTuple:
		if len(s.items) == 2 {
			_, ok0 := s.items[0].(*pyDict)
			_, ok1 := s.items[1].(*pyDict)
			if (ok0 || s.items[0] == nil) && (ok1 || s.items[1] == nil) {
				return nil
			}
		}
	}
	return u.fail(at, ErrUnsupported, "BUILD of a dict with a %s state", typeName(state))
}

// checkHooks accepts only an empty backward-hooks dict: hooks are Python
// functions, which a weights file never needs.
func (u *unpickler) checkHooks(at int64, v any) error {
	switch h := v.(type) {
	case nil:
		return nil
	case *pyDict:
		if len(h.keys) == 0 {
			return nil
		}
	}
	return u.fail(at, ErrUnsupported, "tensor with backward hooks")
}

// rebuildTensor records the layout that _rebuild_tensor{,_v2,_v3} describe:
//
//	_rebuild_tensor(storage, offset, size, stride)
//	_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
//	_rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])
//
// Bounds are checked later, when the tensor gets its name.
func (u *unpickler) rebuildTensor(at int64, g pyGlobal, args []any) (*tensorRef, error) {
	var lo, hi int
	switch g.kind {
	case gRebuildTensor:
		lo, hi = 4, 4
	case gRebuildTensorV2:
		lo, hi = 6, 7
	default:
		lo, hi = 7, 8
	}
	if len(args) < lo || len(args) > hi {
		return nil, u.fail(at, ErrMalformed, "%s with %d arguments", g.name, len(args))
	}
	u.nTens++
	if u.nTens > u.lim.MaxTensors {
		return nil, u.fail(at, ErrLimit, "more than %d tensors", u.lim.MaxTensors)
	}
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, u.fail(at, ErrMalformed, "%s of a %s instead of a storage", g.name, typeName(args[0]))
	}
	offset, ok := args[1].(int64)
	if !ok || offset < 0 {
		return nil, u.fail(at, ErrMalformed, "%s with a bad storage offset", g.name)
	}
	shape, err := u.dims(at, g.name, "size", args[2])
	if err != nil {
		return nil, err
	}
	stride, err := u.dims(at, g.name, "stride", args[3])
	if err != nil {
		return nil, err
	}
	if len(shape) != len(stride) {
		return nil, u.fail(at, ErrMalformed, "%s with %d sizes and %d strides", g.name, len(shape), len(stride))
	}
	dt := st.elem
	metaAt := -1
	if g.kind != gRebuildTensor {
		if _, ok := args[4].(bool); !ok {
			return nil, u.fail(at, ErrMalformed, "%s with a %s for requires_grad", g.name, typeName(args[4]))
		}
		if err := u.checkHooks(at, args[5]); err != nil {
			return nil, err
		}
		metaAt = 6
	}
	if g.kind == gRebuildTensorV3 {
		d, ok := args[6].(pyGlobal)
		if !ok || d.kind != gDtype {
			return nil, u.fail(at, ErrMalformed, "%s with a %s for dtype", g.name, typeName(args[6]))
		}
		dt = d.dt
		metaAt = 7
	}
	if metaAt > 0 && metaAt < len(args) {
		if err := u.checkTensorMetadata(at, args[metaAt]); err != nil {
			return nil, err
		}
	}
	if err := u.charge(at, costObject+32*uint64(len(shape))); err != nil {
		return nil, err
	}
	return &tensorRef{st: st, dt: dt, offset: offset, shape: shape, stride: stride}, nil
}

// checkTensorMetadata accepts torch's per-tensor metadata only when every
// flag is off: a set conj or neg bit means the stored bytes are not the
// tensor's values.
func (u *unpickler) checkTensorMetadata(at int64, v any) error {
	switch m := v.(type) {
	case nil:
		return nil
	case *pyDict:
		var set []string
		for i, k := range m.keys {
			if b, ok := m.vals[i].(bool); ok && !b {
				continue
			}
			if s, ok := k.(string); ok {
				set = append(set, s)
			} else {
				set = append(set, typeName(k))
			}
		}
		if len(set) == 0 {
			return nil
		}
		sort.Strings(set)
		return u.fail(at, ErrUnsupported, "tensor metadata %s is not supported", strings.Join(set, ", "))
	}
	return u.fail(at, ErrMalformed, "tensor metadata is a %s", typeName(v))
}

// dims reads a size or stride tuple of non-negative ints.
func (u *unpickler) dims(at int64, fn, what string, v any) ([]int64, error) {
	t, ok := v.(*pyTuple)
	if !ok {
		return nil, u.fail(at, ErrMalformed, "%s with a %s for %s", fn, typeName(v), what)
	}
	if len(t.items) > u.lim.MaxRank {
		return nil, u.fail(at, ErrLimit, "tensor with more than %d dimensions", u.lim.MaxRank)
	}
	out := make([]int64, len(t.items))
	for i, it := range t.items {
		n, ok := it.(int64)
		if !ok || n < 0 {
			return nil, u.fail(at, ErrMalformed, "%s with a bad %s", fn, what)
		}
		out[i] = n
	}
	return out, nil
}

// pushGlobal resolves a GLOBAL or STACK_GLOBAL and pushes it.
func (u *unpickler) pushGlobal(at int64, module, name string) error {
	g, err := resolveGlobal(module, name)
	if err != nil {
		return u.fail(at, kindOf(err), "%v", err)
	}
	if err := u.charge(at, costObject); err != nil {
		return err
	}
	return u.push(at, g)
}
