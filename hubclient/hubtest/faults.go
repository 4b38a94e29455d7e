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

// armed is the faults of one kind that are armed, each with its uses left.
type armed[F any] struct {
	mu     sync.Mutex
	faults []*armedFault[F]
}

type armedFault[F any] struct {
	fault F
	left  int // < 0: forever
}

// arm adds f for times uses: zero means one, a negative value every use
// until clear.
func (a *armed[F]) arm(f F, times int) {
	if times == 0 {
		times = 1
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults = append(a.faults, &armedFault[F]{fault: f, left: times})
}

func (a *armed[F]) clear() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults = nil
}

// take returns the first armed fault that matches, using up one of its uses.
func (a *armed[F]) take(matches func(F) bool) (F, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, f := range a.faults {
		if !matches(f.fault) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				a.faults = append(a.faults[:i:i], a.faults[i+1:]...)
			}
		}
		return f.fault, true
	}
	var none F
	return none, false
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
	s.faults.arm(f, f.Times)
}

// ClearFaults disarms every fault.
func (s *Server) ClearFaults() { s.faults.clear() }

// fault returns the fault that answers a request, using up one of its uses.
func (s *Server) fault(method, path string) (Fault, bool) {
	return s.faults.take(func(f Fault) bool {
		return (f.Method == "" || strings.EqualFold(f.Method, method)) && strings.HasPrefix(path, f.Path)
	})
}
