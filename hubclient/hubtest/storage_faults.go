package hubtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

// StorageFault changes how the storage answers downloads (GET) of LFS
// objects, to test clients that read objects with range requests: storage
// that ignores or refuses ranges, an object that changes between two
// reads, a connection reset in the middle of a body. Status answers (a 503
// from storage) are Fault with Path "/lfs/" on the CDN listener.
type StorageFault struct {
	// OID is the object whose downloads are affected; empty means any.
	OID string
	// Times is how many matching downloads are affected; zero means one, a
	// negative value means every one until ClearStorageFaults.
	Times int
	// OnlyRanges affects only requests with a Range header.
	OnlyRanges bool

	// IgnoreRange answers a range request with 200 and the whole object,
	// as storage without range support does.
	IgnoreRange bool
	// RefuseRange answers a range request with 416 Range Not Satisfiable.
	RefuseRange bool
	// Content, when not nil, is served instead of the object, as if it had
	// changed since it was listed. Its ETag is its own sha256 unless KeepETag
	// is set (storage that changed the bytes but not the ETag).
	Content  []byte
	KeepETag bool
	// ResetAfter, when positive, sends that many bytes of the body and then
	// resets the connection.
	ResetAfter int64
}

// FailStorage arms a storage fault. Faults are tried in the order they
// were armed; the first that matches a download and has uses left applies.
func (s *Server) FailStorage(f StorageFault) { s.storageFaults.arm(f, f.Times) }

// ClearStorageFaults disarms every storage fault.
func (s *Server) ClearStorageFaults() { s.storageFaults.clear() }

// storageFault returns the storage fault that applies to a download of oid,
// using up one of its uses.
func (s *Server) storageFault(oid string, ranged bool) (StorageFault, bool) {
	return s.storageFaults.take(func(f StorageFault) bool {
		return (f.OID == "" || f.OID == oid) && (!f.OnlyRanges || ranged)
	})
}

// serveFaultyLFS answers a download under fault f; serve answers it as the
// storage normally would.
func (s *Server) serveFaultyLFS(w http.ResponseWriter, r *http.Request, oid string, f StorageFault, serve func(http.ResponseWriter, *http.Request, string)) {
	ranged := r.Header.Get("Range") != ""
	switch {
	case f.RefuseRange && ranged:
		writeS3Error(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
		return
	case f.IgnoreRange && ranged:
		r = r.Clone(r.Context())
		r.Header.Del("Range")
	}
	if f.ResetAfter > 0 {
		w = &resetWriter{ResponseWriter: w, left: f.ResetAfter}
	}
	if f.Content != nil {
		etag := oid
		if !f.KeepETag {
			sum := sha256.Sum256(f.Content)
			etag = hex.EncodeToString(sum[:])
		}
		w.Header().Set("ETag", `"`+etag+`"`)
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.Content))
		return
	}
	serve(w, r, oid)
}

// resetWriter lets left bytes of the body through, then resets the
// connection.
type resetWriter struct {
	http.ResponseWriter
	left int64
}

func (w *resetWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= w.left {
		w.left -= int64(len(p))
		return w.ResponseWriter.Write(p)
	}
	n, err := w.ResponseWriter.Write(p[:w.left])
	w.left = 0
	if err == nil {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
	dropConnection(w.ResponseWriter)
	return n, http.ErrAbortHandler
}
