// Package lfs reads and writes Git LFS pointer files, the small text files
// that stand in a git tree for content stored outside git.
package lfs

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Version is the first line of every pointer file.
const Version = "version https://git-lfs.github.com/spec/v1"

// MaxPointerSize bounds what may be a pointer: real pointers are about 130 bytes,
// and git-lfs itself does not look at blobs larger than 1024 bytes.
const MaxPointerSize = 1024

// Pointer identifies LFS content by its sha256 and size.
type Pointer struct {
	OID  string // sha256 of the content, 64 lowercase hex digits
	Size int64
}

// String renders the canonical pointer file, newline terminated.
func (p Pointer) String() string {
	return fmt.Sprintf("%s\noid sha256:%s\nsize %d\n", Version, p.OID, p.Size)
}

// Parse reads a pointer file. ok is false when data is not a valid pointer,
// which for a file in a checkout means the file holds real content.
func Parse(data []byte) (p Pointer, ok bool) {
	if len(data) > MaxPointerSize || !bytes.HasPrefix(data, []byte(Version+"\n")) {
		return Pointer{}, false
	}
	var haveOID, haveSize bool
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n")[1:] {
		key, value, found := strings.Cut(line, " ")
		if !found {
			return Pointer{}, false
		}
		switch key {
		case "oid":
			oid, isSHA := strings.CutPrefix(value, "sha256:")
			if !isSHA || !ValidOID(oid) {
				return Pointer{}, false
			}
			p.OID, haveOID = oid, true
		case "size":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				return Pointer{}, false
			}
			p.Size, haveSize = n, true
		}
	}
	if !haveOID || !haveSize {
		return Pointer{}, false
	}
	return p, true
}

// ValidOID reports whether s is a lowercase hex sha256.
func ValidOID(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
