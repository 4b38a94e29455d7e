package hubclient

// These tests pin the exact requests the client sends (method, escaped path,
// query, headers, body) to what ../shared/reference/hub-api.md documents for
// the Hub, against a plain recording server. They are deliberately separate
// from the end-to-end tests against hubtest, so that the fake Hub and the
// client cannot drift together.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/lfs"
)

const testToken = "hf_test-token-that-must-never-leak"

type recorded struct {
	Method string
	Path   string // escaped, as sent
	Query  string
	Header http.Header
	Body   []byte
	Host   string
}

// recorder is a server that answers with a handler per "METHOD escaped-path"
// and records every request.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []recorded
	handlers map[string]http.HandlerFunc
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{handlers: map[string]http.HandlerFunc{}}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body, Host: r.Host})
		h := rec.handlers[r.Method+" "+r.URL.EscapedPath()]
		rec.mu.Unlock()
		if h == nil {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.Error(w, `{"error":"no handler"}`, http.StatusNotFound)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) handle(methodPath string, h http.HandlerFunc) { rec.handlers[methodPath] = h }

func (rec *recorder) json(methodPath string, status int, v any) {
	rec.handle(methodPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	})
}

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

func (rec *recorder) last(t *testing.T) recorded {
	reqs := rec.requests()
	require.NotEmpty(t, reqs)
	return reqs[len(reqs)-1]
}

func newTestClient(t *testing.T, endpoint string) *Client {
	c, err := New(Options{Endpoint: endpoint, Token: testToken, Version: "test",
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond})
	require.NoError(t, err)
	return c
}

func TestRequestShapes(t *testing.T) {
	rec := newRecorder(t)
	c := newTestClient(t, rec.URL)
	ctx := t.Context()
	model := Repo{ID: "acme/tiny"}
	dataset := Repo{Type: Dataset, ID: "acme/data"}
	space := Repo{Type: Space, ID: "acme/app"}

	rec.json("GET /api/whoami-v2", 200, map[string]any{"id": "u1", "name": "bot", "type": "user"})
	rec.json("GET /api/models/acme/tiny/revision/refs%2Fpr%2F3", 200, map[string]any{"id": "acme/tiny", "sha": "abc"})
	rec.json("GET /api/datasets/acme/data", 200, map[string]any{"id": "acme/data", "sha": "def"})
	rec.json("GET /api/spaces/acme/app/tree/feature%2Fx/sub/dir", 200, []any{})
	rec.json("GET /api/models/acme/tiny/tree/main", 200, []any{})
	rec.json("GET /api/models/acme/tiny/commits/refs%2Fpr%2F3", 200, []any{})
	rec.json("GET /api/models/acme/tiny/refs", 200, map[string]any{})
	rec.json("GET /api/models/acme/tiny/discussions", 200, map[string]any{"discussions": []any{}, "count": 0, "start": 0})
	rec.json("GET /api/models/acme/tiny/discussions/7", 200, map[string]any{"num": 7})
	rec.json("POST /api/models/acme/tiny/discussions", 200, map[string]any{"num": 8, "pullRequest": false})
	rec.json("POST /api/datasets/acme/data/discussions/2/comment", 201, map[string]any{"newMessage": map[string]any{"id": "c1", "type": "comment"}})
	rec.json("POST /api/models/acme/tiny/discussions/7/comment/abcdef/edit", 200, map[string]any{"updatedComment": map[string]any{"id": "abcdef"}})
	rec.json("POST /api/models/acme/tiny/discussions/7/comment/abcdef/hide", 200, map[string]any{"updatedComment": map[string]any{"id": "abcdef"}})
	rec.json("POST /api/spaces/acme/app/discussions/4/status", 200, map[string]any{"newStatus": map[string]any{"type": "status-change"}})
	rec.json("GET /api/models", 200, []any{})
	rec.json("GET /api/organizations/acme/members", 200, []any{map[string]any{"user": "alice"}})
	rec.handle("GET /api/models/acme/tiny/compare/aaa..bbb", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, ":100644 100644 1111 2222 M\tREADME.md\n")
	})

	tests := []struct {
		name   string
		call   func() error
		method string
		path   string
		query  string
		body   string // JSON, compared semantically; "" = no body
	}{
		{"whoami", func() error { _, err := c.WhoAmI(ctx); return err }, "GET", "/api/whoami-v2", "", ""},
		{"repo info at a PR revision", func() error {
			_, err := c.RepoInfo(ctx, model, "refs/pr/3", &RepoInfoOptions{Expand: []string{"sha", "siblings"}})
			return err
		},
			"GET", "/api/models/acme/tiny/revision/refs%2Fpr%2F3", "expand=sha&expand=siblings", ""},
		{"dataset info", func() error { _, err := c.RepoInfo(ctx, dataset, "", &RepoInfoOptions{Blobs: true}); return err },
			"GET", "/api/datasets/acme/data", "blobs=true", ""},
		{"space tree below a dir at a slashed branch", func() error { _, err := c.ListTree(ctx, space, "feature/x", "sub/dir", true); return err },
			"GET", "/api/spaces/acme/app/tree/feature%2Fx/sub/dir", "recursive=true", ""},
		{"commits of a PR", func() error { _, err := c.ListCommits(ctx, model, "refs/pr/3", 10); return err },
			"GET", "/api/models/acme/tiny/commits/refs%2Fpr%2F3", "limit=10", ""},
		{"refs with PRs", func() error { _, err := c.ListRefs(ctx, model, true); return err },
			"GET", "/api/models/acme/tiny/refs", "include_prs=1", ""},
		{"compare", func() error { _, err := c.Compare(ctx, model, "aaa", "bbb"); return err },
			"GET", "/api/models/acme/tiny/compare/aaa..bbb", "raw=true", ""},
		{"list discussions", func() error {
			_, err := c.ListDiscussions(ctx, model, ListDiscussionsOptions{Type: "pull_request", Status: "open", Author: "hubbot"})
			return err
		}, "GET", "/api/models/acme/tiny/discussions", "author=hubbot&p=0&status=open&type=pull_request", ""},
		{"discussion details", func() error { _, err := c.GetDiscussion(ctx, model, 7); return err },
			"GET", "/api/models/acme/tiny/discussions/7", "", ""},
		{"create discussion", func() error { _, err := c.CreateDiscussion(ctx, model, "Card report", "body"); return err },
			"POST", "/api/models/acme/tiny/discussions", "", `{"title":"Card report","description":"body","pullRequest":false}`},
		{"create pull request", func() error { _, err := c.CreatePullRequest(ctx, model, "Convert", "desc"); return err },
			"POST", "/api/models/acme/tiny/discussions", "", `{"title":"Convert","description":"desc","pullRequest":true}`},
		{"comment", func() error { _, err := c.Comment(ctx, dataset, 2, "hello"); return err },
			"POST", "/api/datasets/acme/data/discussions/2/comment", "", `{"comment":"hello"}`},
		{"edit comment lowercases the id", func() error { _, err := c.EditComment(ctx, model, 7, "ABCDEF", "new"); return err },
			"POST", "/api/models/acme/tiny/discussions/7/comment/abcdef/edit", "", `{"content":"new"}`},
		{"hide comment", func() error { _, err := c.HideComment(ctx, model, 7, "abcdef"); return err },
			"POST", "/api/models/acme/tiny/discussions/7/comment/abcdef/hide", "", ""},
		{"close with a comment", func() error { _, err := c.ChangeDiscussionStatus(ctx, space, 4, StatusClosed, "fixed"); return err },
			"POST", "/api/spaces/acme/app/discussions/4/status", "", `{"status":"closed","comment":"fixed"}`},
		{"list models by author", func() error { _, err := c.ListRepos(ctx, Model, "acme"); return err },
			"GET", "/api/models", "author=acme", ""},
		{"org members", func() error { _, err := c.ListOrgMembers(ctx, "acme"); return err },
			"GET", "/api/organizations/acme/members", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.call())
			got := rec.last(t)
			assert.Equal(t, tt.method, got.Method)
			assert.Equal(t, tt.path, got.Path)
			assert.Equal(t, tt.query, got.Query)
			assert.Equal(t, "Bearer "+testToken, got.Header.Get("Authorization"))
			assert.Regexp(t, `^hubbot/test; go/`, got.Header.Get("User-Agent"))
			if tt.body == "" {
				assert.Empty(t, got.Body)
			} else {
				assert.JSONEq(t, tt.body, string(got.Body))
				assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
			}
		})
	}
}

func TestWhoAmIIsCached(t *testing.T) {
	rec := newRecorder(t)
	rec.json("GET /api/whoami-v2", 200, map[string]any{"id": "62f264b9f3c90f4b6514a269", "name": "hubbot", "type": "user",
		"orgs": []any{map[string]any{"id": "o1", "name": "acme"}}})
	c := newTestClient(t, rec.URL)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := c.WhoAmI(t.Context())
			assert.NoError(t, err)
			assert.Equal(t, "62f264b9f3c90f4b6514a269", u.ID)
			assert.Equal(t, "acme", u.Orgs[0].Name)
		}()
	}
	wg.Wait()
	assert.Len(t, rec.requests(), 1, "whoami must be asked once and cached")
}

func TestDecodesResponses(t *testing.T) {
	rec := newRecorder(t)
	c := newTestClient(t, rec.URL)
	rec.handle("GET /api/models/acme/tiny/revision/main", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"acme/tiny","_id":"621ffdc036468d709f17434d","sha":"5e7f29fffcc579cb52539fddb14a1a4f85f39e44",
		"library_name":"transformers","pipeline_tag":"text-generation","cardData":{"license":"mit"},
		"siblings":[{"rfilename":"README.md","size":12,"blobId":"b1"},
		 {"rfilename":"model.bin","size":440449768,"lfs":{"sha256":"68d45e234eb4a928074dfd868cead0219ab85354cc53d20e772753c6bb9169d3","size":440449768,"pointerSize":134}}],
		"lastModified":"2026-01-02T03:04:05.000Z","somethingNew":{"x":1}}`)
	})
	info, err := c.RepoInfo(t.Context(), Repo{ID: "acme/tiny"}, "main", nil)
	require.NoError(t, err)
	assert.Equal(t, "621ffdc036468d709f17434d", info.ObjectID)
	assert.Equal(t, "transformers", info.LibraryName)
	assert.Equal(t, "mit", info.CardData["license"])
	require.Len(t, info.Siblings, 2)
	assert.Equal(t, int64(440449768), info.Siblings[1].LFS.Size)

	rec.handle("GET /api/models/acme/tiny/discussions/19", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"num":19,"title":"Update co2","status":"open","isPullRequest":true,"author":{"name":"alice"},
		"createdAt":"2026-01-02T03:04:05.000Z","changes":{"base":"refs/heads/main"},
		"events":[
		 {"id":"e1","type":"comment","createdAt":"2026-01-02T03:04:05.000Z","author":{"_id":"a1","name":"alice"},"data":{"edited":false,"hidden":false,"latest":{"raw":"the description","html":"<p>x</p>"}}},
		 {"id":"e2","type":"commit","createdAt":"2026-01-02T03:05:05.000Z","author":{"_id":"a1","name":"alice"},"data":{"oid":"abc","subject":"fix"}},
		 {"id":"e3","type":"status-change","createdAt":"2026-01-02T03:06:05.000Z","data":{"status":"closed"}},
		 {"id":"e4","type":"brand-new-kind","createdAt":"2026-01-02T03:06:05.000Z","data":{"whatever":[1,2]}},
		 {"id":"e5","type":"comment","createdAt":"2026-01-02T03:07:05.000Z","author":{"_id":"b1","name":"bob"},"data":{"hidden":true,"latest":{"raw":""}}}]}`)
	})
	d, err := c.GetDiscussion(t.Context(), Repo{ID: "acme/tiny"}, 19)
	require.NoError(t, err)
	assert.Equal(t, "refs/pr/19", d.GitRef())
	assert.Equal(t, "refs/heads/main", d.Changes.Base)
	require.Len(t, d.Events, 5)
	assert.Equal(t, "the description", d.Description().Content())
	assert.Equal(t, "abc", d.Events[1].CommitOID())
	assert.Equal(t, "closed", d.Events[2].NewStatus())
	assert.Equal(t, "deleted", d.Events[2].AuthorName())
	assert.Equal(t, "brand-new-kind", d.Events[3].Type)
	assert.True(t, d.Events[4].Hidden())
}

func TestPagination(t *testing.T) {
	rec := newRecorder(t)
	c := newTestClient(t, rec.URL)
	rec.handle("GET /api/models/acme/tiny/tree/main", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/models/acme/tiny/tree/main?recursive=true&cursor=abc>; rel="next"`, rec.URL))
			fmt.Fprint(w, `[{"type":"file","path":"a","size":1,"oid":"1"}]`)
		case "abc":
			fmt.Fprint(w, `[{"type":"file","path":"b","size":2,"oid":"2","lfs":{"oid":"x","size":2,"pointerSize":130}}]`)
		}
	})
	entries, err := c.ListTree(t.Context(), Repo{ID: "acme/tiny"}, "", "", true)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "b", entries[1].Path)
	assert.Equal(t, "x", entries[1].LFS.OID)

	// Discussions page with p=0,1,... until start+len >= count.
	rec.handle("GET /api/models/acme/tiny/discussions", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("p")
		n := map[string]int{"0": 1, "1": 2}[p]
		fmt.Fprintf(w, `{"discussions":[{"num":%d,"title":"t%d","status":"open","isPullRequest":true,"author":{"name":"hubbot"}}],"count":2,"start":%s}`, n, n, p)
	})
	list, err := c.ListDiscussions(t.Context(), Repo{ID: "acme/tiny"}, ListDiscussionsOptions{})
	require.NoError(t, err)
	assert.Len(t, list, 2)

	// A pagination link to another host is refused rather than followed with the token.
	rec.handle("GET /api/models/acme/tiny/commits/main", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<https://evil.example/steal>; rel="next"`)
		fmt.Fprint(w, `[]`)
	})
	_, err = c.ListCommits(t.Context(), Repo{ID: "acme/tiny"}, "main", 0)
	assert.ErrorContains(t, err, "another host")
}

func TestErrors(t *testing.T) {
	rec := newRecorder(t)
	c := newTestClient(t, rec.URL)
	ctx := t.Context()
	rec.handle("GET /api/models/acme/gone/revision/main", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("X-Error-Message", "Repository not found")
		w.Header().Set("X-Request-Id", "Root=1-abc")
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error":"Repository not found"}`)
	})
	_, err := c.RepoInfo(ctx, Repo{ID: "acme/gone"}, "main", nil)
	require.Error(t, err)
	assert.True(t, IsNotFound(err))
	assert.True(t, IsRepoNotFound(err))
	assert.False(t, IsRevisionNotFound(err))
	var he *Error
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "Root=1-abc", he.RequestID)
	assert.Contains(t, err.Error(), "Repository not found")
	assert.Len(t, rec.requests(), 1, "a 404 is not retried")

	rec.handle("POST /api/models/acme/tiny/discussions", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":["title is too short","description is required"]}`)
	})
	_, err = c.CreateDiscussion(ctx, Repo{ID: "acme/tiny"}, "abc", "")
	assert.True(t, IsBadRequest(err))
	assert.ErrorContains(t, err, "title is too short; description is required")

	rec.handle("GET /api/whoami-v2", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Error-Message", "Invalid credentials in Authorization header")
		w.WriteHeader(401)
	})
	_, err = c.WhoAmI(ctx)
	assert.True(t, IsUnauthorized(err))
	assert.False(t, IsNotFound(err))

	// Bad input never reaches the network.
	before := len(rec.requests())
	_, err = c.RepoInfo(ctx, Repo{ID: "no-namespace"}, "", nil)
	assert.ErrorContains(t, err, "invalid repo id")
	_, err = c.CreateDiscussion(ctx, Repo{ID: "acme/tiny"}, "no", "")
	assert.ErrorContains(t, err, "3 to 200")
	_, err = c.Comment(ctx, Repo{ID: "acme/tiny"}, 1, "  ")
	assert.ErrorContains(t, err, "empty comment")
	_, err = c.ChangeDiscussionStatus(ctx, Repo{ID: "acme/tiny"}, 1, "merged", "")
	assert.ErrorContains(t, err, "open or closed")
	assert.Len(t, rec.requests(), before)
}

func TestTokenNeverLeaks(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1") // nothing listens there
	_, err := c.RepoInfo(t.Context(), Repo{ID: "acme/tiny"}, "main", nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		assert.NotContains(t, s, testToken)
	}
	out, _ := json.Marshal(struct{ T secret }{secret(testToken)})
	assert.NotContains(t, string(out), testToken)
	assert.Equal(t, testToken, c.Token())
}

func TestRetries(t *testing.T) {
	ctx := t.Context()
	t.Run("idempotent calls retry 429 and 5xx, honouring Retry-After", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t, rec.URL)
		n := 0
		rec.handle("GET /api/models/acme/tiny/revision/main", func(w http.ResponseWriter, r *http.Request) {
			n++
			switch n {
			case 1:
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(429)
			case 2:
				w.Header().Set("RateLimit", `"api";r=0;t=0`)
				w.WriteHeader(503)
			case 3:
				w.WriteHeader(502)
			default:
				fmt.Fprint(w, `{"sha":"abc"}`)
			}
		})
		info, err := c.RepoInfo(ctx, Repo{ID: "acme/tiny"}, "main", nil)
		require.NoError(t, err)
		assert.Equal(t, "abc", info.SHA)
		assert.Equal(t, 4, n)
	})
	t.Run("gives up after MaxRetries", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t, rec.URL)
		rec.handle("GET /api/models/acme/tiny/revision/main", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
		_, err := c.RepoInfo(ctx, Repo{ID: "acme/tiny"}, "main", nil)
		require.Error(t, err)
		assert.Equal(t, 503, statusOf(err))
		assert.Len(t, rec.requests(), 6)
	})
	t.Run("the caller's deadline wins over a long Retry-After", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t, rec.URL)
		rec.handle("GET /api/models/acme/tiny/revision/main", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(429)
		})
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.RepoInfo(dctx, Repo{ID: "acme/tiny"}, "main", nil)
		require.Error(t, err)
		assert.True(t, IsRateLimited(err))
		assert.Less(t, time.Since(start), time.Second, "must not sleep past the deadline")
		assert.Len(t, rec.requests(), 1)
	})
	t.Run("calls that create are never retried and say their outcome is unknown", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t, rec.URL)
		rec.handle("POST /api/models/acme/tiny/discussions/1/comment", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) })
		_, err := c.Comment(ctx, Repo{ID: "acme/tiny"}, 1, "hi")
		require.Error(t, err)
		assert.True(t, IsAmbiguous(err))
		assert.Len(t, rec.requests(), 1)
	})
	t.Run("a dropped connection on a create is ambiguous, a refused one is not", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t, rec.URL)
		rec.handle("POST /api/models/acme/tiny/discussions/1/comment", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			require.NoError(t, err)
			conn.Close()
		})
		_, err := c.Comment(ctx, Repo{ID: "acme/tiny"}, 1, "hi")
		require.Error(t, err)
		assert.True(t, IsAmbiguous(err))

		dead := newTestClient(t, "http://127.0.0.1:1")
		_, err = dead.Comment(ctx, Repo{ID: "acme/tiny"}, 1, "hi")
		require.Error(t, err)
		assert.False(t, IsAmbiguous(err), "nothing was sent: %v", err)
	})
}

func TestDownload(t *testing.T) {
	content := bytes.Repeat([]byte("weights!"), 4096)
	sum := sha256.Sum256(content)
	oid := hex.EncodeToString(sum[:])

	cdn := newRecorder(t)
	cdn.handle("GET /blob", func(w http.ResponseWriter, r *http.Request) { w.Write(content) })
	hub := newRecorder(t)
	hub.handle("GET /acme/tiny/resolve/refs%2Fpr%2F1/dir/model%20v2.bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Repo-Commit", "c0ffee")
		w.Header().Set("X-Linked-Etag", `"`+oid+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(content)))
		http.Redirect(w, r, cdn.URL+"/blob?X-Amz-Signature=s3cr3t", http.StatusFound)
	})
	c := newTestClient(t, hub.URL)

	var buf bytes.Buffer
	info, err := c.Download(t.Context(), Repo{ID: "acme/tiny"}, "refs/pr/1", "dir/model v2.bin", &buf, &lfs.Pointer{OID: oid, Size: int64(len(content))})
	require.NoError(t, err)
	assert.Equal(t, content, buf.Bytes())
	assert.Equal(t, "c0ffee", info.CommitSHA)
	assert.Equal(t, oid, info.SHA256)
	assert.Equal(t, "Bearer "+testToken, hub.last(t).Header.Get("Authorization"))
	assert.Empty(t, cdn.last(t).Header.Get("Authorization"), "the token must not follow the redirect to storage")

	// Without a pointer, the Hub's headers are the expectation.
	buf.Reset()
	_, err = c.Download(t.Context(), Repo{ID: "acme/tiny"}, "refs/pr/1", "dir/model v2.bin", &buf, nil)
	require.NoError(t, err)

	// Corrupted content is refused.
	_, err = c.Download(t.Context(), Repo{ID: "acme/tiny"}, "refs/pr/1", "dir/model v2.bin", io.Discard,
		&lfs.Pointer{OID: strings.Repeat("0", 64), Size: int64(len(content))})
	assert.ErrorContains(t, err, "sha256")
	_, err = c.Download(t.Context(), Repo{ID: "acme/tiny"}, "refs/pr/1", "dir/model v2.bin", io.Discard,
		&lfs.Pointer{OID: oid, Size: 10})
	assert.ErrorContains(t, err, "want 10")

	_, err = c.Download(t.Context(), Repo{ID: "acme/tiny"}, "main", "../etc/passwd", io.Discard, nil)
	assert.ErrorContains(t, err, "'..'")
}

// commitServer answers preupload, the LFS batch, storage PUTs and the commit
// the way the reference documents them, and records everything.
type commitServer struct {
	hub, storage *recorder
	chunkSize    int64 // >0: answer with the multipart transfer
	stored       map[string][]byte
	mu           sync.Mutex
	prNum        int
}

func newCommitServer(t *testing.T) *commitServer {
	cs := &commitServer{hub: newRecorder(t), storage: newRecorder(t), stored: map[string][]byte{}}
	for _, rev := range []string{"main", "refs%2Fpr%2F2"} {
		cs.hub.handle("POST /api/models/acme/tiny/preupload/"+rev, cs.preupload)
		cs.hub.handle("POST /api/models/acme/tiny/commit/"+rev, cs.commit)
	}
	cs.hub.handle("POST /acme/tiny.git/info/lfs/objects/batch", cs.batch)
	cs.hub.handle("POST /verify", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	return cs
}

func (cs *commitServer) preupload(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			Sample string `json:"sample"`
		} `json:"files"`
	}
	json.NewDecoder(r.Body).Decode(&in)
	var out []map[string]any
	for _, f := range in.Files {
		mode := "regular"
		if f.Size > 1024 || strings.HasSuffix(f.Path, ".bin") {
			mode = "lfs"
		}
		out = append(out, map[string]any{"path": f.Path, "uploadMode": mode, "shouldIgnore": f.Path == "ignored.txt"})
	}
	json.NewEncoder(w).Encode(map[string]any{"files": out, "commitOid": "base"})
}

func (cs *commitServer) batch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Objects []struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		} `json:"objects"`
	}
	json.NewDecoder(r.Body).Decode(&in)
	var objs []map[string]any
	for _, o := range in.Objects {
		cs.mu.Lock()
		_, have := cs.stored[o.OID]
		cs.mu.Unlock()
		if have {
			objs = append(objs, map[string]any{"oid": o.OID, "size": o.Size})
			continue
		}
		upload := map[string]any{"href": cs.storage.URL + "/put/" + o.OID + "?sig=abc", "header": map[string]string{}}
		if cs.chunkSize > 0 {
			header := map[string]string{"chunk_size": fmt.Sprint(cs.chunkSize)}
			parts := (o.Size + cs.chunkSize - 1) / cs.chunkSize
			for i := int64(1); i <= parts; i++ {
				header[fmt.Sprintf("%05d", i)] = fmt.Sprintf("%s/part/%s/%d?sig=abc", cs.storage.URL, o.OID, i)
				cs.storage.handle(fmt.Sprintf("PUT /part/%s/%d", o.OID, i), cs.part(o.OID, int(i)))
			}
			upload = map[string]any{"href": cs.storage.URL + "/complete/" + o.OID, "header": header}
			cs.storage.handle("POST /complete/"+o.OID, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
		} else {
			cs.storage.handle("PUT /put/"+o.OID, cs.put(o.OID))
		}
		objs = append(objs, map[string]any{"oid": o.OID, "size": o.Size, "authenticated": true,
			"actions": map[string]any{"upload": upload, "verify": map[string]any{"href": cs.hub.URL + "/verify"}}})
	}
	w.Header().Set("Content-Type", "application/vnd.git-lfs+json")
	json.NewEncoder(w).Encode(map[string]any{"transfer": "basic", "objects": objs})
}

func (cs *commitServer) put(oid string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.stored[oid] = body
		cs.mu.Unlock()
		w.Header().Set("ETag", `"whole"`)
	}
}

func (cs *commitServer) part(oid string, n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", fmt.Sprintf(`"etag-%d"`, n))
	}
}

func (cs *commitServer) commit(w http.ResponseWriter, r *http.Request) {
	cs.mu.Lock()
	cs.prNum++
	n := cs.prNum
	cs.mu.Unlock()
	out := map[string]any{"success": true, "commitOid": "c0ffee", "commitUrl": "https://hf.co/acme/tiny/commit/c0ffee"}
	if r.URL.Query().Get("create_pr") == "1" {
		out["pullRequestUrl"] = fmt.Sprintf("https://hf.co/acme/tiny/discussions/%d", n)
	}
	json.NewEncoder(w).Encode(out)
}

func TestCommitShapes(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 2000) // 16000 bytes
	bigPath := filepath.Join(dir, "model.bin")
	require.NoError(t, os.WriteFile(bigPath, big, 0o644))
	bigSum := sha256.Sum256(big)
	bigOID := hex.EncodeToString(bigSum[:])

	cs := newCommitServer(t)
	c := newTestClient(t, cs.hub.URL)
	res, err := c.CreateCommit(t.Context(), Repo{ID: "acme/tiny"}, CommitRequest{
		CreatePR:     true,
		Summary:      "Add safetensors",
		Description:  "converted",
		ParentCommit: "base",
		Files: []CommitFile{
			{PathInRepo: "./README.md", Content: []byte("# hi\n")},
			{PathInRepo: "weights/model.bin", LocalPath: bigPath},
			{PathInRepo: "empty.bin", Content: nil},
			{PathInRepo: "ignored.txt", Content: []byte("x")},
		},
		Deletes: []string{"old.txt", "old_dir/"},
	})
	require.NoError(t, err)
	assert.Equal(t, 1, res.PullRequestNum)
	assert.Equal(t, "refs/pr/1", res.PullRequestRef())
	assert.Equal(t, big, cs.stored[bigOID])

	reqs := cs.hub.requests()
	require.Len(t, reqs, 4) // preupload, batch, verify, commit
	pre := reqs[0]
	assert.Equal(t, "/api/models/acme/tiny/preupload/main", pre.Path)
	assert.Equal(t, "create_pr=1", pre.Query)
	var preBody struct {
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			Sample string `json:"sample"`
		} `json:"files"`
	}
	require.NoError(t, json.Unmarshal(pre.Body, &preBody))
	require.Len(t, preBody.Files, 4)
	assert.Equal(t, "README.md", preBody.Files[0].Path, "leading ./ is dropped")
	sample, _ := base64.StdEncoding.DecodeString(preBody.Files[1].Sample)
	assert.Equal(t, big[:512], sample, "the sample is the first 512 bytes")

	batch := reqs[1]
	assert.Equal(t, "/acme/tiny.git/info/lfs/objects/batch", batch.Path)
	assert.Equal(t, "application/vnd.git-lfs+json", batch.Header.Get("Accept"))
	assert.Equal(t, "application/vnd.git-lfs+json", batch.Header.Get("Content-Type"))
	assert.JSONEq(t, fmt.Sprintf(`{"operation":"upload","transfers":["basic","multipart"],"hash_algo":"sha256",
		"objects":[{"oid":"%s","size":16000}]}`, bigOID), string(batch.Body), "no ref when creating a PR; empty files stay regular")

	verify := reqs[2]
	assert.JSONEq(t, fmt.Sprintf(`{"oid":"%s","size":16000}`, bigOID), string(verify.Body))
	assert.Equal(t, "Bearer "+testToken, verify.Header.Get("Authorization"))

	put := cs.storage.last(t)
	assert.Equal(t, "PUT", put.Method)
	assert.Empty(t, put.Header.Get("Authorization"), "presigned uploads never carry the token")

	commit := reqs[3]
	assert.Equal(t, "/api/models/acme/tiny/commit/main", commit.Path)
	assert.Equal(t, "create_pr=1", commit.Query)
	assert.Equal(t, "application/x-ndjson", commit.Header.Get("Content-Type"))
	lines := strings.Split(strings.TrimSuffix(string(commit.Body), "\n"), "\n")
	require.Len(t, lines, 6)
	assert.JSONEq(t, `{"key":"header","value":{"summary":"Add safetensors","description":"converted","parentCommit":"base"}}`, lines[0])
	assert.JSONEq(t, `{"key":"file","value":{"path":"README.md","content":"`+base64.StdEncoding.EncodeToString([]byte("# hi\n"))+`","encoding":"base64"}}`, lines[1])
	assert.JSONEq(t, fmt.Sprintf(`{"key":"lfsFile","value":{"path":"weights/model.bin","algo":"sha256","oid":"%s","size":16000}}`, bigOID), lines[2])
	assert.JSONEq(t, `{"key":"file","value":{"path":"empty.bin","content":"","encoding":"base64"}}`, lines[3])
	assert.JSONEq(t, `{"key":"deletedFile","value":{"path":"old.txt"}}`, lines[4])
	assert.JSONEq(t, `{"key":"deletedFolder","value":{"path":"old_dir/"}}`, lines[5])
}

func TestCommitToPullRequestRefAndMultipart(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 10_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(dir, "w.bin")
	require.NoError(t, os.WriteFile(path, data, 0o644))

	cs := newCommitServer(t)
	cs.chunkSize = 4096
	c := newTestClient(t, cs.hub.URL)
	res, err := c.CreateCommit(t.Context(), Repo{ID: "acme/tiny"}, CommitRequest{
		Revision: "refs/pr/2", Summary: "update", Files: []CommitFile{{PathInRepo: "w.bin", LocalPath: path}}})
	require.NoError(t, err)
	assert.Equal(t, 0, res.PullRequestNum)

	reqs := cs.hub.requests()
	assert.Equal(t, "/api/models/acme/tiny/preupload/refs%2Fpr%2F2", reqs[0].Path)
	assert.Empty(t, reqs[0].Query)
	var batch struct {
		Ref struct {
			Name string `json:"name"`
		} `json:"ref"`
	}
	require.NoError(t, json.Unmarshal(reqs[1].Body, &batch))
	assert.Equal(t, "refs/pr/2", batch.Ref.Name, "the LFS ref name is the raw revision")
	assert.Equal(t, "/api/models/acme/tiny/commit/refs%2Fpr%2F2", reqs[len(reqs)-1].Path)

	var parts []recorded
	var complete recorded
	for _, r := range cs.storage.requests() {
		if r.Method == "PUT" {
			parts = append(parts, r)
		} else {
			complete = r
		}
	}
	require.Len(t, parts, 3)
	var got []byte
	for i := 1; i <= 3; i++ {
		for _, p := range parts {
			if strings.HasSuffix(p.Path, fmt.Sprintf("/%d", i)) {
				got = append(got, p.Body...)
				assert.Empty(t, p.Header.Get("Authorization"))
			}
		}
	}
	assert.Equal(t, data, got, "parts carry the file's consecutive chunks")
	sum := sha256.Sum256(data)
	assert.JSONEq(t, fmt.Sprintf(`{"oid":"%s","parts":[{"partNumber":1,"etag":"\"etag-1\""},{"partNumber":2,"etag":"\"etag-2\""},{"partNumber":3,"etag":"\"etag-3\""}]}`,
		hex.EncodeToString(sum[:])), string(complete.Body))
	assert.Empty(t, complete.Header.Get("Authorization"))
}

func TestCommitRefusesBadInput(t *testing.T) {
	cs := newCommitServer(t)
	c := newTestClient(t, cs.hub.URL)
	for _, p := range []string{"../x", "a/../../x", ".git/config", "a/.cache/b", "", "."} {
		_, err := c.CreateCommit(t.Context(), Repo{ID: "acme/tiny"}, CommitRequest{Summary: "s", Files: []CommitFile{{PathInRepo: p, Content: []byte("x")}}})
		assert.ErrorContains(t, err, "path", p)
	}
	_, err := c.CreateCommit(t.Context(), Repo{ID: "acme/tiny"}, CommitRequest{Files: []CommitFile{{PathInRepo: "a", Content: []byte("x")}}})
	assert.ErrorContains(t, err, "summary")
	_, err = c.CreateCommit(t.Context(), Repo{ID: "acme/tiny"}, CommitRequest{Summary: "s", Revision: "refs/pr/1", CreatePR: true})
	assert.ErrorContains(t, err, "branch")
	assert.Empty(t, cs.hub.requests())
}

func TestParseRawDiff(t *testing.T) {
	got := parseRawDiff(":100644 100644 1111 2222 M\tREADME.md\n" +
		":000000 100644 0000 3333 A\tdir/new file.txt\r\n" +
		":100644 100644 4444 5555 R087\told.txt\tnew.txt\n" +
		"T 1807\tM\tdata/train.parquet\n\n" +
		"B 52836295\t:100644 100644 aaaa... bbbb... M\tdata/x.bin\n")
	assert.Equal(t, []ChangedFile{
		{Status: "M", Path: "README.md"},
		{Status: "A", Path: "dir/new file.txt"},
		{Status: "R", Path: "new.txt", OldPath: "old.txt"},
		{Status: "M", Path: "data/train.parquet"},
		{Status: "M", Path: "data/x.bin"},
	}, got)
}

func TestEscaping(t *testing.T) {
	c := newTestClient(t, "https://hub.example/")
	assert.Equal(t, "refs%2Fpr%2F3", EscapeRevision("refs/pr/3"))
	assert.Equal(t, "https://hub.example/datasets/acme/data/resolve/feature%2Fx/a%20b/c%23d.txt",
		c.ResolveURL(Repo{Type: Dataset, ID: "acme/data"}, "feature/x", "a b/c#d.txt"))
	assert.Equal(t, "https://hub.example/spaces/acme/app/discussions/4", c.DiscussionURL(Repo{Type: Space, ID: "acme/app"}, 4))
	for _, bad := range []string{"acme", "acme/", "/x", "a/b/c", "a/../b", "a/b?c"} {
		assert.Error(t, Repo{ID: bad}.validate(), bad)
	}
	typ, err := ParseRepoType("datasets")
	require.NoError(t, err)
	assert.Equal(t, Dataset, typ)
	_, err = ParseRepoType("buckets")
	assert.Error(t, err)
}
