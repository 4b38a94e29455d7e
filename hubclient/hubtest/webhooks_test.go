package hubtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint that records what it gets. Requests wait
// while gate is closed... until release is called, when one was set.
type receiver struct {
	url    string
	status int
	gate   chan struct{}
	mu     sync.Mutex
	got    []received
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{status: http.StatusAccepted}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		gate := rc.gate
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body})
		status := rc.status
		rc.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/webhooks/hub"
	return rc
}

func (rc *receiver) hold() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.gate = make(chan struct{})
}

func (rc *receiver) release() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.gate != nil {
		close(rc.gate)
		rc.gate = nil
	}
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// v3 is the payload as a test reads it.
type v3 struct {
	Event struct{ Action, Scope string }
	Repo  struct {
		Type, Name, ID, HeadSha, Subdomain string
		Private                            bool
		URL                                struct{ Web, API string }
		Owner                              struct{ ID string }
	}
	Discussion *struct {
		ID, Title, Status string
		Num               int
		IsPullRequest     bool
		Author            struct{ ID string }
		URL               struct{ Web, API string }
		Changes           *struct {
			Base          string
			MergeCommitID string `json:"mergeCommitId"`
		}
	}
	Comment *struct {
		ID      string
		Author  struct{ ID string }
		Content *string
		Hidden  bool
		URL     struct{ Web string }
	}
	UpdatedRefs []struct {
		Ref    string
		OldSha *string
		NewSha *string
	}
	Webhook struct {
		ID      string
		Version int
	}
}

func decode(t *testing.T, d hubtest.Delivery) v3 {
	t.Helper()
	var p v3
	require.NoError(t, d.Event(&p))
	return p
}

// shape lists every key path of a JSON document with the type of its value.
func shape(t *testing.T, raw []byte) []string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				walk(prefix+"."+k, val)
			}
		case []any:
			for _, val := range x {
				walk(prefix+"[]", val)
			}
		case string:
			out = append(out, prefix+":string")
		case float64:
			out = append(out, prefix+":number")
		case bool:
			out = append(out, prefix+":bool")
		case nil:
			out = append(out, prefix+":null")
		}
	}
	walk("", v)
	sort.Strings(out)
	return slices.Compact(out)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "payloads", name))
	require.NoError(t, err)
	return data
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestWebhookPayloads(t *testing.T) {
	w := newWorld(t)
	srv := w.srv
	bot := srv.AddUser("hubbot-ci")
	recv := newReceiver(t)
	hookID, err := srv.AddWebhook(hubtest.Webhook{URL: recv.url, Secret: "topsecret"})
	require.NoError(t, err)
	next := 0
	expect := func(t *testing.T, n int) []hubtest.Delivery {
		t.Helper()
		all, err := srv.WaitIdle(t.Context())
		require.NoError(t, err)
		require.Len(t, all, next+n, "deliveries")
		got := all[next:]
		next += n
		for _, d := range got {
			assert.Equal(t, hookID, d.WebhookID)
			assert.Equal(t, http.StatusAccepted, d.Status)
			assert.NoError(t, d.Err)
			p := decode(t, d)
			assert.Equal(t, hookID, p.Webhook.ID)
			assert.Equal(t, 3, p.Webhook.Version)
			assert.Equal(t, "model", p.Repo.Type)
			assert.Equal(t, "alice/tiny", p.Repo.Name)
			assert.Equal(t, w.tiny.ID, p.Repo.ID)
			assert.Equal(t, w.alice.ID, p.Repo.Owner.ID)
			assert.Equal(t, srv.URL+"/alice/tiny", p.Repo.URL.Web)
			assert.Equal(t, srv.URL+"/api/models/alice/tiny", p.Repo.URL.API)
		}
		return got
	}

	var mainHead string
	t.Run("push", func(t *testing.T) {
		mainHead, err = srv.Push(w.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
		require.NoError(t, err)
		d := expect(t, 1)[0]
		assert.Equal(t, "repo.content", d.Scope)
		p := decode(t, d)
		assert.Equal(t, "update", p.Event.Action)
		assert.Equal(t, mainHead, p.Repo.HeadSha)
		require.Len(t, p.UpdatedRefs, 1)
		assert.Equal(t, "refs/heads/main", p.UpdatedRefs[0].Ref)
		assert.Equal(t, w.tiny.Head, str(p.UpdatedRefs[0].OldSha))
		assert.Equal(t, mainHead, str(p.UpdatedRefs[0].NewSha))
		assert.Nil(t, p.Discussion)
		assert.Nil(t, p.Comment)
		r := recv.requests()[0]
		assert.Equal(t, "topsecret", r.header.Get("X-Webhook-Secret"))
		assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		assert.Equal(t, d.Payload, r.body)
	})

	var prSHA, prURL string
	t.Run("new pr by api", func(t *testing.T) {
		body := ndjson(t, map[string]any{"key": "header", "value": map[string]any{"summary": "Convert to safetensors", "description": "Automated PR"}},
			fileLine("converted.txt", "x"))
		resp := postCommit(t, srv, "alice/tiny", "main", bot.Token, body, "create_pr=1")
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		var c commitResponse
		resp.json(t, &c)
		prSHA, prURL = c.CommitOid, c.PullRequestURL
		got := expect(t, 2)

		assert.Equal(t, "discussion", got[0].Scope)
		assert.Equal(t, "create", got[0].Action)
		p := decode(t, got[0])
		require.NotNil(t, p.Discussion)
		assert.Equal(t, 1, p.Discussion.Num)
		assert.Equal(t, "Convert to safetensors", p.Discussion.Title)
		assert.Equal(t, "open", p.Discussion.Status)
		assert.True(t, p.Discussion.IsPullRequest)
		assert.Equal(t, bot.ID, p.Discussion.Author.ID)
		assert.Equal(t, prURL, p.Discussion.URL.Web)
		assert.Equal(t, srv.URL+"/api/models/alice/tiny/discussions/1", p.Discussion.URL.API)
		require.NotNil(t, p.Discussion.Changes)
		assert.Equal(t, "refs/heads/main", p.Discussion.Changes.Base)
		require.NotNil(t, p.Comment, "a new discussion carries its first comment")
		assert.Equal(t, "Automated PR", str(p.Comment.Content))
		assert.Equal(t, bot.ID, p.Comment.Author.ID)
		assert.Equal(t, prURL+"#"+p.Comment.ID, p.Comment.URL.Web)
		assert.Empty(t, p.Repo.HeadSha, "headSha is for repo scopes")
		assert.Equal(t, shape(t, fixture(t, "discussion-create-pr-opened.json")), shape(t, got[0].Payload))

		assert.Equal(t, "repo.content", got[1].Scope)
		p = decode(t, got[1])
		require.Len(t, p.UpdatedRefs, 1)
		assert.Equal(t, "refs/pr/1", p.UpdatedRefs[0].Ref)
		assert.Nil(t, p.UpdatedRefs[0].OldSha)
		assert.Equal(t, prSHA, str(p.UpdatedRefs[0].NewSha))
		assert.Equal(t, mainHead, p.Repo.HeadSha, "headSha stays the head of main")
	})

	var commentID string
	t.Run("comment by the bot itself", func(t *testing.T) {
		resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/discussions/1/comment", bot.Token, map[string]any{"comment": "Report: all good"})
		require.Equal(t, http.StatusCreated, resp.status)
		d := expect(t, 1)[0]
		assert.Equal(t, "discussion.comment", d.Scope)
		assert.Equal(t, "create", d.Action)
		p := decode(t, d)
		require.NotNil(t, p.Comment)
		commentID = p.Comment.ID
		assert.Equal(t, bot.ID, p.Comment.Author.ID, "the bot's own comments come back to it")
		assert.Equal(t, "Report: all good", str(p.Comment.Content))
		assert.False(t, p.Comment.Hidden)
		assert.Equal(t, 1, p.Discussion.Num)
		assert.Equal(t, shape(t, fixture(t, "discussion-comment-create.json")), shape(t, d.Payload))
	})

	t.Run("edit comment", func(t *testing.T) {
		resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/discussions/1/comment/"+commentID+"/edit", bot.Token, map[string]any{"content": "Report: edited"})
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		d := expect(t, 1)[0]
		assert.Equal(t, "discussion.comment", d.Scope)
		assert.Equal(t, "update", d.Action)
		assert.Equal(t, "Report: edited", str(decode(t, d).Comment.Content))
	})

	t.Run("hidden comment", func(t *testing.T) {
		resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/discussions/1/comment/"+commentID+"/hide", w.alice.Token, nil)
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		d := expect(t, 1)[0]
		assert.Equal(t, "discussion.comment", d.Scope)
		assert.Equal(t, "update", d.Action)
		p := decode(t, d)
		assert.True(t, p.Comment.Hidden)
		assert.Nil(t, p.Comment.Content, "a hidden comment has no content")
		var raw map[string]map[string]any
		require.NoError(t, json.Unmarshal(d.Payload, &raw))
		assert.NotContains(t, raw["comment"], "content")
	})

	t.Run("status change", func(t *testing.T) {
		resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/discussions/1/status", bot.Token, map[string]any{"status": "closed"})
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		d := expect(t, 1)[0]
		assert.Equal(t, "discussion", d.Scope)
		assert.Equal(t, "update", d.Action)
		p := decode(t, d)
		assert.Equal(t, "closed", p.Discussion.Status)
		assert.Nil(t, p.Comment)
		assert.Equal(t, shape(t, fixture(t, "discussion-update-pr-closed.json")), shape(t, d.Payload))
	})

	t.Run("draft pr from the discussions api", func(t *testing.T) {
		resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/discussions", w.bob.Token,
			map[string]any{"title": "Empty PR", "description": "to push to", "pullRequest": true})
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		got := expect(t, 2)
		p := decode(t, got[0])
		assert.Equal(t, "draft", p.Discussion.Status)
		assert.Equal(t, 2, p.Discussion.Num)
		p = decode(t, got[1])
		assert.Equal(t, "refs/pr/2", p.UpdatedRefs[0].Ref)
		assert.Equal(t, mainHead, str(p.UpdatedRefs[0].NewSha), "the ref starts at the base head")
	})

	t.Run("title change and merge", func(t *testing.T) {
		_, err := srv.Push(w.bob, "alice/tiny", "refs/pr/2", hubtest.Change{Files: map[string][]byte{"bob.txt": []byte("b")}, Message: "Bob's change"})
		require.NoError(t, err)
		p := decode(t, expect(t, 1)[0])
		assert.Equal(t, "refs/pr/2", p.UpdatedRefs[0].Ref)

		resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/discussions/2/title", w.bob.Token, map[string]any{"title": "Bob's PR"})
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		p = decode(t, expect(t, 1)[0])
		assert.Equal(t, "Bob's PR", p.Discussion.Title)

		resp = call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/discussions/2/merge", w.alice.Token, nil)
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		got := expect(t, 2)
		p = decode(t, got[0])
		assert.Equal(t, "merged", p.Discussion.Status)
		merge := p.Discussion.Changes.MergeCommitID
		assert.Regexp(t, `^[0-9a-f]{40}$`, merge)
		p = decode(t, got[1])
		assert.Equal(t, "refs/heads/main", p.UpdatedRefs[0].Ref)
		assert.Equal(t, merge, str(p.UpdatedRefs[0].NewSha))
		content, err := srv.File("alice/tiny", "main", "bob.txt")
		require.NoError(t, err)
		assert.Equal(t, "b", string(content))
	})
}

func TestWebhookSpacePayload(t *testing.T) {
	srv := newServer(t)
	alice := srv.AddUser("Wauplin")
	_, err := srv.CreateRepo(alice, hubtest.RepoSpec{ID: "Wauplin/gradio-user-history", Type: hubtest.TypeSpace, SDK: "gradio"})
	require.NoError(t, err)
	recv := newReceiver(t)
	_, err = srv.AddWebhook(hubtest.Webhook{URL: recv.url})
	require.NoError(t, err)
	_, err = srv.OpenPR(alice, "spaces/Wauplin/gradio-user-history", "Update app", "", hubtest.Change{Files: map[string][]byte{"app.py": []byte("print(1)\n")}})
	require.NoError(t, err)
	all, err := srv.WaitDeliveries(t.Context(), 2)
	require.NoError(t, err)
	assert.Equal(t, "discussion", all[0].Scope)
	p := decode(t, all[0])
	assert.Nil(t, p.Comment, "no description, no first comment")
	assert.Empty(t, p.Repo.Subdomain, "subdomain comes with repo scopes")
	assert.Equal(t, "repo.content", all[1].Scope)
	p = decode(t, all[1])
	assert.Equal(t, "space", p.Repo.Type)
	assert.Equal(t, "wauplin-gradio-user-history", p.Repo.Subdomain)
	assert.Equal(t, srv.URL+"/spaces/Wauplin/gradio-user-history", p.Repo.URL.Web)
	assert.Equal(t, shape(t, fixture(t, "repo-content-new-pr-ref.json")), shape(t, all[1].Payload))
	assert.Empty(t, recv.requests()[0].header.Get("X-Webhook-Secret"), "no secret configured")
}

func TestWebhookFilters(t *testing.T) {
	w := newWorld(t)
	srv := w.srv
	recv := newReceiver(t)
	hooks := map[string]hubtest.Webhook{
		"all":        {URL: recv.url},
		"discussion": {URL: recv.url, Domains: []string{"discussion"}},
		"repo":       {URL: recv.url, Domains: []string{"repo"}},
		"tiny only":  {URL: recv.url, Watched: []hubtest.Watch{{Type: "model", Name: "alice/tiny"}}},
		"acme org":   {URL: recv.url, Watched: []hubtest.Watch{{Type: "org", Name: "acme"}}},
		"alice user": {URL: recv.url, Watched: []hubtest.Watch{{Type: "user", Name: "alice"}}},
		"dataset":    {URL: recv.url, Watched: []hubtest.Watch{{Type: "dataset", Name: "alice/tiny"}}},
	}
	ids := map[string]string{}
	for name, h := range hooks {
		id, err := srv.AddWebhook(h)
		require.NoError(t, err)
		ids[id] = name
	}
	_, err := srv.Push(w.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"x": []byte("x")}})
	require.NoError(t, err)
	_, err = srv.OpenDiscussion(w.bob, "alice/tiny", "Question", "How?")
	require.NoError(t, err)
	_, err = srv.Push(w.alice, "acme/secret", "main", hubtest.Change{Files: map[string][]byte{"y": []byte("y")}})
	require.NoError(t, err)
	all, err := srv.WaitIdle(t.Context())
	require.NoError(t, err)
	got := map[string][]string{}
	for _, d := range all {
		got[ids[d.WebhookID]] = append(got[ids[d.WebhookID]], d.RepoName+" "+d.Scope)
	}
	assert.Equal(t, map[string][]string{
		"all":        {"alice/tiny repo.content", "alice/tiny discussion", "acme/secret repo.content"},
		"discussion": {"alice/tiny discussion"},
		"repo":       {"alice/tiny repo.content", "acme/secret repo.content"},
		"tiny only":  {"alice/tiny repo.content", "alice/tiny discussion"},
		"acme org":   {"acme/secret repo.content"},
		"alice user": {"alice/tiny repo.content", "alice/tiny discussion"},
	}, got)

	for _, bad := range []hubtest.Webhook{
		{URL: "ftp://x"},
		{URL: recv.url, Domains: []string{"repos"}},
		{URL: recv.url, Watched: []hubtest.Watch{{Type: "team", Name: "x"}}},
		{URL: recv.url, Secret: "sécret"},
	} {
		_, err := srv.AddWebhook(bad)
		assert.Error(t, err, "%+v", bad)
	}
}

func TestWebhookDelivery(t *testing.T) {
	srv := newServer(t)
	alice := srv.AddUser("alice")
	_, err := srv.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/tiny"})
	require.NoError(t, err)
	num, err := srv.OpenDiscussion(alice, "alice/tiny", "Thread", "")
	require.NoError(t, err)

	t.Run("asynchronous and ordered", func(t *testing.T) {
		recv := newReceiver(t)
		recv.hold()
		id, err := srv.AddWebhook(hubtest.Webhook{URL: recv.url})
		require.NoError(t, err)
		var want []string
		for i := range 5 {
			// The API answers while the receiver is still holding the
			// first delivery: deliveries do not block the Hub.
			resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/discussions/1/comment", alice.Token, map[string]any{"comment": fmt.Sprint("c", i)})
			require.Equal(t, http.StatusCreated, resp.status)
			want = append(want, fmt.Sprint("c", i))
		}
		recv.release()
		all, err := srv.WaitIdle(t.Context())
		require.NoError(t, err)
		var got []string
		for _, d := range all {
			if d.WebhookID == id {
				assert.Equal(t, http.StatusAccepted, d.Status)
				got = append(got, str(decode(t, d).Comment.Content))
			}
		}
		assert.Equal(t, want, got)
	})

	t.Run("failures are recorded", func(t *testing.T) {
		failing := newReceiver(t)
		failing.status = http.StatusInternalServerError
		closed := httptest.NewServer(http.NotFoundHandler())
		closedURL := closed.URL
		closed.Close()
		byID := map[string]string{}
		for name, u := range map[string]string{"failing": failing.url, "closed": closedURL} {
			id, err := srv.AddWebhook(hubtest.Webhook{URL: u})
			require.NoError(t, err)
			byID[id] = name
		}
		_, err := srv.Comment(alice, "alice/tiny", num, "hello")
		require.NoError(t, err)
		all, err := srv.WaitIdle(t.Context())
		require.NoError(t, err)
		results := map[string]hubtest.Delivery{}
		for _, d := range all {
			if name, ok := byID[d.WebhookID]; ok {
				results[name] = d
			}
		}
		require.Len(t, results, 2)
		assert.Equal(t, http.StatusInternalServerError, results["failing"].Status)
		assert.NoError(t, results["failing"].Err)
		assert.JSONEq(t, `{"status":"ok"}`, string(results["failing"].Response))
		assert.Zero(t, results["closed"].Status)
		assert.Error(t, results["closed"].Err)
	})

	t.Run("a receiver slower than the timeout", func(t *testing.T) {
		fast, err := hubtest.New(hubtest.Options{WebhookTimeout: 50 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(fast.Close)
		u := fast.AddUser("u")
		_, err = fast.CreateRepo(u, hubtest.RepoSpec{ID: "u/r"})
		require.NoError(t, err)
		slow := newReceiver(t)
		slow.hold()
		t.Cleanup(slow.release)
		_, err = fast.AddWebhook(hubtest.Webhook{URL: slow.url})
		require.NoError(t, err)
		_, err = fast.OpenDiscussion(u, "u/r", "Slow", "")
		require.NoError(t, err)
		all, err := fast.WaitDeliveries(t.Context(), 1)
		require.NoError(t, err)
		assert.Zero(t, all[0].Status)
		assert.ErrorIs(t, all[0].Err, context.DeadlineExceeded)
	})

	t.Run("wait honours the context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := srv.WaitDeliveries(ctx, 1000)
		assert.ErrorIs(t, err, context.Canceled)
	})
}
