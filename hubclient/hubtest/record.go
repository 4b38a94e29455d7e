package hubtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Request is one request received by the Hub or the CDN listener, as
// recorded for assertions.
type Request struct {
	// Listener is "hub" or "cdn".
	Listener string
	Method   string
	// Path is the path as sent, still percent-encoded (refs%2Fpr%2F3).
	Path     string
	RawQuery string
	Query    url.Values
	Header   http.Header
	// Body holds the first bytes of the body the server read, up to
	// Options.MaxRecordedBody; BodySize counts every byte read.
	Body     []byte
	BodySize int64
	// Status is the status the server answered; for a dropped response it is
	// the status the handler chose before the connection was cut.
	Status int
	// User is the name of the user whose token authenticated the request,
	// empty when anonymous or when the token is unknown.
	User string
	// RequestID is the X-Request-Id (x-amz-request-id on the CDN) answered.
	RequestID string
	// Fault is set when an injected fault answered the request; Dropped when
	// the fault cut the connection instead of answering.
	Fault   bool
	Dropped bool
	Time    time.Time
}

// recorder keeps the requests. A request is recorded when it arrives and
// completed as it is answered: its status is set before the first byte of
// the answer leaves, so a client that got an answer always finds it in
// Requests with its status.
type recorder struct {
	max     int // body bytes kept per request
	maxReqs int // requests kept per listener; 0: all
	mu      sync.Mutex
	hub     []*Request
	cdn     []*Request
}

func newRecorder(maxBody, maxReqs int) *recorder {
	return &recorder{max: maxBody, maxReqs: maxReqs}
}

func (rc *recorder) add(req *Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	list := &rc.hub
	if req.Listener == listenerCDN {
		list = &rc.cdn
	}
	*list = append(*list, req)
	if rc.maxReqs > 0 && len(*list) > rc.maxReqs {
		*list = append([]*Request(nil), (*list)[len(*list)-rc.maxReqs:]...)
	}
}

// update changes a recorded request under the recorder's lock.
func (rc *recorder) update(req *Request, f func(*Request)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	f(req)
}

func (rc *recorder) list(reqs []*Request) []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Request, len(reqs))
	for i, r := range reqs {
		out[i] = *r
	}
	return out
}

// Requests returns every request the Hub listener received, oldest first.
func (s *Server) Requests() []Request {
	s.rec.mu.Lock()
	hub := s.rec.hub
	s.rec.mu.Unlock()
	return s.rec.list(hub)
}

// CDNRequests returns every request the CDN listener received, oldest first.
// A request carrying an Authorization header there is a credential leak.
func (s *Server) CDNRequests() []Request {
	s.rec.mu.Lock()
	cdn := s.rec.cdn
	s.rec.mu.Unlock()
	return s.rec.list(cdn)
}

// ResetRequests forgets the recorded requests of both listeners.
func (s *Server) ResetRequests() {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.hub, s.rec.cdn = nil, nil
}

// captureBody counts the request body and keeps its first bytes.
type captureBody struct {
	rc   io.ReadCloser
	max  int
	mu   sync.Mutex
	kept []byte
	n    int64
}

func (c *captureBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.mu.Lock()
	c.n += int64(n)
	if room := c.max - len(c.kept); room > 0 {
		c.kept = append(c.kept, p[:min(n, room)]...)
	}
	c.mu.Unlock()
	return n, err
}

func (c *captureBody) Close() error { return c.rc.Close() }

func (c *captureBody) snapshot() ([]byte, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.kept...), c.n
}

// statusWriter reports the status of an answer before it is sent.
type statusWriter struct {
	http.ResponseWriter
	status   int
	onStatus func(int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		w.onStatus(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// discardWriter takes a handler's answer and throws it away, for faults that
// do the work and then cut the connection.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) Flush() {}

// middleware records every request, sets the request id and applies faults.
func (s *Server) middleware(listener string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := fmt.Sprintf("Root=1-%08x-%s", uint32(time.Now().Unix()), randomHex(12))
		if listener == listenerCDN {
			w.Header().Set("x-amz-request-id", reqID)
		} else {
			w.Header().Set("X-Request-Id", reqID)
		}
		body := &captureBody{rc: r.Body, max: s.rec.max}
		r.Body = body
		entry := &Request{
			Listener:  listener,
			Method:    r.Method,
			Path:      r.URL.EscapedPath(),
			RawQuery:  r.URL.RawQuery,
			Query:     r.URL.Query(),
			Header:    r.Header.Clone(),
			User:      s.tokenUserName(r),
			RequestID: reqID,
			Time:      time.Now(),
		}
		s.rec.add(entry)
		complete := func(status int, fault, dropped bool) {
			kept, n := body.snapshot()
			s.rec.update(entry, func(e *Request) {
				if e.Status == 0 {
					e.Status = status
				}
				e.Fault, e.Dropped, e.Body, e.BodySize = fault, dropped, kept, n
			})
		}

		if f, ok := s.fault(r.Method, entry.Path); ok {
			if f.DropResponse {
				dw := &discardWriter{header: http.Header{}}
				next.ServeHTTP(dw, r)
				complete(dw.status, true, true)
				dropConnection(w)
				return
			}
			complete(f.Status, true, false)
			writeFault(w, f)
			return
		}
		sw := &statusWriter{ResponseWriter: w, onStatus: func(code int) { complete(code, false, false) }}
		next.ServeHTTP(sw, r)
		// The status is final; the body may have been read further.
		complete(http.StatusOK, false, false)
	})
}

// dropConnection closes the client's connection without an answer, like a
// proxy that died after the backend did the work.
func dropConnection(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		// HTTP/2 cannot be hijacked; aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func writeFault(w http.ResponseWriter, f Fault) {
	h := w.Header()
	if f.RetryAfter != "" {
		h.Set("Retry-After", f.RetryAfter)
	}
	if f.RateLimit != "" {
		h.Set("RateLimit", f.RateLimit)
	}
	if f.RateLimitPolicy != "" {
		h.Set("RateLimit-Policy", f.RateLimitPolicy)
	}
	msg := f.Message
	if msg == "" {
		msg = "injected fault: " + strconv.Itoa(f.Status) + " " + http.StatusText(f.Status)
	}
	writeError(w, f.Status, f.ErrorCode, msg)
}
