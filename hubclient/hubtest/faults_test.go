package hubtest_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

func TestFaults(t *testing.T) {
	w := newWorld(t)
	srv := w.srv
	commitPath := "/api/models/alice/tiny/commit/"

	t.Run("status with retry headers, then success", func(t *testing.T) {
		srv.Fail(hubtest.Fault{Method: "POST", Path: commitPath, Times: 2, Status: http.StatusServiceUnavailable,
			RetryAfter: "1", RateLimit: `"api";r=0;t=1`})
		before, _ := srv.Ref("alice/tiny", "main")
		srv.ResetRequests()
		assert.Equal(t, http.StatusOK, call(t, http.MethodGet, srv.URL+"/api/models/alice/tiny/commits/main", "", nil).status, "GET does not match the fault")
		for range 2 {
			resp := postCommit(t, srv, "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("f.txt", "f")))
			require.Equal(t, http.StatusServiceUnavailable, resp.status)
			assert.Equal(t, "1", resp.header.Get("Retry-After"))
			assert.Equal(t, `"api";r=0;t=1`, resp.header.Get("RateLimit"))
			assert.NotEmpty(t, resp.header.Get("X-Error-Message"))
			assert.NotEmpty(t, resp.header.Get("X-Request-Id"))
			after, _ := srv.Ref("alice/tiny", "main")
			assert.Equal(t, before, after, "a failed request does nothing")
		}
		resp := postCommit(t, srv, "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("f.txt", "f")))
		assert.Equal(t, http.StatusOK, resp.status, "the third one goes through")
		reqs := srv.Requests()
		require.Len(t, reqs, 4)
		assert.False(t, reqs[0].Fault)
		for _, r := range reqs[1:3] {
			assert.True(t, r.Fault)
			assert.Equal(t, http.StatusServiceUnavailable, r.Status)
		}
		assert.False(t, reqs[3].Fault)
		assert.Equal(t, http.StatusOK, reqs[3].Status)
		assert.Equal(t, "alice", reqs[3].User)
		assert.Equal(t, "/api/models/alice/tiny/commit/main", reqs[3].Path)
		assert.Contains(t, string(reqs[3].Body), `"key":"header"`)
	})

	t.Run("rate limit", func(t *testing.T) {
		srv.Fail(hubtest.Fault{Path: "/api/whoami-v2", Status: http.StatusTooManyRequests, RateLimit: `"api";r=0;t=12`,
			RateLimitPolicy: `"fixed window";"api";q=1000;w=300`, Message: "You've hit the rate limit"})
		resp := call(t, http.MethodGet, srv.URL+"/api/whoami-v2", w.alice.Token, nil)
		assert.Equal(t, http.StatusTooManyRequests, resp.status)
		assert.Equal(t, `"fixed window";"api";q=1000;w=300`, resp.header.Get("RateLimit-Policy"))
		assert.Equal(t, "You've hit the rate limit", resp.header.Get("X-Error-Message"))
		assert.Equal(t, http.StatusOK, call(t, http.MethodGet, srv.URL+"/api/whoami-v2", w.alice.Token, nil).status)
	})

	t.Run("until cleared", func(t *testing.T) {
		srv.Fail(hubtest.Fault{Path: "/api/models/alice/tiny/refs", Times: -1, Status: http.StatusBadGateway})
		for range 3 {
			assert.Equal(t, http.StatusBadGateway, call(t, http.MethodGet, srv.URL+"/api/models/alice/tiny/refs", "", nil).status)
		}
		srv.ClearFaults()
		assert.Equal(t, http.StatusOK, call(t, http.MethodGet, srv.URL+"/api/models/alice/tiny/refs", "", nil).status)
	})

	t.Run("drop the response of a comment", func(t *testing.T) {
		recv := newReceiver(t)
		_, err := srv.AddWebhook(hubtest.Webhook{URL: recv.url, Domains: []string{"discussion"}})
		require.NoError(t, err)
		num, err := srv.OpenDiscussion(w.bob, "alice/tiny", "Question", "")
		require.NoError(t, err)
		path := "/api/models/alice/tiny/discussions/" + strconv.Itoa(num) + "/comment"
		srv.Fail(hubtest.Fault{Method: "POST", Path: path, DropResponse: true})
		srv.ResetRequests()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+path, strings.NewReader(`{"comment":"did it land?"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+w.bob.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		require.Error(t, err, "the client sees the connection cut")
		d, ok := srv.Discussion("alice/tiny", num)
		require.True(t, ok)
		require.Len(t, d.Events, 1)
		assert.Equal(t, "did it land?", d.Events[0].Content, "the work was done")
		all, err := srv.WaitIdle(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "discussion.comment", all[len(all)-1].Scope, "and its webhook sent")
		reqs := srv.Requests()
		require.Len(t, reqs, 1)
		assert.True(t, reqs[0].Dropped)
		assert.Equal(t, http.StatusCreated, reqs[0].Status)
	})

	t.Run("drop the response of a commit", func(t *testing.T) {
		srv.Fail(hubtest.Fault{Method: "POST", Path: commitPath, DropResponse: true})
		before, _ := srv.Ref("alice/tiny", "main")
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+commitPath+"main",
			strings.NewReader(ndjson(t, header("lost"), fileLine("lost.txt", "l"))))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+w.alice.Token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		require.Error(t, err)
		after, _ := srv.Ref("alice/tiny", "main")
		assert.NotEqual(t, before, after, "the commit exists although the client saw an error")
	})

	t.Run("cdn upload fails once", func(t *testing.T) {
		content := []byte("cdn content")
		oid := sha256Hex(content)
		_, batch := lfsBatch(t, srv, "alice/tiny", w.alice.Token, map[string]any{
			"operation": "upload", "objects": []map[string]any{{"oid": oid, "size": len(content)}},
		})
		href := batch.Objects[0].Actions["upload"].Href
		srv.Fail(hubtest.Fault{Method: "PUT", Path: "/lfs/", Status: http.StatusInternalServerError})
		assert.Equal(t, http.StatusInternalServerError, call(t, http.MethodPut, href, "", content).status)
		assert.Equal(t, http.StatusOK, call(t, http.MethodPut, href, "", content).status)
	})

	assert.Panics(t, func() { srv.Fail(hubtest.Fault{}) }, "an empty path would fail everything")
	assert.Panics(t, func() { srv.Fail(hubtest.Fault{Path: "/x", Status: 42}) })
}

func TestRequestLog(t *testing.T) {
	srv, err := hubtest.New(hubtest.Options{MaxRecordedBody: 10})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	alice := srv.AddUser("alice")
	_, err = srv.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/tiny"})
	require.NoError(t, err)
	_, err = srv.OpenPR(alice, "alice/tiny", "A PR", "", hubtest.Change{Files: map[string][]byte{"a": []byte("a")}})
	require.NoError(t, err)

	body := bytes.Repeat([]byte("x"), 100)
	resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/paths-info/refs%2Fpr%2F1?expand=false", alice.Token, body)
	require.Equal(t, http.StatusBadRequest, resp.status)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "hub", r.Listener)
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/api/models/alice/tiny/paths-info/refs%2Fpr%2F1", r.Path, "the path stays encoded")
	assert.Equal(t, "expand=false", r.RawQuery)
	assert.Equal(t, "false", r.Query.Get("expand"))
	assert.Equal(t, "Bearer "+alice.Token, r.Header.Get("Authorization"))
	assert.Equal(t, body[:10], r.Body, "capped")
	assert.Equal(t, int64(len(body)), r.BodySize)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, resp.header.Get("X-Request-Id"), r.RequestID)
	assert.Equal(t, "alice", r.User)
	assert.False(t, r.Time.IsZero())
}
