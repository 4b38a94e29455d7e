package safetensors

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stFile builds a safetensors file from a raw header and a data length.
func stFile(header string, data int) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(make([]byte, data))
	return b.Bytes()
}

func TestReadHeader(t *testing.T) {
	good := `{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"BOOL","shape":[],"data_offsets":[12,13]}}   `
	h, err := ReadHeader(bytes.NewReader(stFile(good, 13)), int64(len(stFile(good, 13))))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"format": "pt"}, h.Metadata)
	assert.Equal(t, []string{"a", "b"}, h.Order)
	assert.Equal(t, HeaderTensor{DType: "F16", Shape: []int64{2, 3}, Begin: 0, End: 12}, h.Tensors["a"])
	assert.Equal(t, int64(len(good)), h.Len)

	tests := []struct {
		name   string
		header string
		data   int
		msg    string
	}{
		{"hole", `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, 6, "hole or overlap"},
		{"overlap", `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4, "hole or overlap"},
		{"trailing bytes", `{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 3, "the file has"},
		{"wrong length", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4, "has 4 bytes for shape [2] of F32"},
		{"sub-byte tail", `{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2, "of F4"},
		{"unknown dtype", `{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, 16, "unknown dtype"},
		{"duplicate", `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2, "duplicate tensor"},
		{"metadata not strings", `{"__metadata__":{"n":1}}`, 0, "__metadata__"},
		{"unknown field", `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}}`, 1, "unknown field"},
		{"missing shape", `{"a":{"dtype":"U8","data_offsets":[0,1]}}`, 1, "missing shape"},
		{"not an object", `[1]`, 0, "header does not start with '{'"},
		{"junk after", `{} x`, 0, "data after the header"},
		{"shape overflow", `{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}`, 1, "bytes for shape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := stFile(tt.header, tt.data)
			_, err := ReadHeader(bytes.NewReader(f), int64(len(f)))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrVerify)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}

	t.Run("header length past the end", func(t *testing.T) {
		f := stFile(`{}`, 0)
		binary.LittleEndian.PutUint64(f, 1<<40)
		_, err := ReadHeader(bytes.NewReader(f), int64(len(f)))
		assert.ErrorContains(t, err, "too large")
	})
	t.Run("header over 100MB", func(t *testing.T) {
		f := stFile(`{}`, 0)
		binary.LittleEndian.PutUint64(f, maxHeaderSize+1)
		_, err := ReadHeader(bytes.NewReader(f), maxHeaderSize+100)
		assert.ErrorContains(t, err, "too large")
	})
	t.Run("too short", func(t *testing.T) {
		_, err := ReadHeader(strings.NewReader("abc"), 3)
		assert.ErrorIs(t, err, ErrVerify)
	})
}
