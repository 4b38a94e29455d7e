package hubclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Error is an HTTP error answered by the Hub.
type Error struct {
	Method     string
	URL        string // without query string
	StatusCode int
	Code       string // X-Error-Code: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo, ...
	Message    string // X-Error-Message, else the body's error message
	RequestID  string // X-Request-Id, for bug reports to the Hub
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request id %s]", e.RequestID)
	}
	return b.String()
}

func newError(method, rawURL string, resp *http.Response) *Error {
	e := &Error{
		Method:     method,
		URL:        redactURL(rawURL),
		StatusCode: resp.StatusCode,
		Code:       resp.Header.Get("X-Error-Code"),
		Message:    resp.Header.Get("X-Error-Message"),
		RequestID:  firstHeader(resp.Header, "X-Request-Id", "X-Amzn-Trace-Id", "X-Amz-Cf-Id"),
		RetryAfter: retryAfter(resp.Header),
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if e.Message == "" {
		e.Message = bodyMessage(resp.Header.Get("Content-Type"), body)
	}
	return e
}

// bodyMessage extracts a message from the error body shapes the Hub uses:
// {"error": "m"}, {"error": ["m1","m2"]}, {"error": "...", "error_description": "..."},
// {"errors": [{"message": "..."}]}, or short plain text.
func bodyMessage(contentType string, body []byte) string {
	var shaped struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Message          string          `json:"message"`
		Errors           []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &shaped) == nil {
		var parts []string
		var one string
		var many []string
		switch {
		case json.Unmarshal(shaped.Error, &one) == nil && one != "":
			parts = append(parts, one)
		case json.Unmarshal(shaped.Error, &many) == nil:
			parts = append(parts, many...)
		}
		if shaped.Message != "" && len(parts) == 0 {
			parts = append(parts, shaped.Message)
		}
		for _, e := range shaped.Errors {
			parts = append(parts, e.Message)
		}
		msg := strings.Join(parts, "; ")
		if shaped.ErrorDescription != "" {
			msg += ": " + shaped.ErrorDescription
		}
		return truncate(msg, 1000)
	}
	if strings.Contains(contentType, "html") {
		return ""
	}
	return truncate(strings.TrimSpace(string(body)), 500)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// TransportError is a failure to get an answer at all: the connection was
// refused, reset or timed out.
type TransportError struct {
	Method string
	URL    string
	Err    error
	sent   bool // the request may have reached the server
}

func (e *TransportError) Error() string { return fmt.Sprintf("%s %s: %v", e.Method, e.URL, e.Err) }
func (e *TransportError) Unwrap() error { return e.Err }

// statusOf returns the HTTP status of err, or 0.
func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func codeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsNotFound reports a missing repo, revision or file. Like huggingface_hub,
// it counts a 401 on a repo URL as not found: the Hub answers 401 for
// private, gated and missing repos alike when the caller may not see them.
func IsNotFound(err error) bool {
	switch statusOf(err) {
	case http.StatusNotFound:
		return true
	case http.StatusUnauthorized:
		var e *Error
		return errors.As(err, &e) && e.Message != "Invalid credentials in Authorization header"
	}
	return false
}

// IsRepoNotFound reports that the repo does not exist or is not visible.
func IsRepoNotFound(err error) bool { return codeOf(err) == "RepoNotFound" }

// IsRevisionNotFound reports an unknown branch, tag or commit.
func IsRevisionNotFound(err error) bool { return codeOf(err) == "RevisionNotFound" }

// IsEntryNotFound reports a missing file at an existing revision.
func IsEntryNotFound(err error) bool { return codeOf(err) == "EntryNotFound" }

// IsRateLimited reports a 429.
func IsRateLimited(err error) bool { return statusOf(err) == http.StatusTooManyRequests }

// IsUnauthorized reports a missing or invalid token.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsForbidden reports a token without the needed permission.
func IsForbidden(err error) bool { return statusOf(err) == http.StatusForbidden }

// IsConflict reports a 409 (branch exists, parent commit moved, ...) or a 412.
func IsConflict(err error) bool {
	s := statusOf(err)
	return s == http.StatusConflict || s == http.StatusPreconditionFailed
}

// IsBadRequest reports a 400: the Hub refused what was sent.
func IsBadRequest(err error) bool { return statusOf(err) == http.StatusBadRequest }

// IsAmbiguous reports that a call which creates something may or may not
// have taken effect: the connection broke after the request was sent, or the
// Hub answered with a gateway error or timeout. Such calls are never retried
// by the client; look for the result first (FindPullRequest, RefSHA,
// GetDiscussion) and decide.
func IsAmbiguous(err error) bool {
	var te *TransportError
	if errors.As(err, &te) {
		return te.sent && !errors.Is(te.Err, context.Canceled)
	}
	switch statusOf(err) {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return true
	}
	return false
}

// isDialError reports a failure before anything was sent.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// redactURL drops the query string (presigned URLs carry signatures there)
// and any user info.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable url>"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// scrubURLError replaces a *url.Error (whose message repeats the full URL,
// query included) by its cause.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
