package hubtest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// newServer starts a fake Hub closed at the end of the test.
func newServer(t *testing.T) *hubtest.Server {
	t.Helper()
	srv := hubtest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// world is a server with the users, org and repos most tests start from:
// alice owns alice/tiny (public, with an LFS file) and acme/secret (private,
// through the org acme); bob is a member of nothing; carol is a read member
// of acme.
type world struct {
	srv                *hubtest.Server
	alice, bob, carol  hubtest.User
	tiny, secret       hubtest.Repo
	weights, readmeSrc []byte
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := newServer(t)
	w := &world{srv: srv, alice: srv.AddUser("alice"), bob: srv.AddUser("bob"), carol: srv.AddUser("carol")}
	srv.AddOrg("acme", w.alice)
	require.NoError(t, srv.AddOrgMember("acme", w.carol, hubtest.RoleRead))
	w.weights = bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7}, 512)
	w.readmeSrc = []byte("---\nlicense: mit\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n- tiny\n---\n# Tiny\n")
	var err error
	w.tiny, err = srv.CreateRepo(w.alice, hubtest.RepoSpec{
		ID: "alice/tiny",
		Files: map[string][]byte{
			"README.md":         w.readmeSrc,
			"config.json":       []byte(`{"model_type":"tiny"}`),
			"model.safetensors": w.weights,
			"sub/dir/notes.txt": []byte("notes\n"),
		},
		LFS: []string{"*.safetensors", "*.bin"},
	})
	require.NoError(t, err)
	w.secret, err = srv.CreateRepo(w.alice, hubtest.RepoSpec{
		ID: "acme/secret", Private: true,
		Files: map[string][]byte{"README.md": []byte("# secret\n")},
	})
	require.NoError(t, err)
	return w
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// call sends a request with an optional bearer token and JSON-ish body.
func call(t *testing.T, method, url, token string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// ndjson renders commit lines.
func ndjson(t *testing.T, lines ...map[string]any) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		raw, err := json.Marshal(l)
		require.NoError(t, err)
		b.Write(raw)
		b.WriteByte('\n')
	}
	return b.String()
}

func header(summary string) map[string]any {
	return map[string]any{"key": "header", "value": map[string]any{"summary": summary, "description": ""}}
}

func fileLine(path, content string) map[string]any {
	return map[string]any{"key": "file", "value": map[string]any{"path": path, "content": content, "encoding": "utf-8"}}
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
