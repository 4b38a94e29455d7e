package safetensors

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// checkpoint is what a PyTorch checkpoint file holds, without its data:
// the unpickled object, whose tensors point at records in the file.
type checkpoint struct {
	format string // "zip" or "legacy"
	prefix string // the zip archive's top folder
	obj    any
	// records are the storages in the order the file declares them.
	records []*record
}

// Magic bytes and markers used to recognise files.
const (
	zipMagic    = "PK\x03\x04"
	lfsPrefix   = "version https://git-lfs.github.com/spec/"
	legacyMagic = "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19" // 0x1950a86a20f9469cfc6c, little-endian
)

// readCheckpoint recognises the format of src (size bytes) and decodes its
// pickle. It reads no tensor data.
func readCheckpoint(src io.ReaderAt, size int64, lim Limits) (*checkpoint, error) {
	var head [512]byte
	n, err := src.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the start of the file: %w", err)
	}
	h := head[:n]
	switch {
	case size == 0:
		return nil, refuse(ErrNotCheckpoint, "the file is empty")
	case bytes.HasPrefix(h, []byte(zipMagic)):
		return readZip(src, size, lim)
	case bytes.HasPrefix(h, []byte(lfsPrefix)):
		return nil, refuse(ErrNotCheckpoint, "the file is a Git LFS pointer, not the checkpoint itself (fetch the LFS content first)")
	case len(h) >= 262 && string(h[257:262]) == "ustar":
		return nil, refuse(ErrUnsupported, "the file is a tar archive (the format of torch.save before 0.4, or not a checkpoint), which is not supported")
	case h[0] == opProto:
		return readLegacy(src, size, lim)
	case bytes.HasPrefix(h, []byte("PK\x05\x06")):
		return nil, refuse(ErrNotCheckpoint, "the file is an empty zip archive")
	}
	return nil, refuse(ErrNotCheckpoint, "unknown file format (starts with % x)", h[:min(len(h), 8)])
}

// readZip reads the zip format of torch.save: <prefix>/data.pkl, storages
// in <prefix>/data/<key>, stored uncompressed, optional <prefix>/byteorder
// and other records that are ignored.
func readZip(src io.ReaderAt, size int64, lim Limits) (*checkpoint, error) {
	if err := checkZipEntries(src, size, lim.MaxZipEntries); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(src, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, refuse(ErrMalformed, "unreadable zip archive: %v", err)
	}
	if len(zr.File) == 0 {
		return nil, refuse(ErrMalformed, "the zip archive has no entries")
	}
	prefix, _, found := strings.Cut(zr.File[0].Name, "/")
	if !found || prefix == "" {
		return nil, refuse(ErrMalformed, "zip entry %q is not inside an archive folder", zr.File[0].Name)
	}
	entries := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		name := f.Name
		if !safeEntryName(name) {
			return nil, refuse(ErrMalformed, "unsafe zip entry name %q", name)
		}
		rel, ok := strings.CutPrefix(name, prefix+"/")
		if !ok {
			return nil, refuse(ErrMalformed, "zip entry %q is outside the archive folder %q", name, prefix)
		}
		if _, dup := entries[rel]; dup {
			return nil, refuse(ErrMalformed, "duplicate zip entry %q", name)
		}
		entries[rel] = f
	}
	if _, ok := entries["constants.pkl"]; ok {
		return nil, refuse(ErrUnsupported, "the file is a TorchScript archive (torch.jit.save), not a torch.save checkpoint")
	}
	if bo, ok := entries["byteorder"]; ok {
		b, err := readSmallEntry(bo, 16)
		if err != nil {
			return nil, err
		}
		if string(b) != "little" {
			return nil, refuse(ErrUnsupported, "byte order %q: only little-endian checkpoints are supported", b)
		}
	}
	pkl, ok := entries["data.pkl"]
	if !ok {
		return nil, refuse(ErrMalformed, "zip archive without %s/data.pkl", prefix)
	}
	if pkl.Method != zip.Store && pkl.Method != zip.Deflate {
		return nil, refuse(ErrUnsupported, "data.pkl is compressed with method %d", pkl.Method)
	}
	if pkl.UncompressedSize64 > uint64(lim.MaxPickleBytes) {
		return nil, refuse(ErrLimit, "data.pkl is %d bytes, above the %d-byte limit", pkl.UncompressedSize64, lim.MaxPickleBytes)
	}

	ck := &checkpoint{format: "zip", prefix: prefix}
	byKey := make(map[string]*storageRef)
	load := func(pid any) (any, error) {
		t, ok := pid.(*pyTuple)
		if !ok || len(t.items) != 5 {
			return nil, refuse(ErrMalformed, "persistent id is not a 5-tuple ('storage', type, key, location, size)")
		}
		typ, key, numel, err := storagePID(t.items)
		if err != nil {
			return nil, err
		}
		if prev, ok := byKey[key]; ok {
			if prev.elem != typ.dt || prev.size != numel*typ.dt.size {
				return nil, refuse(ErrMalformed, "storage %q is declared twice with different types or sizes", key)
			}
			return prev, nil
		}
		f, ok := entries["data/"+key]
		if !ok {
			return nil, refuse(ErrMalformed, "storage %q has no record %s/data/%s", key, prefix, key)
		}
		if f.Method != zip.Store {
			return nil, refuse(ErrUnsupported, "storage record %q is compressed (method %d); torch.save never compresses storages", f.Name, f.Method)
		}
		nbytes, ok := mulNonNeg(numel, typ.dt.size)
		if !ok || f.UncompressedSize64 != uint64(nbytes) || f.CompressedSize64 != uint64(nbytes) {
			return nil, refuse(ErrMalformed, "storage record %q holds %d bytes, but its %d %s elements need %d", f.Name, f.UncompressedSize64, numel, typ.dt.torch, nbytes)
		}
		off, err := f.DataOffset()
		if err != nil {
			return nil, refuse(ErrMalformed, "storage record %q: %v", f.Name, err)
		}
		if off < 0 || off > size || nbytes > size-off {
			return nil, refuse(ErrMalformed, "storage record %q extends past the end of the file", f.Name)
		}
		rec := &record{name: f.Name, off: off, size: nbytes, crc: f.CRC32, hasCRC: true}
		ck.records = append(ck.records, rec)
		st := &storageRef{rec: rec, elem: typ.dt, size: nbytes}
		byKey[key] = st
		return st, nil
	}

	rc, err := pkl.Open()
	if err != nil {
		return nil, refuse(ErrMalformed, "open data.pkl: %v", err)
	}
	defer rc.Close()
	u := newUnpickler(zipErrors{rc}, 0, int64(pkl.UncompressedSize64), lim)
	u.persistentLoad = load
	obj, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	// torch writes exactly one pickle; reading to the end also makes
	// archive/zip check the CRC of data.pkl.
	if u.pos != int64(pkl.UncompressedSize64) {
		return nil, refuse(ErrMalformed, "data.pkl has %d bytes after its STOP opcode", int64(pkl.UncompressedSize64)-u.pos)
	}
	if _, err := (zipErrors{u.r}).Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		return nil, refuse(ErrMalformed, "data.pkl: %v", orUnexpected(err))
	}
	ck.obj = obj
	return ck, nil
}

// zipErrors words archive/zip's errors for an entry being read.
type zipErrors struct{ r io.Reader }

func (z zipErrors) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	switch {
	case errors.Is(err, zip.ErrFormat):
		err = errors.New("the entry holds more data than its declared size")
	case errors.Is(err, zip.ErrChecksum):
		err = errors.New("the entry fails its CRC32 check")
	}
	return n, err
}

// orUnexpected names the error of a read that should have hit EOF.
func orUnexpected(err error) error {
	if err == nil {
		return errors.New("more data than declared")
	}
	return err
}

// readSmallEntry reads a small record such as byteorder, up to max bytes.
func readSmallEntry(f *zip.File, max int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, refuse(ErrMalformed, "zip entry %q is %d bytes, expected at most %d", f.Name, f.UncompressedSize64, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, refuse(ErrMalformed, "open %q: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, refuse(ErrMalformed, "read %q: %v", f.Name, err)
	}
	if int64(len(b)) > max {
		return nil, refuse(ErrMalformed, "zip entry %q is larger than declared", f.Name)
	}
	return b, nil
}

// safeEntryName rejects entry names that would escape a folder if the
// archive were extracted: hubbot extracts nothing, but such names only
// appear in crafted files.
func safeEntryName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// checkZipEntries reads the entry count and the directory size from the
// end-of-central-directory record (zip64 included) and refuses archives
// that declare more than max entries, or more than 512 bytes of directory
// per allowed entry, before archive/zip allocates room for them.
func checkZipEntries(src io.ReaderAt, size int64, max int) error {
	const eocdLen, locLen, eocd64Len = 22, 20, 56
	tail := min(size, 64<<10+eocdLen)
	buf := make([]byte, tail)
	if _, err := src.ReadAt(buf, size-tail); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the zip directory: %w", err)
	}
	// Search backwards the way archive/zip does, so both find the same record.
	at := -1
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if string(buf[i:i+4]) == "PK\x05\x06" {
			n := int(binary.LittleEndian.Uint16(buf[i+20:]))
			if i+eocdLen+n <= len(buf) {
				at = i
				break
			}
		}
	}
	if at < 0 {
		return refuse(ErrMalformed, "no zip directory found (the file is truncated or not a zip archive)")
	}
	count := uint64(binary.LittleEndian.Uint16(buf[at+10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(buf[at+12:]))
	if (count == 0xffff || dirSize == 0xffffffff) && at >= locLen && string(buf[at-locLen:at-locLen+4]) == "PK\x06\x07" {
		off := int64(binary.LittleEndian.Uint64(buf[at-locLen+8:]))
		var rec [eocd64Len]byte
		if off < 0 || off > size-eocd64Len {
			return refuse(ErrMalformed, "zip64 directory record outside the file")
		}
		if _, err := src.ReadAt(rec[:], off); err != nil {
			return fmt.Errorf("read the zip64 directory: %w", err)
		}
		if string(rec[:4]) != "PK\x06\x06" {
			return refuse(ErrMalformed, "bad zip64 directory record")
		}
		count = binary.LittleEndian.Uint64(rec[32:])
		dirSize = binary.LittleEndian.Uint64(rec[40:])
	}
	if count > uint64(max) {
		return refuse(ErrLimit, "the zip archive declares %d entries, above the limit of %d", count, max)
	}
	// Names, extra fields and comments can take 192 KiB per entry; torch's
	// take about 100 bytes.
	if limit := uint64(max) * 512; dirSize > limit {
		return refuse(ErrLimit, "the zip directory is %d bytes, above the limit of %d", dirSize, limit)
	}
	return nil
}

// storagePID checks the common head of a storage persistent id:
// ('storage', storage type, key, location, numel, ...).
func storagePID(items []any) (typ pyGlobal, key string, numel int64, err error) {
	if s, ok := items[0].(string); !ok || s != "storage" {
		return typ, "", 0, refuse(ErrUnsupported, "persistent id of kind %s (only storages are supported)", describeTag(items[0]))
	}
	typ, ok := items[1].(pyGlobal)
	if !ok || typ.kind != gStorage {
		return typ, "", 0, refuse(ErrMalformed, "persistent id with a %s instead of a storage type", typeName(items[1]))
	}
	key, ok = items[2].(string)
	if !ok || key == "" || len(key) > 256 || strings.ContainsAny(key, "/\\\x00") || key == "." || key == ".." {
		return typ, "", 0, refuse(ErrMalformed, "persistent id with a bad storage key")
	}
	if _, ok := items[3].(string); !ok {
		return typ, "", 0, refuse(ErrMalformed, "persistent id with a %s for location", typeName(items[3]))
	}
	numel, ok = items[4].(int64)
	if !ok || numel < 0 {
		return typ, "", 0, refuse(ErrMalformed, "persistent id with a bad storage size")
	}
	return typ, key, numel, nil
}

// describeTag shows a persistent id's tag if it is a short string.
func describeTag(v any) string {
	if s, ok := v.(string); ok && len(s) <= 32 {
		return fmt.Sprintf("%q", s)
	}
	return typeName(v)
}

// mulNonNeg multiplies non-negative a and b, reporting overflow.
func mulNonNeg(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	if a == 0 || b == 0 {
		return 0, true
	}
	if a > (1<<63-1)/b {
		return 0, false
	}
	return a * b, true
}

// addNonNeg adds non-negative a and b, reporting overflow.
func addNonNeg(a, b int64) (int64, bool) {
	if a < 0 || b < 0 || a > 1<<63-1-b {
		return 0, false
	}
	return a + b, true
}

// legacyRoot is a storage of the legacy format before its data is located.
type legacyRoot struct {
	rec   *record
	elem  dtype
	numel int64
}

// readLegacy reads the format torch.save wrote before 1.6: five pickles
// (magic number, protocol version, system info, the object, the storage
// keys), then for each key an int64 element count and the raw bytes.
func readLegacy(src io.ReaderAt, size int64, lim Limits) (*checkpoint, error) {
	off := int64(0)
	next := func(load func(any) (any, error)) (any, error) {
		u := newUnpickler(io.NewSectionReader(src, off, size-off), off, size-off, lim)
		u.persistentLoad = load
		v, err := u.load()
		if err != nil {
			return nil, err
		}
		off += u.pos
		return v, nil
	}
	magic, err := next(nil)
	if err != nil {
		if errors.Is(err, ErrUnsafe) || errors.Is(err, ErrLimit) {
			return nil, err
		}
		return nil, refuse(ErrNotCheckpoint, "the file starts with a pickle that is not a PyTorch checkpoint: %v", err)
	}
	if m, ok := magic.(pyLong); !ok || string(m) != legacyMagic {
		return nil, refuse(ErrNotCheckpoint, "the file is a pickle without torch's magic number (not a torch.save file)")
	}
	proto, err := next(nil)
	if err != nil {
		return nil, err
	}
	if p, ok := proto.(int64); !ok || p != 1001 {
		return nil, refuse(ErrUnsupported, "legacy checkpoint with protocol version %v", describeInt(proto))
	}
	info, err := next(nil)
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pyDict); ok {
		if le, ok := d.get("little_endian"); ok && le != true {
			return nil, refuse(ErrUnsupported, "big-endian legacy checkpoint")
		}
	} else {
		return nil, refuse(ErrMalformed, "legacy checkpoint system info is a %s", typeName(info))
	}

	ck := &checkpoint{format: "legacy"}
	roots := make(map[string]*legacyRoot)
	load := func(pid any) (any, error) {
		t, ok := pid.(*pyTuple)
		if !ok || len(t.items) != 6 {
			return nil, refuse(ErrMalformed, "persistent id is not a 6-tuple ('storage', type, key, location, size, view)")
		}
		typ, key, numel, err := storagePID(t.items)
		if err != nil {
			return nil, err
		}
		root, ok := roots[key]
		if !ok {
			nbytes, ok := mulNonNeg(numel, typ.dt.size)
			if !ok || nbytes > size {
				return nil, refuse(ErrMalformed, "storage %q declares %d elements, more than the file holds", key, numel)
			}
			root = &legacyRoot{rec: &record{name: "storage " + key, size: nbytes}, elem: typ.dt, numel: numel}
			roots[key] = root
			ck.records = append(ck.records, root.rec)
		} else if root.elem != typ.dt || root.numel != numel {
			return nil, refuse(ErrMalformed, "storage %q is declared twice with different types or sizes", key)
		}
		st := &storageRef{rec: root.rec, elem: root.elem, size: root.rec.size}
		switch view := t.items[5].(type) {
		case nil:
		case *pyTuple:
			// (view key, offset, size) in elements of the root storage.
			if len(view.items) != 3 {
				return nil, refuse(ErrMalformed, "storage view metadata is not a 3-tuple")
			}
			vo, ok1 := view.items[1].(int64)
			vn, ok2 := view.items[2].(int64)
			bo, ok3 := mulNonNeg(vo, root.elem.size)
			bn, ok4 := mulNonNeg(vn, root.elem.size)
			end, ok5 := addNonNeg(bo, bn)
			if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || end > root.rec.size {
				return nil, refuse(ErrMalformed, "storage view of %q lies outside it", key)
			}
			st.off, st.size = bo, bn
		default:
			return nil, refuse(ErrMalformed, "storage view metadata is a %s", typeName(view))
		}
		return st, nil
	}
	obj, err := next(load)
	if err != nil {
		return nil, err
	}
	keysV, err := next(nil)
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*pyList)
	if !ok {
		return nil, refuse(ErrMalformed, "legacy storage key list is a %s", typeName(keysV))
	}
	seen := make(map[string]bool, len(keys.items))
	for _, kv := range keys.items {
		key, ok := kv.(string)
		root := roots[key]
		if !ok || root == nil || seen[key] {
			return nil, refuse(ErrMalformed, "legacy storage key list names an unknown or repeated storage")
		}
		seen[key] = true
		var b [8]byte
		if off > size-8 {
			return nil, refuse(ErrMalformed, "the file ends before the data of storage %q", key)
		}
		if _, err := src.ReadAt(b[:], off); err != nil {
			return nil, fmt.Errorf("read storage %q: %w", key, err)
		}
		if n := int64(binary.LittleEndian.Uint64(b[:])); n != root.numel {
			return nil, refuse(ErrMalformed, "storage %q holds %d elements, but the pickle declares %d", key, n, root.numel)
		}
		root.rec.off = off + 8
		if root.rec.size > size-root.rec.off {
			return nil, refuse(ErrMalformed, "the file ends inside the data of storage %q", key)
		}
		off = root.rec.off + root.rec.size
	}
	if len(seen) != len(roots) {
		return nil, refuse(ErrMalformed, "some storages have no data in the file")
	}
	ck.obj = obj
	return ck, nil
}

// describeInt shows v if it is an int, else its type.
func describeInt(v any) string {
	if n, ok := v.(int64); ok {
		return fmt.Sprint(n)
	}
	return typeName(v)
}
