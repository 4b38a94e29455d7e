package reply

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hubbot/hubbot/hubclient"
)

func TestParseRetryAfter(t *testing.T) {
	assert.Equal(t, 3*time.Second, parseRetryAfter(" 3 "))
	assert.Zero(t, parseRetryAfter(""))
	assert.Zero(t, parseRetryAfter("-1"))
	assert.Zero(t, parseRetryAfter("soon"))
	assert.Zero(t, parseRetryAfter(time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)), "a date in the past")
	assert.Positive(t, parseRetryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)))
}

func TestBodyHint(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"error":"Model is overloaded"}`, "Model is overloaded"},
		{`{"message":"quota"}`, "quota"},
		{`{"detail":"Not Found"}`, "Not Found"},
		{`{"error":{"nested":true}}`, ""},
		{"<html><body>502</body></html>", ""},
		{"upstream connect error", "upstream connect error"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, bodyHint([]byte(tt.body)), tt.body)
	}
	assert.Equal(t, "a b…", shorten("a\n\n  b c", 3))
}

func TestTransientStatus(t *testing.T) {
	for code, want := range map[int]bool{408: true, 425: true, 429: true, 500: true, 503: true, 529: true,
		400: false, 401: false, 402: false, 403: false, 404: false, 422: false} {
		assert.Equal(t, want, transientStatus(code), code)
	}
}

func TestPromptHeaderWords(t *testing.T) {
	assert.Equal(t, "a dataset", repoKind(hubclient.Repo{Type: hubclient.Dataset, ID: "o/d"}))
	assert.Equal(t, "a Space", repoKind(hubclient.Repo{Type: hubclient.Space, ID: "o/s"}))
	assert.Equal(t, "a model", repoKind(hubclient.Repo{ID: "o/m"}))
	assert.Equal(t, "an open", article("open"))
	assert.Equal(t, "unknown", safeWord(""))
	assert.Equal(t, "openEND", safeWord("open\n=== END"), "only letters sit outside the quoted data")
	assert.Equal(t, "unknown", safeWord("a-very-long-status-value-from-nowhere"))
	assert.Equal(t, "deleted", safeName("名前"))
	assert.Equal(t, "alice", safeName("al\nice"))
	assert.Len(t, safeName(strings.Repeat("a", 200)), 96)
	assert.Equal(t, "1 comment", "1 "+plural(1, "comment"))
	assert.Equal(t, "first", oneLine("  first\nsecond"))
	assert.Equal(t, strings.Repeat("t", 300)+"…", oneLine(strings.Repeat("t", 400)))
}
