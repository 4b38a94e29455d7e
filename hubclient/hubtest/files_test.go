package hubtest_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

func TestResolveAndRaw(t *testing.T) {
	w := newWorld(t)
	pr, err := w.srv.OpenPR(w.bob, "alice/tiny", "Spaces in names", "", hubtest.Change{
		Files: map[string][]byte{"dir with space/file #1.txt": []byte("pr file")},
	})
	require.NoError(t, err)
	base := w.srv.URL + "/alice/tiny"
	tests := []struct {
		name   string
		url    string
		status int
		body   string
		code   string
		commit string
	}{
		{"regular file", base + "/resolve/main/config.json", http.StatusOK, `{"model_type":"tiny"}`, "", w.tiny.Head},
		{"nested file", base + "/resolve/main/sub/dir/notes.txt", http.StatusOK, "notes\n", "", w.tiny.Head},
		{"encoded pr revision", base + "/resolve/refs%2Fpr%2F1/dir%20with%20space/file%20%231.txt", http.StatusOK, "pr file", "", pr.SHA},
		{"unencoded pr revision", base + "/resolve/refs/pr/1/dir%20with%20space/file%20%231.txt", http.StatusOK, "pr file", "", pr.SHA},
		{"by sha", base + "/resolve/" + w.tiny.Head + "/config.json", http.StatusOK, `{"model_type":"tiny"}`, "", w.tiny.Head},
		{"raw regular", base + "/raw/main/config.json", http.StatusOK, `{"model_type":"tiny"}`, "", w.tiny.Head},
		{"missing file", base + "/resolve/main/nope.txt", http.StatusNotFound, "", "EntryNotFound", w.tiny.Head},
		{"a folder is not a file", base + "/resolve/main/sub", http.StatusNotFound, "", "EntryNotFound", w.tiny.Head},
		{"missing revision", base + "/resolve/nope/config.json", http.StatusNotFound, "", "RevisionNotFound", ""},
		{"missing repo", w.srv.URL + "/alice/nope/resolve/main/config.json", http.StatusUnauthorized, "", "RepoNotFound", ""},
		{"dataset prefix", w.srv.URL + "/datasets/alice/tiny/resolve/main/config.json", http.StatusUnauthorized, "", "RepoNotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, http.MethodGet, tt.url, "", nil)
			require.Equal(t, tt.status, resp.status, "body: %s", resp.body)
			assert.Equal(t, tt.code, resp.header.Get("X-Error-Code"))
			assert.Equal(t, tt.commit, resp.header.Get("X-Repo-Commit"))
			if tt.status == http.StatusOK {
				assert.Equal(t, tt.body, string(resp.body))
				assert.Regexp(t, `^"[0-9a-f]{40}"$`, resp.header.Get("ETag"), "a regular file's etag is its blob id")
				assert.Equal(t, strconv.Itoa(len(tt.body)), resp.header.Get("Content-Length"))
			}
		})
	}

	t.Run("range and head on a regular file", func(t *testing.T) {
		resp := call(t, http.MethodGet, base+"/resolve/main/config.json", "", nil, "Range", "bytes=2-11")
		assert.Equal(t, http.StatusPartialContent, resp.status)
		assert.Equal(t, `model_type`, string(resp.body))
		resp = call(t, http.MethodHead, base+"/resolve/main/config.json", "", nil)
		assert.Equal(t, http.StatusOK, resp.status)
		assert.Equal(t, "21", resp.header.Get("Content-Length"))
		assert.Empty(t, resp.body)
		assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, call(t, http.MethodGet, base+"/resolve/main/config.json", "", nil, "Range", "bytes=100-").status)
	})
	t.Run("lfs file redirects to the cdn", func(t *testing.T) {
		resp := call(t, http.MethodGet, base+"/resolve/main/model.safetensors", "", nil)
		require.Equal(t, http.StatusFound, resp.status)
		assert.Equal(t, `"`+sha256Hex(w.weights)+`"`, resp.header.Get("X-Linked-Etag"))
		assert.Equal(t, strconv.Itoa(len(w.weights)), resp.header.Get("X-Linked-Size"))
		dl := call(t, http.MethodGet, resp.header.Get("Location"), "", nil)
		assert.Equal(t, w.weights, dl.body)
		raw := call(t, http.MethodGet, base+"/raw/main/model.safetensors", "", nil)
		assert.Contains(t, string(raw.body), "oid sha256:"+sha256Hex(w.weights))
	})
	t.Run("methods", func(t *testing.T) {
		assert.Equal(t, http.StatusMethodNotAllowed, call(t, http.MethodPost, base+"/resolve/main/config.json", "", nil).status)
		assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, base+"/blob/main/config.json", "", nil).status)
		assert.Equal(t, http.StatusForbidden, call(t, http.MethodGet, base+"/info/refs", "", nil).status, "dumb http")
	})
}
