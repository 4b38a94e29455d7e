//go:build unix

package safetensors

import (
	"math"
	"os"
	"syscall"
)

// mapFile maps n bytes of f at off read-only. ok is false when the mapping
// is not possible; the caller then reads instead.
func mapFile(f *os.File, off, n int64) (b []byte, release func(), ok bool) {
	page := int64(os.Getpagesize())
	base := off - off%page
	length := n + (off - base)
	if length > math.MaxInt {
		return nil, nil, false
	}
	m, err := syscall.Mmap(int(f.Fd()), base, int(length), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, false
	}
	return m[off-base:], func() { _ = syscall.Munmap(m) }, true
}
