package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingBody records how many bytes were read from it.
type countingBody struct {
	r    io.Reader
	read atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return nil }

func TestIngressChecksTheSecretFirst(t *testing.T) {
	const secret = "ingress-secret-0123456"
	in := NewIngress(NewVerifier([]string{secret}), 1024, 2)
	tests := []struct {
		name      string
		header    string
		query     string
		body      string
		length    int64 // -1: unknown (chunked)
		status    int
		outcome   string
		readNone  bool
		wantBody  string
		wantClose bool
	}{
		{"no secret", "", "", strings.Repeat("x", 4<<20), 4 << 20, http.StatusUnauthorized, "unauthorized", true, "", true},
		{"wrong secret", "nope", "", strings.Repeat("x", 4<<20), 4 << 20, http.StatusForbidden, "forbidden", true, "", true},
		{"wrong secret, chunked", "nope", "", strings.Repeat("x", 4<<20), -1, http.StatusForbidden, "forbidden", true, "", true},
		{"declared too large", secret, "", strings.Repeat("x", 2048), 2048, http.StatusRequestEntityTooLarge, "too_large", true, "", true},
		{"chunked too large", secret, "", strings.Repeat("x", 4096), -1, http.StatusRequestEntityTooLarge, "too_large", false, "", false},
		{"secret in the header", secret, "", `{"ok":1}`, 8, 0, "", false, `{"ok":1}`, false},
		{"secret in the query", "", secret, `{"ok":2}`, -1, 0, "", false, `{"ok":2}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingBody{r: strings.NewReader(tt.body)}
			target := "/webhooks/hub"
			if tt.query != "" {
				target += "?secret=" + tt.query
			}
			req := httptest.NewRequest(http.MethodPost, target, nil)
			req.Body, req.ContentLength = body, tt.length
			if tt.header != "" {
				req.Header.Set("X-Webhook-Secret", tt.header)
			}
			w := httptest.NewRecorder()
			got, refused := in.Admit(t.Context(), w, req)
			if tt.status == 0 {
				require.Nil(t, refused)
				assert.Equal(t, tt.wantBody, string(got))
				return
			}
			require.NotNil(t, refused)
			assert.Equal(t, tt.status, refused.Status)
			assert.Equal(t, tt.outcome, refused.Outcome)
			assert.Nil(t, got)
			if tt.readNone {
				assert.Zero(t, body.read.Load(), "the body was read")
			} else {
				assert.LessOrEqual(t, body.read.Load(), int64(1024+512), "read far past max_body")
			}
			if tt.wantClose {
				assert.Equal(t, "close", w.Header().Get("Connection"))
			}
			assert.NotContains(t, refused.Body["error"], secret)
		})
	}
}

// blockingBody blocks reads until released.
type blockingBody struct{ release chan struct{} }

func (b *blockingBody) Read(p []byte) (int, error) {
	<-b.release
	return 0, io.EOF
}

func (b *blockingBody) Close() error { return nil }

func TestIngressCapsConcurrentBodyReads(t *testing.T) {
	const secret = "ingress-secret-0123456"
	in := NewIngress(NewVerifier([]string{secret}), 1024, 2)
	in.wait = 50 * time.Millisecond
	slow := &blockingBody{release: make(chan struct{})}
	admit := func(body io.ReadCloser, sec string) *Refusal {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/hub", nil)
		req.Body, req.ContentLength = body, -1
		req.Header.Set("X-Webhook-Secret", sec)
		_, refused := in.Admit(t.Context(), httptest.NewRecorder(), req)
		return refused
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.Nil(t, admit(slow, secret))
		}()
	}
	require.Eventually(t, func() bool { return len(in.slots) == 2 }, 10*time.Second, time.Millisecond)

	// Both slots taken: a third valid delivery waits, then gets 503.
	refused := admit(io.NopCloser(strings.NewReader("{}")), secret)
	require.NotNil(t, refused)
	assert.Equal(t, http.StatusServiceUnavailable, refused.Status)
	assert.Equal(t, "busy", refused.Outcome)
	// A wrong secret is still answered at once, slots or not.
	refused = admit(io.NopCloser(strings.NewReader("{}")), "wrong")
	require.NotNil(t, refused)
	assert.Equal(t, http.StatusForbidden, refused.Status)

	close(slow.release)
	wg.Wait()
	assert.Empty(t, in.slots, "slots are given back")
	assert.Nil(t, admit(io.NopCloser(strings.NewReader("{}")), secret))
}
