package hubtest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Fault makes the next requests matching Method and Path fail, to test
// retries, rate limits and lost responses.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// Path is a prefix of the percent-encoded request path, on either
	// listener: "/api/models/alice/tiny/commit/" or "/lfs/" (CDN uploads).
	Path string
	// Times is how many matching requests fail; zero means one, a negative
	// value means every matching request until ClearFaults.
	Times int

	// Status, with the Hub's error headers and body, answers the request
	// without running it. Zero means 503.
	Status int
	// RetryAfter, RateLimit and RateLimitPolicy set the headers of the same
	// names when not empty, e.g. RetryAfter "1" and RateLimit `"api";r=0;t=1`.
	RetryAfter      string
	RateLimit       string
	RateLimitPolicy string
	// ErrorCode and Message set X-Error-Code and X-Error-Message.
	ErrorCode string
	Message   string

	// DropResponse runs the request for real, then cuts the connection
	// without answering: the commit or comment exists, the client saw an
	// error. Status is ignored.
	DropResponse bool
}

type faultSet struct {
	mu     sync.Mutex
	faults []*activeFault
}

type activeFault struct {
	Fault
	left int // < 0: forever
}

// Fail arms f. Faults are tried in the order they were armed; the first one
// that matches a request and has uses left answers it. Fail panics when
// f.Path is empty, which would fail every request.
func (s *Server) Fail(f Fault) {
	if f.Path == "" {
		panic("hubtest: Fault.Path must not be empty")
	}
	if f.Status == 0 {
		f.Status = http.StatusServiceUnavailable
	}
	if f.Status < 100 || f.Status > 999 {
		panic(fmt.Sprintf("hubtest: Fault.Status %d is not an HTTP status", f.Status))
	}
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = append(s.faults.faults, &activeFault{Fault: f, left: left})
}

// ClearFaults disarms every fault.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = nil
}

// take returns the fault that answers a request, using up one of its uses.
func (fs *faultSet) take(method, path string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if !strings.HasPrefix(path, f.Path) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				fs.faults = append(fs.faults[:i:i], fs.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}
