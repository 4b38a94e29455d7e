package hubtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

type apiEvent struct {
	ID, Type, CreatedAt string
	Author              *struct {
		ID   string `json:"_id"`
		Name string
		Type string
	}
	Data struct {
		Edited, Hidden bool
		HiddenBy       string
		Latest         struct{ Raw, HTML string }
		Status         string
		OID, Subject   string
		From, To       string
	}
}

type apiDiscussion struct {
	ID            string `json:"_id"`
	Num           int
	Title, Status string
	IsPullRequest bool
	Author        struct{ Name string }
	Repo          struct{ Name, Type string }
	Events        []apiEvent
	Changes       *struct {
		Base          string
		MergeCommitID string `json:"mergeCommitId"`
	}
	Diff *string
}

func discussionsURL(srv *hubtest.Server, repo string, rest ...string) string {
	return srv.URL + "/api/models/" + repo + "/discussions" + strings.Join(rest, "")
}

func TestDiscussionsCreate(t *testing.T) {
	w := newWorld(t)
	srv := w.srv
	tests := []struct {
		name   string
		repo   string
		token  string
		body   any
		status int
	}{
		{"discussion", "alice/tiny", w.bob.Token, map[string]any{"title": "Question", "description": "How?"}, http.StatusOK},
		{"pull request", "alice/tiny", w.bob.Token, map[string]any{"title": "Draft", "description": "wip", "pullRequest": true}, http.StatusOK},
		{"no description", "alice/tiny", w.bob.Token, map[string]any{"title": "Short one"}, http.StatusOK},
		{"title too short", "alice/tiny", w.bob.Token, map[string]any{"title": "ab", "description": "x"}, http.StatusBadRequest},
		{"title too long", "alice/tiny", w.bob.Token, map[string]any{"title": strings.Repeat("a", 201), "description": "x"}, http.StatusBadRequest},
		{"missing title", "alice/tiny", w.bob.Token, map[string]any{"description": "x"}, http.StatusBadRequest},
		{"bad json", "alice/tiny", w.bob.Token, "{", http.StatusBadRequest},
		{"anonymous", "alice/tiny", "", map[string]any{"title": "Question", "description": "x"}, http.StatusUnauthorized},
		{"hidden repo", "acme/secret", w.bob.Token, map[string]any{"title": "Question", "description": "x"}, http.StatusNotFound},
		{"private repo member", "acme/secret", w.carol.Token, map[string]any{"title": "Question", "description": "x"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, http.MethodPost, discussionsURL(srv, tt.repo), tt.token, tt.body)
			require.Equal(t, tt.status, resp.status, "body: %s", resp.body)
		})
	}
	var created struct {
		Num         int
		PullRequest bool
		URL         string
		References  *struct{ Base string }
	}
	resp := call(t, http.MethodPost, discussionsURL(srv, "alice/tiny"), w.bob.Token, map[string]any{"title": "Another PR", "description": "d", "pullRequest": true})
	resp.json(t, &created)
	assert.Equal(t, 4, created.Num, "numbers are shared by discussions and PRs")
	assert.True(t, created.PullRequest)
	assert.Equal(t, srv.URL+"/alice/tiny/discussions/4", created.URL)
	require.NotNil(t, created.References)
	assert.Equal(t, "refs/heads/main", created.References.Base)
	head, ok := srv.Ref("alice/tiny", "refs/pr/4")
	require.True(t, ok)
	assert.Equal(t, w.tiny.Head, head)
	d, _ := srv.Discussion("alice/tiny", 4)
	assert.Equal(t, hubtest.StatusDraft, d.Status)
}

func TestDiscussionsList(t *testing.T) {
	srv, err := hubtest.New(hubtest.Options{DiscussionsPageSize: 2})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	alice, bob := srv.AddUser("alice"), srv.AddUser("bob")
	_, err = srv.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/tiny"})
	require.NoError(t, err)
	for i := range 3 {
		_, err := srv.OpenDiscussion(bob, "alice/tiny", fmt.Sprintf("Question %d", i+1), "q")
		require.NoError(t, err)
	}
	_, err = srv.OpenPR(alice, "alice/tiny", "Alice's PR", "", hubtest.Change{Files: map[string][]byte{"x": []byte("x")}})
	require.NoError(t, err)
	_, err = srv.OpenPR(bob, "alice/tiny", "Bob's PR", "", hubtest.Change{Files: map[string][]byte{"y": []byte("y")}})
	require.NoError(t, err)
	require.NoError(t, srv.SetStatus(bob, "alice/tiny", 2, hubtest.StatusClosed))
	_, err = srv.MergePR(alice, "alice/tiny", 4)
	require.NoError(t, err)

	type page struct {
		Discussions []struct {
			Num           int
			Title, Status string
			IsPullRequest bool
			Author        struct{ Name string }
			Repo          struct{ Name, Type string }
		}
		Count, Start int
	}
	list := func(t *testing.T, query string) []int {
		var nums []int
		count := -1
		for p := 0; ; p++ {
			resp := call(t, http.MethodGet, discussionsURL(srv, "alice/tiny")+"?p="+fmt.Sprint(p)+query, "", nil)
			require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
			var pg page
			resp.json(t, &pg)
			assert.Equal(t, p*2, pg.Start)
			if count >= 0 {
				assert.Equal(t, count, pg.Count)
			}
			count = pg.Count
			for _, d := range pg.Discussions {
				nums = append(nums, d.Num)
				assert.Equal(t, "alice/tiny", d.Repo.Name)
				assert.Equal(t, "model", d.Repo.Type)
			}
			if pg.Start+len(pg.Discussions) >= pg.Count {
				return nums
			}
		}
	}
	tests := []struct {
		query string
		want  []int
	}{
		{"", []int{5, 4, 3, 2, 1}},
		{"&type=all&status=all", []int{5, 4, 3, 2, 1}},
		{"&type=pull_request", []int{5, 4}},
		{"&type=discussion", []int{3, 2, 1}},
		{"&status=open", []int{5, 3, 1}},
		{"&status=closed", []int{4, 2}},
		{"&author=alice", []int{4}},
		{"&author=bob&type=discussion&status=open", []int{3, 1}},
		{"&search=question%202", []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			assert.Equal(t, tt.want, list(t, tt.query))
		})
	}
	for _, bad := range []string{"?p=-1", "?type=issue", "?status=draft"} {
		assert.Equal(t, http.StatusBadRequest, call(t, http.MethodGet, discussionsURL(srv, "alice/tiny")+bad, "", nil).status, bad)
	}
}

func TestDiscussionDetailsAndActions(t *testing.T) {
	w := newWorld(t)
	srv := w.srv
	pr, err := srv.OpenPR(w.bob, "alice/tiny", "Bob's change", "Please review", hubtest.Change{Files: map[string][]byte{"README.md": []byte("# bob\n")}})
	require.NoError(t, err)
	details := func(t *testing.T, query string) apiDiscussion {
		t.Helper()
		resp := call(t, http.MethodGet, discussionsURL(srv, "alice/tiny", fmt.Sprintf("/%d", pr.Num))+query, "", nil)
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		var d apiDiscussion
		resp.json(t, &d)
		return d
	}
	post := func(t *testing.T, path, token string, body any) response {
		t.Helper()
		return call(t, http.MethodPost, discussionsURL(srv, "alice/tiny", fmt.Sprintf("/%d", pr.Num), path), token, body)
	}

	d := details(t, "?diff=1")
	assert.Equal(t, pr.Num, d.Num)
	assert.Equal(t, pr.DiscussionID, d.ID)
	assert.Equal(t, "open", d.Status)
	assert.True(t, d.IsPullRequest)
	assert.Equal(t, "bob", d.Author.Name)
	require.NotNil(t, d.Changes)
	assert.Equal(t, "refs/heads/main", d.Changes.Base)
	require.NotNil(t, d.Diff)
	assert.Contains(t, *d.Diff, "+# bob")
	require.Len(t, d.Events, 2)
	first := d.Events[0]
	assert.Equal(t, "comment", first.Type)
	require.NotNil(t, first.Author)
	assert.Equal(t, "bob", first.Author.Name)
	assert.Equal(t, w.bob.ID, first.Author.ID)
	assert.Equal(t, "Please review", first.Data.Latest.Raw)
	assert.Equal(t, "commit", d.Events[1].Type)
	assert.Equal(t, pr.SHA, d.Events[1].Data.OID)
	assert.Equal(t, "Bob's change", d.Events[1].Data.Subject)
	assert.Nil(t, details(t, "").Diff, "diff only with diff=1")

	var commentID string
	t.Run("comment", func(t *testing.T) {
		resp := post(t, "/comment", w.alice.Token, map[string]any{"comment": "Looks good"})
		require.Equal(t, http.StatusCreated, resp.status, "body: %s", resp.body)
		var out struct{ NewMessage apiEvent }
		resp.json(t, &out)
		commentID = out.NewMessage.ID
		assert.Regexp(t, `^[0-9a-f]{24}$`, commentID)
		assert.Equal(t, "comment", out.NewMessage.Type)
		assert.Equal(t, "Looks good", out.NewMessage.Data.Latest.Raw)
		assert.Equal(t, "alice", out.NewMessage.Author.Name)
		assert.False(t, out.NewMessage.Data.Hidden)

		for _, bad := range []struct {
			token  string
			body   any
			status int
		}{
			{w.alice.Token, map[string]any{"comment": ""}, http.StatusBadRequest},
			{w.alice.Token, map[string]any{"text": "x"}, http.StatusBadRequest},
			{w.alice.Token, map[string]any{"comment": strings.Repeat("a", 65537)}, http.StatusBadRequest},
			{"", map[string]any{"comment": "x"}, http.StatusUnauthorized},
		} {
			assert.Equal(t, bad.status, post(t, "/comment", bad.token, bad.body).status)
		}
		resp = call(t, http.MethodPost, discussionsURL(srv, "alice/tiny", "/99/comment"), w.alice.Token, map[string]any{"comment": "x"})
		assert.Equal(t, http.StatusNotFound, resp.status)
	})

	t.Run("edit", func(t *testing.T) {
		assert.Equal(t, http.StatusForbidden, post(t, "/comment/"+commentID+"/edit", w.bob.Token, map[string]any{"content": "hijack"}).status)
		assert.Equal(t, http.StatusNotFound, post(t, "/comment/"+strings.Repeat("0", 24)+"/edit", w.alice.Token, map[string]any{"content": "x"}).status)
		resp := post(t, "/comment/"+strings.ToUpper(commentID)+"/edit", w.alice.Token, map[string]any{"content": "Looks great"})
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		var out struct{ UpdatedComment apiEvent }
		resp.json(t, &out)
		assert.True(t, out.UpdatedComment.Data.Edited)
		assert.Equal(t, "Looks great", out.UpdatedComment.Data.Latest.Raw)
	})

	t.Run("hide", func(t *testing.T) {
		assert.Equal(t, http.StatusForbidden, post(t, "/comment/"+commentID+"/hide", w.carol.Token, nil).status)
		resp := post(t, "/comment/"+commentID+"/hide", w.alice.Token, nil)
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		var out struct{ UpdatedComment apiEvent }
		resp.json(t, &out)
		assert.True(t, out.UpdatedComment.Data.Hidden)
		assert.Empty(t, out.UpdatedComment.Data.Latest.Raw, "the content is gone")
		assert.Equal(t, "alice", out.UpdatedComment.Data.HiddenBy)
		ev := details(t, "").Events[2]
		assert.True(t, ev.Data.Hidden)
		assert.Empty(t, ev.Data.Latest.Raw)
		assert.Equal(t, http.StatusBadRequest, post(t, "/comment/"+commentID+"/edit", w.alice.Token, map[string]any{"content": "back"}).status)
	})

	t.Run("title", func(t *testing.T) {
		assert.Equal(t, http.StatusForbidden, post(t, "/title", w.carol.Token, map[string]any{"title": "Mine now"}).status)
		assert.Equal(t, http.StatusBadRequest, post(t, "/title", w.bob.Token, map[string]any{"title": "x"}).status)
		resp := post(t, "/title", w.bob.Token, map[string]any{"title": "Better title"})
		require.Equal(t, http.StatusOK, resp.status)
		var out struct{ NewTitle apiEvent }
		resp.json(t, &out)
		assert.Equal(t, "title-change", out.NewTitle.Type)
		assert.Equal(t, "Bob's change", out.NewTitle.Data.From)
		assert.Equal(t, "Better title", out.NewTitle.Data.To)
	})

	t.Run("status", func(t *testing.T) {
		for _, bad := range []struct {
			token  string
			status string
			want   int
		}{
			{w.bob.Token, "merged", http.StatusBadRequest},
			{w.bob.Token, "draft", http.StatusBadRequest},
			{w.carol.Token, "closed", http.StatusForbidden},
			{w.bob.Token, "open", http.StatusBadRequest},
		} {
			assert.Equal(t, bad.want, post(t, "/status", bad.token, map[string]any{"status": bad.status}).status, bad.status)
		}
		resp := post(t, "/status", w.bob.Token, map[string]any{"status": "closed", "comment": "Never mind"})
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		var out struct{ NewStatus apiEvent }
		resp.json(t, &out)
		assert.Equal(t, "status-change", out.NewStatus.Type)
		assert.Equal(t, "closed", out.NewStatus.Data.Status)
		d := details(t, "")
		assert.Equal(t, "closed", d.Status)
		assert.Equal(t, "Never mind", d.Events[len(d.Events)-2].Data.Latest.Raw)
		require.Equal(t, http.StatusOK, post(t, "/status", w.alice.Token, map[string]any{"status": "open"}).status, "a maintainer reopens")
	})

	t.Run("merge", func(t *testing.T) {
		num, err := srv.OpenDiscussion(w.bob, "alice/tiny", "Not a PR", "")
		require.NoError(t, err)
		resp := call(t, http.MethodPost, discussionsURL(srv, "alice/tiny", fmt.Sprintf("/%d/merge", num)), w.alice.Token, nil)
		assert.Equal(t, http.StatusBadRequest, resp.status)
		assert.Equal(t, http.StatusForbidden, post(t, "/merge", w.bob.Token, nil).status)

		conflicting, err := srv.OpenPR(w.bob, "alice/tiny", "Conflicting", "", hubtest.Change{Files: map[string][]byte{"README.md": []byte("# other\n")}})
		require.NoError(t, err)
		resp = post(t, "/merge", w.alice.Token, map[string]any{"comment": "Thanks!"})
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		d := details(t, "?diff=1")
		assert.Equal(t, "merged", d.Status)
		require.NotNil(t, d.Changes)
		main, _ := srv.Ref("alice/tiny", "main")
		assert.Equal(t, main, d.Changes.MergeCommitID)
		require.NotNil(t, d.Diff)
		assert.Contains(t, *d.Diff, "+# bob", "the diff of a merged PR is still its own")
		assert.Equal(t, http.StatusBadRequest, post(t, "/merge", w.alice.Token, nil).status, "already merged")
		assert.Equal(t, http.StatusBadRequest, post(t, "/status", w.alice.Token, map[string]any{"status": "open"}).status)

		resp = call(t, http.MethodPost, discussionsURL(srv, "alice/tiny", fmt.Sprintf("/%d/merge", conflicting.Num)), w.alice.Token, nil)
		assert.Equal(t, http.StatusConflict, resp.status, "body: %s", resp.body)
	})

	resp := call(t, http.MethodGet, discussionsURL(srv, "alice/tiny", "/99"), "", nil)
	assert.Equal(t, http.StatusNotFound, resp.status)
	resp = call(t, http.MethodGet, discussionsURL(srv, "alice/tiny", "/abc"), "", nil)
	assert.Equal(t, http.StatusNotFound, resp.status)
}
