package safetensors

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

// This file is a small unpickler for the opcodes that torch.save emits
// (pickle protocols 2 to 5, binary opcodes only). It builds plain Go values
// and never calls anything: a GLOBAL is resolved against the allowlist in
// torch.go, and REDUCE is only defined for the handful of allowlisted torch
// rebuild functions, which record a tensor's layout instead of running.
//
// Every length is checked against the bytes that remain and against the
// memory budget before anything is allocated, so a 20-byte pickle that
// declares a 2^60-byte string is refused without allocating it.

// Pickle opcodes.
const (
	opMark            = '('
	opStop            = '.'
	opPop             = '0'
	opPopMark         = '1'
	opDup             = '2'
	opFloat           = 'F'
	opInt             = 'I'
	opBinInt          = 'J'
	opBinInt1         = 'K'
	opLong            = 'L'
	opBinInt2         = 'M'
	opNone            = 'N'
	opPersID          = 'P'
	opBinPersID       = 'Q'
	opReduce          = 'R'
	opString          = 'S'
	opBinString       = 'T'
	opShortBinString  = 'U'
	opUnicode         = 'V'
	opBinUnicode      = 'X'
	opAppend          = 'a'
	opBuild           = 'b'
	opGlobal          = 'c'
	opDict            = 'd'
	opEmptyDict       = '}'
	opAppends         = 'e'
	opGet             = 'g'
	opBinGet          = 'h'
	opInst            = 'i'
	opLongBinGet      = 'j'
	opList            = 'l'
	opEmptyList       = ']'
	opObj             = 'o'
	opPut             = 'p'
	opBinPut          = 'q'
	opLongBinPut      = 'r'
	opSetItem         = 's'
	opTuple           = 't'
	opEmptyTuple      = ')'
	opSetItems        = 'u'
	opBinFloat        = 'G'
	opProto           = 0x80
	opNewObj          = 0x81
	opExt1            = 0x82
	opExt2            = 0x83
	opExt4            = 0x84
	opTuple1          = 0x85
	opTuple2          = 0x86
	opTuple3          = 0x87
	opNewTrue         = 0x88
	opNewFalse        = 0x89
	opLong1           = 0x8a
	opLong4           = 0x8b
	opBinBytes        = 'B'
	opShortBinBytes   = 'C'
	opShortBinUnicode = 0x8c
	opBinUnicode8     = 0x8d
	opBinBytes8       = 0x8e
	opEmptySet        = 0x8f
	opAddItems        = 0x90
	opFrozenSet       = 0x91
	opNewObjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95
	opByteArray8      = 0x96
	opNextBuffer      = 0x97
	opReadOnlyBuffer  = 0x98
)

// opName names an opcode for error messages.
func opName(op byte) string {
	switch op {
	case opMark:
		return "MARK"
	case opStop:
		return "STOP"
	case opPop:
		return "POP"
	case opPopMark:
		return "POP_MARK"
	case opDup:
		return "DUP"
	case opFloat:
		return "FLOAT"
	case opInt:
		return "INT"
	case opBinInt:
		return "BININT"
	case opBinInt1:
		return "BININT1"
	case opLong:
		return "LONG"
	case opBinInt2:
		return "BININT2"
	case opNone:
		return "NONE"
	case opPersID:
		return "PERSID"
	case opBinPersID:
		return "BINPERSID"
	case opReduce:
		return "REDUCE"
	case opString:
		return "STRING"
	case opBinString:
		return "BINSTRING"
	case opShortBinString:
		return "SHORT_BINSTRING"
	case opUnicode:
		return "UNICODE"
	case opBinUnicode:
		return "BINUNICODE"
	case opAppend:
		return "APPEND"
	case opBuild:
		return "BUILD"
	case opGlobal:
		return "GLOBAL"
	case opDict:
		return "DICT"
	case opEmptyDict:
		return "EMPTY_DICT"
	case opAppends:
		return "APPENDS"
	case opGet:
		return "GET"
	case opBinGet:
		return "BINGET"
	case opInst:
		return "INST"
	case opLongBinGet:
		return "LONG_BINGET"
	case opList:
		return "LIST"
	case opEmptyList:
		return "EMPTY_LIST"
	case opObj:
		return "OBJ"
	case opPut:
		return "PUT"
	case opBinPut:
		return "BINPUT"
	case opLongBinPut:
		return "LONG_BINPUT"
	case opSetItem:
		return "SETITEM"
	case opTuple:
		return "TUPLE"
	case opEmptyTuple:
		return "EMPTY_TUPLE"
	case opSetItems:
		return "SETITEMS"
	case opBinFloat:
		return "BINFLOAT"
	case opProto:
		return "PROTO"
	case opNewObj:
		return "NEWOBJ"
	case opExt1:
		return "EXT1"
	case opExt2:
		return "EXT2"
	case opExt4:
		return "EXT4"
	case opTuple1:
		return "TUPLE1"
	case opTuple2:
		return "TUPLE2"
	case opTuple3:
		return "TUPLE3"
	case opNewTrue:
		return "NEWTRUE"
	case opNewFalse:
		return "NEWFALSE"
	case opLong1:
		return "LONG1"
	case opLong4:
		return "LONG4"
	case opBinBytes:
		return "BINBYTES"
	case opShortBinBytes:
		return "SHORT_BINBYTES"
	case opShortBinUnicode:
		return "SHORT_BINUNICODE"
	case opBinUnicode8:
		return "BINUNICODE8"
	case opBinBytes8:
		return "BINBYTES8"
	case opEmptySet:
		return "EMPTY_SET"
	case opAddItems:
		return "ADDITEMS"
	case opFrozenSet:
		return "FROZENSET"
	case opNewObjEx:
		return "NEWOBJ_EX"
	case opStackGlobal:
		return "STACK_GLOBAL"
	case opMemoize:
		return "MEMOIZE"
	case opFrame:
		return "FRAME"
	case opByteArray8:
		return "BYTEARRAY8"
	case opNextBuffer:
		return "NEXT_BUFFER"
	case opReadOnlyBuffer:
		return "READONLY_BUFFER"
	}
	return fmt.Sprintf("0x%02x", op)
}

// Values built by the unpickler. Scalars are Go values: nil (None), bool,
// int64, float64, string. The rest are the types below, plus *storageRef
// and *tensorRef from torch.go.
type (
	// pyBytes is a Python bytes object.
	pyBytes string
	// pyLong is an integer too large for int64, kept as its little-endian
	// two's complement bytes (the legacy format's magic number is one).
	pyLong string

	pyTuple struct {
		items []any
		depth int
	}
	pyList struct {
		items []any
		depth int
	}
	// pyDict is a dict or OrderedDict; both keep insertion order.
	pyDict struct {
		keys  []any
		vals  []any
		index map[any]int
		depth int
	}
)

// get returns the value of key k.
func (d *pyDict) get(k any) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// typeName names the Python type of v for error messages. It never prints
// the value: values can be cyclic or huge.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, pyLong:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pyBytes:
		return "bytes"
	case *pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return v.module + "." + v.name
	case *storageRef:
		return "storage"
	case *tensorRef:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

// depthOf is the container nesting depth of v.
func depthOf(v any) int {
	switch v := v.(type) {
	case *pyTuple:
		return v.depth
	case *pyList:
		return v.depth
	case *pyDict:
		return v.depth
	case *tensorRef:
		return 1
	}
	return 0
}

// Generous estimates of what the Go runtime allocates, charged against
// Limits.MaxPickleMemory before allocating.
const (
	costSlot      = 32  // one stack slot, with the slice's doubling
	costString    = 32  // a string header and rounding, plus its bytes
	costContainer = 128 // an empty tuple, list or dict
	costItem      = 40  // one list or tuple item
	costDictEntry = 192 // one new dict key: two slices and the map
	costMemo      = 96  // one memo entry
	costObject    = 256 // a storage or tensor record, plus 32 per dimension
)

// unpickler decodes one pickle from r.
type unpickler struct {
	r      *bufio.Reader
	base   int64 // offset of the pickle in its file, for messages
	pos    int64 // bytes consumed
	limit  int64 // bytes that may be read
	capped bool  // limit is Limits.MaxPickleBytes, not the end of the data
	lim    Limits
	mem    int64
	nTens  int

	stack []any
	marks []int
	memo  map[uint32]any

	// persistentLoad resolves a BINPERSID. Nil refuses persistent ids.
	persistentLoad func(pid any) (any, error)
}

// newUnpickler reads a pickle of at most avail bytes from r. base is its
// offset in the file, for messages.
func newUnpickler(r io.Reader, base, avail int64, lim Limits) *unpickler {
	u := &unpickler{r: bufio.NewReaderSize(r, 64<<10), base: base, limit: avail, lim: lim}
	if avail > lim.MaxPickleBytes {
		u.limit, u.capped = lim.MaxPickleBytes, true
	}
	u.memo = make(map[uint32]any)
	return u
}

// fail builds a refusal that says where in the pickle it happened.
func (u *unpickler) fail(at int64, kind error, format string, args ...any) error {
	return refuse(kind, "pickle at byte %d: %s", u.base+at, fmt.Sprintf(format, args...))
}

// charge counts n bytes against the memory budget before they are allocated.
func (u *unpickler) charge(at int64, n uint64) error {
	if n > uint64(u.lim.MaxPickleMemory) || u.mem+int64(n) > u.lim.MaxPickleMemory {
		return u.fail(at, ErrLimit, "decoding would use more than %d bytes of memory", u.lim.MaxPickleMemory)
	}
	u.mem += int64(n)
	return nil
}

// short reports that the pickle ends before n more bytes could be read.
func (u *unpickler) short(at int64, what string, n uint64) error {
	left := u.limit - u.pos
	if u.capped && n > uint64(left) {
		return u.fail(at, ErrLimit, "%s needs %d bytes, beyond the %d-byte pickle limit", what, n, u.lim.MaxPickleBytes)
	}
	return u.fail(at, ErrMalformed, "%s needs %d bytes, but only %d remain", what, n, left)
}

// readErr turns a failed read of the underlying data into a refusal.
func (u *unpickler) readErr(at int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return u.fail(at, ErrMalformed, "data ends early")
	}
	return u.fail(at, ErrMalformed, "reading: %v", err)
}

func (u *unpickler) readByte(at int64, what string) (byte, error) {
	if u.pos >= u.limit {
		return 0, u.short(at, what, 1)
	}
	b, err := u.r.ReadByte()
	if err != nil {
		return 0, u.readErr(at, err)
	}
	u.pos++
	return b, nil
}

// readFixed reads n <= 8 bytes into a stack buffer.
func (u *unpickler) readFixed(at int64, what string, n int) ([8]byte, error) {
	var b [8]byte
	if int64(n) > u.limit-u.pos {
		return b, u.short(at, what, uint64(n))
	}
	if _, err := io.ReadFull(u.r, b[:n]); err != nil {
		return b, u.readErr(at, err)
	}
	u.pos += int64(n)
	return b, nil
}

// readN reads a length-prefixed payload, checking the length before
// allocating.
func (u *unpickler) readN(at int64, what string, n uint64) ([]byte, error) {
	if n > uint64(u.limit-u.pos) {
		return nil, u.short(at, what, n)
	}
	if err := u.charge(at, n+costString); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(u.r, b); err != nil {
		return nil, u.readErr(at, err)
	}
	u.pos += int64(n)
	return b, nil
}

// readLine reads a GLOBAL argument, a line of at most 256 bytes.
func (u *unpickler) readLine(at int64) (string, error) {
	var buf [256]byte
	for i := 0; i < len(buf); i++ {
		c, err := u.readByte(at, "GLOBAL")
		if err != nil {
			return "", err
		}
		if c == '\n' {
			if !utf8.Valid(buf[:i]) {
				return "", u.fail(at, ErrMalformed, "GLOBAL name is not UTF-8")
			}
			return string(buf[:i]), nil
		}
		buf[i] = c
	}
	return "", u.fail(at, ErrMalformed, "GLOBAL name longer than %d bytes", len(buf))
}

func (u *unpickler) push(at int64, v any) error {
	if len(u.stack) >= u.lim.MaxStack {
		return u.fail(at, ErrLimit, "more than %d values on the stack", u.lim.MaxStack)
	}
	if err := u.charge(at, costSlot); err != nil {
		return err
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop(at int64, op byte) (any, error) {
	base := 0
	if len(u.marks) > 0 {
		base = u.marks[len(u.marks)-1]
	}
	if len(u.stack) <= base {
		return nil, u.fail(at, ErrMalformed, "%s on an empty stack", opName(op))
	}
	v := u.stack[len(u.stack)-1]
	u.stack[len(u.stack)-1] = nil
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

// top returns the value on top of the stack without popping it.
func (u *unpickler) top(at int64, op byte) (any, error) {
	base := 0
	if len(u.marks) > 0 {
		base = u.marks[len(u.marks)-1]
	}
	if len(u.stack) <= base {
		return nil, u.fail(at, ErrMalformed, "%s on an empty stack", opName(op))
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark removes the items pushed since the last MARK and returns them;
// the returned slice aliases the stack and is only valid until the next push.
func (u *unpickler) popMark(at int64, op byte) ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.fail(at, ErrMalformed, "%s without MARK", opName(op))
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := u.stack[m:]
	u.stack = u.stack[:m]
	return items, nil
}

// clearTail drops references left in the stack's spare capacity by popMark.
func clearTail(items []any) {
	for i := range items {
		items[i] = nil
	}
}

// newTuple copies items into a tuple.
func (u *unpickler) newTuple(at int64, items []any) (*pyTuple, error) {
	if err := u.charge(at, costContainer+costItem*uint64(len(items))); err != nil {
		return nil, err
	}
	t := &pyTuple{items: make([]any, len(items))}
	copy(t.items, items)
	for _, it := range t.items {
		t.depth = max(t.depth, depthOf(it)+1)
	}
	if t.depth > u.lim.MaxDepth {
		return nil, u.fail(at, ErrLimit, "containers nested deeper than %d", u.lim.MaxDepth)
	}
	return t, nil
}

func (u *unpickler) newDict(at int64) (*pyDict, error) {
	if err := u.charge(at, costContainer); err != nil {
		return nil, err
	}
	return &pyDict{index: make(map[any]int)}, nil
}

// setItem sets d[k] = v as Python would: a new key goes last, an existing
// one keeps its place.
func (u *unpickler) setItem(at int64, d *pyDict, k, v any) error {
	switch k.(type) {
	case string, int64, bool, nil, float64, pyBytes, pyLong:
	default:
		return u.fail(at, ErrUnsupported, "dict key of type %s", typeName(k))
	}
	if d.depth = max(d.depth, depthOf(v)+1); d.depth > u.lim.MaxDepth {
		return u.fail(at, ErrLimit, "containers nested deeper than %d", u.lim.MaxDepth)
	}
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return nil
	}
	if err := u.charge(at, costDictEntry); err != nil {
		return err
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (u *unpickler) appendItem(at int64, l *pyList, v any) error {
	if err := u.charge(at, costItem); err != nil {
		return err
	}
	if l.depth = max(l.depth, depthOf(v)+1); l.depth > u.lim.MaxDepth {
		return u.fail(at, ErrLimit, "containers nested deeper than %d", u.lim.MaxDepth)
	}
	l.items = append(l.items, v)
	return nil
}

func (u *unpickler) memoPut(at int64, idx uint32) error {
	v, err := u.top(at, opBinPut)
	if err != nil {
		return err
	}
	if _, ok := u.memo[idx]; !ok {
		if len(u.memo) >= u.lim.MaxMemo {
			return u.fail(at, ErrLimit, "more than %d memo entries", u.lim.MaxMemo)
		}
		if err := u.charge(at, costMemo); err != nil {
			return err
		}
	}
	u.memo[idx] = v
	return nil
}

func (u *unpickler) memoGet(at int64, idx uint32) error {
	v, ok := u.memo[idx]
	if !ok {
		return u.fail(at, ErrMalformed, "memo entry %d used before it is set", idx)
	}
	return u.push(at, v)
}

// text decodes a pickled str, which must be UTF-8 (torch.load decodes with
// utf-8).
func (u *unpickler) text(at int64, b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", u.fail(at, ErrMalformed, "string is not valid UTF-8")
	}
	return string(b), nil
}

// load runs the pickle to its STOP and returns the unpickled value.
func (u *unpickler) load() (any, error) {
	for {
		at := u.pos
		op, err := u.readByte(at, "opcode")
		if err != nil {
			return nil, err
		}
		if err := u.step(at, op); err != nil {
			if errors.Is(err, errStop) {
				return u.finish(at)
			}
			return nil, err
		}
	}
}

// errStop signals the STOP opcode from step to load.
var errStop = errors.New("stop")

func (u *unpickler) finish(at int64) (any, error) {
	if len(u.marks) != 0 || len(u.stack) != 1 {
		return nil, u.fail(at, ErrMalformed, "STOP with %d values and %d marks left on the stack", len(u.stack), len(u.marks))
	}
	v := u.stack[0]
	u.stack = nil
	return v, nil
}

// step executes one opcode.
func (u *unpickler) step(at int64, op byte) error {
	switch op {
	case opProto:
		v, err := u.readByte(at, "PROTO")
		if err != nil {
			return err
		}
		if v > 5 {
			return u.fail(at, ErrUnsupported, "pickle protocol %d", v)
		}
		return nil
	case opFrame:
		b, err := u.readFixed(at, "FRAME", 8)
		if err != nil {
			return err
		}
		if n := binary.LittleEndian.Uint64(b[:]); n > uint64(u.limit-u.pos) {
			return u.short(at, "FRAME", n)
		}
		return nil
	case opStop:
		return errStop
	case opMark:
		if len(u.marks) >= u.lim.MaxDepth {
			return u.fail(at, ErrLimit, "MARKs nested deeper than %d", u.lim.MaxDepth)
		}
		if err := u.charge(at, costSlot); err != nil {
			return err
		}
		u.marks = append(u.marks, len(u.stack))
		return nil

	case opNone:
		return u.push(at, nil)
	case opNewTrue:
		return u.push(at, true)
	case opNewFalse:
		return u.push(at, false)
	case opBinInt:
		b, err := u.readFixed(at, "BININT", 4)
		if err != nil {
			return err
		}
		return u.push(at, int64(int32(binary.LittleEndian.Uint32(b[:]))))
	case opBinInt1:
		b, err := u.readByte(at, "BININT1")
		if err != nil {
			return err
		}
		return u.push(at, int64(b))
	case opBinInt2:
		b, err := u.readFixed(at, "BININT2", 2)
		if err != nil {
			return err
		}
		return u.push(at, int64(binary.LittleEndian.Uint16(b[:])))
	case opLong1:
		n, err := u.readByte(at, "LONG1")
		if err != nil {
			return err
		}
		b, err := u.readN(at, "LONG1", uint64(n))
		if err != nil {
			return err
		}
		return u.push(at, decodeLong(b))
	case opBinFloat:
		b, err := u.readFixed(at, "BINFLOAT", 8)
		if err != nil {
			return err
		}
		return u.push(at, math.Float64frombits(binary.BigEndian.Uint64(b[:])))

	case opShortBinUnicode, opShortBinString, opShortBinBytes:
		n, err := u.readByte(at, opName(op))
		if err != nil {
			return err
		}
		return u.pushPayload(at, op, uint64(n))
	case opBinUnicode, opBinBytes:
		b, err := u.readFixed(at, opName(op), 4)
		if err != nil {
			return err
		}
		return u.pushPayload(at, op, uint64(binary.LittleEndian.Uint32(b[:])))
	case opBinString:
		b, err := u.readFixed(at, "BINSTRING", 4)
		if err != nil {
			return err
		}
		n := int32(binary.LittleEndian.Uint32(b[:]))
		if n < 0 {
			return u.fail(at, ErrMalformed, "BINSTRING with negative length %d", n)
		}
		return u.pushPayload(at, op, uint64(n))
	case opBinUnicode8, opBinBytes8:
		b, err := u.readFixed(at, opName(op), 8)
		if err != nil {
			return err
		}
		return u.pushPayload(at, op, binary.LittleEndian.Uint64(b[:]))

	case opEmptyTuple:
		return u.pushTuple(at, nil)
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		items := make([]any, n)
		for i := n - 1; i >= 0; i-- {
			v, err := u.pop(at, op)
			if err != nil {
				return err
			}
			items[i] = v
		}
		return u.pushTuple(at, items)
	case opTuple:
		items, err := u.popMark(at, op)
		if err != nil {
			return err
		}
		t, err := u.newTuple(at, items)
		clearTail(items)
		if err != nil {
			return err
		}
		return u.push(at, t)
	case opEmptyList:
		if err := u.charge(at, costContainer); err != nil {
			return err
		}
		return u.push(at, &pyList{})
	case opEmptyDict:
		d, err := u.newDict(at)
		if err != nil {
			return err
		}
		return u.push(at, d)

	case opAppend:
		v, err := u.pop(at, op)
		if err != nil {
			return err
		}
		t, err := u.top(at, op)
		if err != nil {
			return err
		}
		l, ok := t.(*pyList)
		if !ok {
			return u.fail(at, ErrUnsupported, "APPEND to a %s", typeName(t))
		}
		return u.appendItem(at, l, v)
	case opAppends:
		items, err := u.popMark(at, op)
		if err != nil {
			return err
		}
		defer clearTail(items)
		t, err := u.top(at, op)
		if err != nil {
			return err
		}
		l, ok := t.(*pyList)
		if !ok {
			return u.fail(at, ErrUnsupported, "APPENDS to a %s", typeName(t))
		}
		for _, v := range items {
			if err := u.appendItem(at, l, v); err != nil {
				return err
			}
		}
		return nil
	case opSetItem:
		v, err := u.pop(at, op)
		if err != nil {
			return err
		}
		k, err := u.pop(at, op)
		if err != nil {
			return err
		}
		t, err := u.top(at, op)
		if err != nil {
			return err
		}
		d, ok := t.(*pyDict)
		if !ok {
			return u.fail(at, ErrUnsupported, "SETITEM on a %s", typeName(t))
		}
		return u.setItem(at, d, k, v)
	case opSetItems:
		items, err := u.popMark(at, op)
		if err != nil {
			return err
		}
		defer clearTail(items)
		if len(items)%2 != 0 {
			return u.fail(at, ErrMalformed, "SETITEMS with an odd number (%d) of items", len(items))
		}
		t, err := u.top(at, op)
		if err != nil {
			return err
		}
		d, ok := t.(*pyDict)
		if !ok {
			return u.fail(at, ErrUnsupported, "SETITEMS on a %s", typeName(t))
		}
		for i := 0; i < len(items); i += 2 {
			if err := u.setItem(at, d, items[i], items[i+1]); err != nil {
				return err
			}
		}
		return nil

	case opBinPut:
		b, err := u.readByte(at, "BINPUT")
		if err != nil {
			return err
		}
		return u.memoPut(at, uint32(b))
	case opLongBinPut:
		b, err := u.readFixed(at, "LONG_BINPUT", 4)
		if err != nil {
			return err
		}
		return u.memoPut(at, binary.LittleEndian.Uint32(b[:]))
	case opMemoize:
		return u.memoPut(at, uint32(len(u.memo)))
	case opBinGet:
		b, err := u.readByte(at, "BINGET")
		if err != nil {
			return err
		}
		return u.memoGet(at, uint32(b))
	case opLongBinGet:
		b, err := u.readFixed(at, "LONG_BINGET", 4)
		if err != nil {
			return err
		}
		return u.memoGet(at, binary.LittleEndian.Uint32(b[:]))

	case opGlobal:
		module, err := u.readLine(at)
		if err != nil {
			return err
		}
		name, err := u.readLine(at)
		if err != nil {
			return err
		}
		return u.pushGlobal(at, module, name)
	case opStackGlobal:
		n, err := u.pop(at, op)
		if err != nil {
			return err
		}
		m, err := u.pop(at, op)
		if err != nil {
			return err
		}
		module, ok1 := m.(string)
		name, ok2 := n.(string)
		if !ok1 || !ok2 {
			return u.fail(at, ErrMalformed, "STACK_GLOBAL on a %s and a %s", typeName(m), typeName(n))
		}
		return u.pushGlobal(at, module, name)
	case opReduce:
		args, err := u.pop(at, op)
		if err != nil {
			return err
		}
		fn, err := u.pop(at, op)
		if err != nil {
			return err
		}
		v, err := u.reduce(at, fn, args)
		if err != nil {
			return err
		}
		return u.push(at, v)
	case opBuild:
		state, err := u.pop(at, op)
		if err != nil {
			return err
		}
		t, err := u.top(at, op)
		if err != nil {
			return err
		}
		return u.build(at, t, state)
	case opBinPersID:
		pid, err := u.pop(at, op)
		if err != nil {
			return err
		}
		if u.persistentLoad == nil {
			return u.fail(at, ErrMalformed, "persistent id outside a checkpoint")
		}
		v, err := u.persistentLoad(pid)
		if err != nil {
			return u.fail(at, kindOf(err), "%v", err)
		}
		if err := u.charge(at, costObject); err != nil {
			return err
		}
		return u.push(at, v)
	}
	return u.fail(at, ErrUnsupported, "opcode %s is not supported (torch.save does not emit it)", opName(op))
}

// kindOf returns the refusal category of err, ErrMalformed when it has none.
func kindOf(err error) error {
	var r *refusal
	if errors.As(err, &r) {
		return r.kind
	}
	return ErrMalformed
}

func (u *unpickler) pushTuple(at int64, items []any) error {
	t, err := u.newTuple(at, items)
	if err != nil {
		return err
	}
	return u.push(at, t)
}

// pushPayload reads a length-prefixed string or bytes payload and pushes it.
func (u *unpickler) pushPayload(at int64, op byte, n uint64) error {
	b, err := u.readN(at, opName(op), n)
	if err != nil {
		return err
	}
	switch op {
	case opShortBinBytes, opBinBytes, opBinBytes8:
		return u.push(at, pyBytes(b))
	}
	s, err := u.text(at, b)
	if err != nil {
		return err
	}
	return u.push(at, s)
}

// decodeLong decodes LONG1's little-endian two's complement integer.
func decodeLong(b []byte) any {
	if len(b) > 8 {
		return pyLong(b)
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if n := len(b); n > 0 && n < 8 && b[n-1]&0x80 != 0 {
		v |= ^uint64(0) << (8 * n) // sign-extend
	}
	return int64(v)
}
