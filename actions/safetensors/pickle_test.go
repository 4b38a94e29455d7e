package safetensors

import (
	"bytes"
	"encoding/binary"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unpickleBytes decodes one pickle from b. A persistent id
// ('storage', type, key, location, numel) becomes a storage of numel
// elements in a fake record, so rebuild calls can be exercised.
func unpickleBytes(b []byte, lim Limits) (any, error) {
	u := newUnpickler(bytes.NewReader(b), 0, int64(len(b)), lim.withDefaults())
	u.persistentLoad = func(pid any) (any, error) {
		t, ok := pid.(*pyTuple)
		if !ok || len(t.items) != 5 {
			return nil, refuse(ErrMalformed, "bad pid")
		}
		typ, key, numel, err := storagePID(t.items)
		if err != nil {
			return nil, err
		}
		rec := &record{name: key, size: numel * typ.dt.size}
		return &storageRef{rec: rec, elem: typ.dt, size: rec.size}, nil
	}
	return u.load()
}

// heapAllocated returns the bytes the Go heap has allocated so far.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func u32(n uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], n)
	return string(b[:])
}

func u64(n uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	return string(b[:])
}

func binUnicode(s string) string { return "X" + u32(uint32(len(s))) + s }

// A tensor of 4 halves built the way torch.save pickles one.
const pickledTensor = "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nHalfStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR"

func TestUnpickleValues(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"none", "\x80\x02N.", nil},
		{"bools", "\x80\x02\x88.", true},
		{"binint negative", "J" + u32(0xfffffffe) + ".", int64(-2)},
		{"binint1", "K\xff.", int64(255)},
		{"binint2", "M\x34\x12.", int64(0x1234)},
		{"long1 positive", "\x8a\x02\xff\x7f.", int64(32767)},
		{"long1 negative", "\x8a\x01\xff.", int64(-1)},
		{"long1 empty", "\x8a\x00.", int64(0)},
		{"long1 eight bytes", "\x8a\x08" + u64(1<<62) + ".", int64(1 << 62)},
		{"long1 magic", "\x8a\x0a" + legacyMagic + ".", pyLong(legacyMagic)},
		{"binfloat", "G\x3f\xf8\x00\x00\x00\x00\x00\x00.", 1.5},
		{"short unicode", "\x80\x04\x8c\x03abc.", "abc"},
		{"binunicode", binUnicode("héllo") + ".", "héllo"},
		{"short binstring", "U\x02hi.", "hi"},
		{"bytes", "C\x02\x00\x01.", pyBytes("\x00\x01")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := unpickleBytes([]byte(tt.in), Limits{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestUnpickleMemo(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []any
	}{
		"binput and binget": {"X\x01\x00\x00\x00aq\x07h\x07\x86.", []any{"a", "a"}},
		"memoize":           {"\x80\x04N\x94h\x00\x86.", []any{nil, nil}},
		"long forms":        {"K\x05r\x00\x00\x01\x00j\x00\x00\x01\x00\x86.", []any{int64(5), int64(5)}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := unpickleBytes([]byte(tt.in), Limits{})
			require.NoError(t, err)
			tup, ok := got.(*pyTuple)
			require.True(t, ok)
			assert.Equal(t, tt.want, tup.items)
		})
	}
}

func TestUnpickleStateDict(t *testing.T) {
	// An OrderedDict with one tensor, a BUILD of its _metadata, and a
	// parameter around a second tensor.
	in := "\x80\x02ccollections\nOrderedDict\n)R(" + binUnicode("w") + pickledTensor +
		binUnicode("p") + "ctorch._utils\n_rebuild_parameter\n" + pickledTensor + "\x88ccollections\nOrderedDict\n)R\x87R" +
		"u}" + binUnicode("_metadata") + "ccollections\nOrderedDict\n)Rsb."
	got, err := unpickleBytes([]byte(in), Limits{})
	require.NoError(t, err)
	d, ok := got.(*pyDict)
	require.True(t, ok)
	assert.Equal(t, []any{"w", "p"}, d.keys)
	for _, v := range d.vals {
		tr, ok := v.(*tensorRef)
		require.True(t, ok)
		assert.Equal(t, "F16", tr.dt.name)
		assert.Equal(t, []int64{4}, tr.shape)
		assert.Equal(t, []int64{1}, tr.stride)
	}
}

func TestUnpickleRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   string
		lim  Limits
		kind error
		msg  string
	}{
		{"odd setitems", "}(K\x01u.", Limits{}, ErrMalformed, "SETITEMS with an odd number (1) of items"},
		{"setitems without mark", "}K\x01K\x02u.", Limits{}, ErrMalformed, "SETITEMS without MARK"},
		{"setitems on a list", "](K\x01K\x02u.", Limits{}, ErrUnsupported, "SETITEMS on a list"},
		{"append to a dict", "}K\x01a.", Limits{}, ErrUnsupported, "APPEND to a dict"},
		{"pop across a mark", "N(a.", Limits{}, ErrMalformed, "APPEND on an empty stack"},
		{"stop with two values", "NN.", Limits{}, ErrMalformed, "STOP with 2 values"},
		{"stop with a mark", "(N.", Limits{}, ErrMalformed, "STOP with 1 values and 1 marks"},
		{"no stop", "NN", Limits{}, ErrMalformed, "opcode needs 1 bytes, but only 0 remain"},
		{"memo unset", "h\x05.", Limits{}, ErrMalformed, "memo entry 5 used before it is set"},
		{"memo limit", "Nq\x01q\x02q\x03.", Limits{MaxMemo: 2}, ErrLimit, "more than 2 memo entries"},
		{"stack limit", "NNNN.", Limits{MaxStack: 3}, ErrLimit, "more than 3 values on the stack"},
		{"memory", binUnicode(strings.Repeat("a", 5000)) + ".", Limits{MaxPickleMemory: 4096}, ErrLimit, "more than 4096 bytes of memory"},
		{"declared length past the end", "\x80\x04\x8d" + u64(1<<60) + "abc.", Limits{}, ErrMalformed, "BINUNICODE8 needs 1152921504606846976 bytes, but only 4 remain"},
		{"binbytes8 past the end", "\x8e" + u64(60<<30) + ".", Limits{}, ErrMalformed, "BINBYTES8 needs 64424509440 bytes"},
		{"negative binstring", "T\xff\xff\xff\xff.", Limits{}, ErrMalformed, "negative length"},
		{"invalid utf-8", "X\x02\x00\x00\x00\xff\xfe.", Limits{}, ErrMalformed, "not valid UTF-8"},
		{"unknown opcode", "\xff.", Limits{}, ErrUnsupported, "opcode 0xff is not supported"},
		{"inst", "i__builtin__\neval\n.", Limits{}, ErrUnsupported, "opcode INST is not supported"},
		{"newobj", "N)\x81.", Limits{}, ErrUnsupported, "opcode NEWOBJ is not supported"},
		{"protocol 6", "\x80\x06N.", Limits{}, ErrUnsupported, "pickle protocol 6"},
		{"frame past the end", "\x80\x04\x95" + u64(100) + "N.", Limits{}, ErrMalformed, "FRAME needs 100 bytes"},
		{"os.system", "cos\nsystem\n.", Limits{}, ErrUnsafe, "refusing GLOBAL os.system"},
		{"stack global eval", "\x8c\x08builtins\x8c\x04eval\x93.", Limits{}, ErrUnsafe, "refusing GLOBAL builtins.eval"},
		{"numpy", "cnumpy.core.multiarray\n_reconstruct\n.", Limits{}, ErrNotTensors, "refusing GLOBAL numpy.core.multiarray._reconstruct"},
		{"complex128", "ctorch\nComplexDoubleStorage\n.", Limits{}, ErrUnsupported, "complex128"},
		{"global name too long", "c" + strings.Repeat("a", 300) + "\nb\n.", Limits{}, ErrMalformed, "GLOBAL name longer than 256 bytes"},
		{"stack global of ints", "K\x01K\x02\x93.", Limits{}, ErrMalformed, "STACK_GLOBAL on a int and a int"},
		{"reduce on a string", binUnicode("f") + ")R.", Limits{}, ErrUnsupported, "REDUCE on a str"},
		{"reduce on a storage class", "ctorch\nHalfStorage\n)R.", Limits{}, ErrUnsupported, "torch.HalfStorage is not callable"},
		{"ordered dict with arguments", "ccollections\nOrderedDict\nN\x85R.", Limits{}, ErrUnsupported, "called with 1 arguments"},
		{"build on a list", "]}b.", Limits{}, ErrUnsupported, "BUILD on a list"},
		{"build with a list state", "}]b.", Limits{}, ErrUnsupported, "BUILD of a dict with a list state"},
		{"bad persistent id", "NQ.", Limits{}, ErrMalformed, "bad pid"},
		{"dict key of type tuple", "})K\x01s.", Limits{}, ErrUnsupported, "dict key of type tuple"},
		{"self-appended list", "]q\x00" + strings.Repeat("h\x00a", 200) + ".", Limits{}, ErrLimit, "containers nested deeper than 100"},
		{"deep marks", strings.Repeat("(", 101) + ".", Limits{}, ErrLimit, "MARKs nested deeper than 100"},
		{"rebuild with wrong arity", "ctorch._utils\n_rebuild_tensor_v2\nN\x85R.", Limits{}, ErrMalformed, "_rebuild_tensor_v2 with 1 arguments"},
		{"rebuild of a non-storage", "ctorch._utils\n_rebuild_tensor\n(NK\x00))tR.", Limits{}, ErrMalformed, "_rebuild_tensor of a None instead of a storage"},
		{"negative size", "ctorch._utils\n_rebuild_tensor\n((X\x07\x00\x00\x00storagectorch\nHalfStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00J\xff\xff\xff\xff\x85K\x01\x85tR.", Limits{}, ErrMalformed, "bad size"},
		{"too many dimensions", "ctorch._utils\n_rebuild_tensor\n((X\x07\x00\x00\x00storagectorch\nHalfStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00(K\x01K\x01K\x01tK\x01\x85tR.", Limits{MaxRank: 2}, ErrLimit, "more than 2 dimensions"},
		{"tensor limit", "(" + pickledTensor + pickledTensor + "t.", Limits{MaxTensors: 1}, ErrLimit, "more than 1 tensors"},
		{"backward hooks", "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nHalfStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89}K\x01K\x02stR.", Limits{}, ErrUnsupported, "backward hooks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := unpickleBytes([]byte(tt.in), tt.lim)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "pickle at byte "), "the error says where: %v", err)
		})
	}
}

func TestUnpicklePickleLimit(t *testing.T) {
	in := []byte(binUnicode(strings.Repeat("a", 100)) + ".")
	_, err := unpickleBytes(in, Limits{MaxPickleBytes: 50})
	assert.ErrorIs(t, err, ErrLimit)
	assert.ErrorContains(t, err, "beyond the 50-byte pickle limit")
}

func TestUnpickleDoesNotAllocateDeclaredLengths(t *testing.T) {
	tests := map[string]string{
		"binunicode8 2^60":  "\x80\x04\x8d" + u64(1<<60) + "x.",
		"binbytes8 60 GiB":  "\x80\x04\x8e" + u64(60<<30) + ".",
		"binunicode 4 GiB":  "X\xff\xff\xff\xff.",
		"long_binput 2^32":  "Nr\xff\xff\xff\xff.",
		"long_binget 2^32":  "j\xff\xff\xff\xff.",
		"frame 2^63":        "\x80\x04\x95" + u64(1<<63) + ".",
		"legacy string big": "T\xff\xff\xff\x7f.",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			before := heapAllocated()
			_, _ = unpickleBytes([]byte(in), Limits{})
			assert.Less(t, heapAllocated()-before, uint64(1<<20))
		})
	}
}

func TestCheckZipEntries(t *testing.T) {
	eocd := func(count uint16) []byte {
		b := make([]byte, 22)
		copy(b, "PK\x05\x06")
		binary.LittleEndian.PutUint16(b[8:], count)
		binary.LittleEndian.PutUint16(b[10:], count)
		return b
	}
	t.Run("plain count", func(t *testing.T) {
		b := append(bytes.Repeat([]byte{0}, 100), eocd(1000)...)
		err := checkZipEntries(bytes.NewReader(b), int64(len(b)), 999)
		assert.ErrorIs(t, err, ErrLimit)
		assert.ErrorContains(t, err, "declares 1000 entries")
		assert.NoError(t, checkZipEntries(bytes.NewReader(b), int64(len(b)), 1000))
	})
	t.Run("zip64 count", func(t *testing.T) {
		rec := make([]byte, 56)
		copy(rec, "PK\x06\x06")
		binary.LittleEndian.PutUint64(rec[32:], 1<<40)
		loc := make([]byte, 20)
		copy(loc, "PK\x06\x07")
		binary.LittleEndian.PutUint64(loc[8:], 10)
		b := append(append(append(bytes.Repeat([]byte{0}, 10), rec...), loc...), eocd(0xffff)...)
		err := checkZipEntries(bytes.NewReader(b), int64(len(b)), 1<<17)
		assert.ErrorIs(t, err, ErrLimit)
		assert.ErrorContains(t, err, "declares 1099511627776 entries")
	})
	t.Run("directory size", func(t *testing.T) {
		e := eocd(10)
		binary.LittleEndian.PutUint32(e[12:], 1<<30)
		b := append(bytes.Repeat([]byte{0}, 100), e...)
		err := checkZipEntries(bytes.NewReader(b), int64(len(b)), 1<<17)
		assert.ErrorIs(t, err, ErrLimit)
		assert.ErrorContains(t, err, "the zip directory is 1073741824 bytes")
	})
	t.Run("no directory", func(t *testing.T) {
		b := []byte("PK\x03\x04 truncated")
		assert.ErrorIs(t, checkZipEntries(bytes.NewReader(b), int64(len(b)), 10), ErrMalformed)
	})
}
