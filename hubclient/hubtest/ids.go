package hubtest

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// idSource makes 24-hex ObjectIds like the Hub's Mongo ids: 4 bytes of
// seconds, 5 random bytes fixed per server, and a 3-byte counter, so ids made
// by one server are unique and sort by creation.
type idSource struct {
	clock   func() time.Time
	mu      sync.Mutex
	random  [5]byte
	counter uint32
}

func newIDSource(clock func() time.Time) *idSource {
	src := &idSource{clock: clock}
	_, _ = rand.Read(src.random[:])
	return src
}

func (s *idSource) next() string {
	s.mu.Lock()
	s.counter++
	n := s.counter
	s.mu.Unlock()
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(s.clock().Unix()))
	copy(b[4:9], s.random[:])
	b[9], b[10], b[11] = byte(n>>16), byte(n>>8), byte(n)
	return hex.EncodeToString(b[:])
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// isoTime formats t as the Hub does in JSON: UTC with milliseconds.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
