package hubtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/hubbot/hubbot/lfs"
)

// The LFS store keeps each object once on disk, named by its sha256. Which
// repos may use an object is tracked per repo (repo.lfs), as the Hub's
// storage is per repo: uploading to one repo does not make an object
// available to another.

func (s *Server) lfsPath(oid string) string {
	return filepath.Join(s.dir, "lfs", "objects", oid[:2], oid[2:4], oid)
}

// lfsStat returns the size of a stored object.
func (s *Server) lfsStat(oid string) (int64, bool) {
	if !lfs.ValidOID(oid) {
		return 0, false
	}
	fi, err := os.Stat(s.lfsPath(oid))
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}

// storeLFS streams r into the store through sha256, without holding the
// content in memory, and keeps it only when it has exactly size bytes and
// hashes to oid. Errors on content are *apiError (400).
func (s *Server) storeLFS(oid string, size int64, r io.Reader) error {
	if !lfs.ValidOID(oid) {
		return errBadRequest(fmt.Sprintf("invalid oid %q", oid))
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "lfs-*")
	if err != nil {
		return fmt.Errorf("store lfs object %s: %w", oid, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, size+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store lfs object %s: %w", oid, err)
	}
	if n != size {
		return errBadRequest(fmt.Sprintf("object %s: expected %d bytes, got %d or more", oid, size, n))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != oid {
		return errBadRequest(fmt.Sprintf("object %s: content hashes to %s", oid, got))
	}
	final := s.lfsPath(oid)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return fmt.Errorf("store lfs object %s: %w", oid, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("store lfs object %s: %w", oid, err)
	}
	return nil
}

// storeLFSBytes stores content and returns its pointer.
func (s *Server) storeLFSBytes(content []byte) (lfs.Pointer, error) {
	sum := sha256.Sum256(content)
	p := lfs.Pointer{OID: hex.EncodeToString(sum[:]), Size: int64(len(content))}
	if size, ok := s.lfsStat(p.OID); ok && size == p.Size {
		return p, nil
	}
	return p, s.storeLFS(p.OID, p.Size, bytes.NewReader(content))
}

// linkLFS makes a stored object available to a repo.
func (s *Server) linkLFS(rp *repo, oid string, size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp.lfs[oid] = size
}

// repoLFS returns the size of an object uploaded to rp.
func (s *Server) repoLFS(rp *repo, oid string) (int64, bool) {
	s.mu.Lock()
	size, ok := rp.lfs[oid]
	s.mu.Unlock()
	if !ok {
		return 0, false
	}
	if stored, ok := s.lfsStat(oid); !ok || stored != size {
		return 0, false
	}
	return size, true
}

// LFSObject returns the content of a stored LFS object.
func (s *Server) LFSObject(oid string) ([]byte, error) {
	if !lfs.ValidOID(oid) {
		return nil, fmt.Errorf("lfs object %q: invalid oid", oid)
	}
	data, err := os.ReadFile(s.lfsPath(oid))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("lfs object %s: not stored", oid)
	}
	return data, err
}

// LFSObjectPath returns the file holding a stored LFS object, for objects
// too large to read into memory.
func (s *Server) LFSObjectPath(oid string) (string, bool) {
	if _, ok := s.lfsStat(oid); !ok {
		return "", false
	}
	return s.lfsPath(oid), true
}

// serveLFSFile answers a download of a stored object, with Range support,
// unless a StorageFault says otherwise.
func (s *Server) serveLFSFile(w http.ResponseWriter, r *http.Request, oid string) {
	if r.Method == http.MethodGet {
		if f, ok := s.storageFault(oid, r.Header.Get("Range") != ""); ok {
			s.serveFaultyLFS(w, r, oid, f, s.serveStoredLFS)
			return
		}
	}
	s.serveStoredLFS(w, r, oid)
}

// serveStoredLFS answers a download of a stored object, with Range support.
func (s *Server) serveStoredLFS(w http.ResponseWriter, r *http.Request, oid string) {
	f, err := os.Open(s.lfsPath(oid))
	if err != nil {
		writeS3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("ETag", `"`+oid+`"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
