package lfs

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	oid := strings.Repeat("ab", 32)
	good := Pointer{OID: oid, Size: 440449768}
	tests := []struct {
		name string
		in   string
		want Pointer
		ok   bool
	}{
		{"canonical", good.String(), good, true},
		{"extra keys kept compatible", Version + "\next-0-foo sha256:x\noid sha256:" + oid + "\nsize 440449768\n", good, true},
		{"no trailing newline", strings.TrimSuffix(good.String(), "\n"), good, true},
		{"missing size", Version + "\noid sha256:" + oid + "\n", Pointer{}, false},
		{"uppercase oid", Version + "\noid sha256:" + strings.ToUpper(oid) + "\nsize 1\n", Pointer{}, false},
		{"negative size", Version + "\noid sha256:" + oid + "\nsize -1\n", Pointer{}, false},
		{"not a pointer", "hello world\n", Pointer{}, false},
		{"too big", good.String() + strings.Repeat("x", MaxPointerSize), Pointer{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse([]byte(tt.in))
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
