package hubtest_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

type commitResponse struct {
	Success        bool
	CommitOid      string
	CommitURL      string `json:"commitUrl"`
	PullRequestURL string `json:"pullRequestUrl"`
}

func postCommit(t *testing.T, srv *hubtest.Server, repoPath, rev, token, body string, query ...string) response {
	t.Helper()
	u := srv.URL + "/api/models/" + repoPath + "/commit/" + url.PathEscape(rev)
	if len(query) > 0 {
		u += "?" + query[0]
	}
	return call(t, http.MethodPost, u, token, body, "Content-Type", "application/x-ndjson")
}

func TestCommitAPI(t *testing.T) {
	w := newWorld(t)
	srv := w.srv

	t.Run("ndjson to a branch", func(t *testing.T) {
		body := ndjson(t,
			map[string]any{"key": "header", "value": map[string]any{"summary": "Update card", "description": "Longer text", "parentCommit": w.tiny.Head}},
			map[string]any{"key": "file", "value": map[string]any{"path": "README.md", "content": base64.StdEncoding.EncodeToString([]byte("# new\n")), "encoding": "base64"}},
			fileLine("docs/a.txt", "utf-8 content"),
			map[string]any{"key": "deletedFile", "value": map[string]any{"path": "config.json"}},
			map[string]any{"key": "deletedFolder", "value": map[string]any{"path": "sub/"}},
		)
		resp := postCommit(t, srv, "alice/tiny", "main", w.alice.Token, strings.TrimSuffix(body, "\n"))
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		var c commitResponse
		resp.json(t, &c)
		assert.True(t, c.Success)
		assert.Regexp(t, `^[0-9a-f]{40}$`, c.CommitOid)
		assert.Equal(t, srv.URL+"/alice/tiny/commit/"+c.CommitOid, c.CommitURL)
		assert.Empty(t, c.PullRequestURL)
		head, _ := srv.Ref("alice/tiny", "main")
		assert.Equal(t, c.CommitOid, head)

		got, err := srv.File("alice/tiny", "main", "README.md")
		require.NoError(t, err)
		assert.Equal(t, "# new\n", string(got))
		got, err = srv.File("alice/tiny", "main", "docs/a.txt")
		require.NoError(t, err)
		assert.Equal(t, "utf-8 content", string(got))
		_, err = srv.File("alice/tiny", "main", "config.json")
		assert.Error(t, err)
		_, err = srv.File("alice/tiny", "main", "sub/dir/notes.txt")
		assert.Error(t, err)
		got, err = srv.File("alice/tiny", "main", "model.safetensors")
		require.NoError(t, err)
		assert.Equal(t, w.weights, got, "untouched LFS file kept")

		var commits []struct {
			Title, Message string
			Authors        []struct{ User string }
		}
		call(t, http.MethodGet, srv.URL+"/api/models/alice/tiny/commits/main", "", nil).json(t, &commits)
		assert.Equal(t, "Update card", commits[0].Title)
		assert.Equal(t, "Longer text", commits[0].Message)
		assert.Equal(t, "alice", commits[0].Authors[0].User)
	})

	t.Run("legacy json", func(t *testing.T) {
		resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/commit/main", w.alice.Token, map[string]any{
			"summary":      "Legacy",
			"files":        []map[string]any{{"path": "legacy.txt", "content": base64.StdEncoding.EncodeToString([]byte("old")), "encoding": "base64"}},
			"deletedFiles": []map[string]any{{"path": "docs/a.txt"}},
		})
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		got, err := srv.File("alice/tiny", "main", "legacy.txt")
		require.NoError(t, err)
		assert.Equal(t, "old", string(got))
	})

	t.Run("move", func(t *testing.T) {
		body := ndjson(t, header("Move"), map[string]any{"key": "file", "value": map[string]any{"path": "moved.txt", "oldPath": "legacy.txt"}})
		resp := postCommit(t, srv, "alice/tiny", "main", w.alice.Token, body)
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		got, err := srv.File("alice/tiny", "main", "moved.txt")
		require.NoError(t, err)
		assert.Equal(t, "old", string(got))
		_, err = srv.File("alice/tiny", "main", "legacy.txt")
		assert.Error(t, err)
	})

	t.Run("stale parent commit", func(t *testing.T) {
		before, _ := srv.Ref("alice/tiny", "main")
		body := ndjson(t,
			map[string]any{"key": "header", "value": map[string]any{"summary": "Late", "parentCommit": w.tiny.Head}},
			fileLine("late.txt", "x"))
		resp := postCommit(t, srv, "alice/tiny", "main", w.alice.Token, body)
		require.Equal(t, http.StatusPreconditionFailed, resp.status, "body: %s", resp.body)
		assert.Equal(t, "A commit has happened since. Please refresh and try again.", resp.header.Get("X-Error-Message"))
		after, _ := srv.Ref("alice/tiny", "main")
		assert.Equal(t, before, after)
	})

	t.Run("create_pr as a non-member", func(t *testing.T) {
		before, _ := srv.Ref("alice/tiny", "main")
		body := ndjson(t,
			map[string]any{"key": "header", "value": map[string]any{"summary": "Convert weights", "description": "Automated"}},
			fileLine("bob.txt", "from bob"))
		resp := postCommit(t, srv, "alice/tiny", "main", w.bob.Token, body, "create_pr=1")
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		var c commitResponse
		resp.json(t, &c)
		require.Regexp(t, `/alice/tiny/discussions/\d+$`, c.PullRequestURL)
		num := c.PullRequestURL[strings.LastIndex(c.PullRequestURL, "/")+1:]
		prHead, ok := srv.Ref("alice/tiny", "refs/pr/"+num)
		require.True(t, ok)
		assert.Equal(t, c.CommitOid, prHead)
		after, _ := srv.Ref("alice/tiny", "main")
		assert.Equal(t, before, after, "main does not move")
		d, ok := srv.Discussion("alice/tiny", 1)
		require.True(t, ok)
		assert.True(t, d.IsPullRequest)
		assert.Equal(t, hubtest.StatusOpen, d.Status)
		assert.Equal(t, "Convert weights", d.Title)
		assert.Equal(t, "bob", d.Author)
		assert.Equal(t, "refs/heads/main", d.Base)
		require.Len(t, d.Events, 2)
		assert.Equal(t, "Automated", d.Events[0].Content)
		assert.Equal(t, "commit", d.Events[1].Type)
		assert.Equal(t, c.CommitOid, d.Events[1].OID)

		t.Run("then commit to the pr ref as its author", func(t *testing.T) {
			resp := postCommit(t, srv, "alice/tiny", "refs/pr/1", w.bob.Token, ndjson(t, header("Fix"), fileLine("bob.txt", "fixed")))
			require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
			var c2 commitResponse
			resp.json(t, &c2)
			prHead, _ := srv.Ref("alice/tiny", "refs/pr/1")
			assert.Equal(t, c2.CommitOid, prHead)
			d, _ := srv.Discussion("alice/tiny", 1)
			assert.Equal(t, "commit", d.Events[len(d.Events)-1].Type)
			assert.Equal(t, "Fix", d.Events[len(d.Events)-1].Subject)
		})
		t.Run("a stranger cannot commit to the pr", func(t *testing.T) {
			resp := postCommit(t, srv, "alice/tiny", "refs/pr/1", w.carol.Token, ndjson(t, header("Nope"), fileLine("c.txt", "c")))
			assert.Equal(t, http.StatusForbidden, resp.status)
		})
	})

	t.Run("create_pr from a parent commit", func(t *testing.T) {
		body := ndjson(t,
			map[string]any{"key": "header", "value": map[string]any{"summary": "Old base", "parentCommit": w.tiny.Head[:12]}},
			fileLine("p.txt", "p"))
		resp := postCommit(t, srv, "alice/tiny", "main", w.alice.Token, body, "create_pr=1")
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		var c commitResponse
		resp.json(t, &c)
		var commits []struct{ ID string }
		call(t, http.MethodGet, srv.URL+"/api/models/alice/tiny/commits/"+c.CommitOid, "", nil).json(t, &commits)
		require.GreaterOrEqual(t, len(commits), 2)
		assert.Equal(t, w.tiny.Head, commits[1].ID)
	})

	t.Run("create_pr needs a branch", func(t *testing.T) {
		resp := postCommit(t, srv, "alice/tiny", "refs/pr/1", w.alice.Token, ndjson(t, header("X"), fileLine("x", "x")), "create_pr=1")
		assert.Equal(t, http.StatusNotFound, resp.status)
		assert.Equal(t, "RevisionNotFound", resp.header.Get("X-Error-Code"))
	})
}

func TestCommitErrors(t *testing.T) {
	w := newWorld(t)
	srv := w.srv
	uploaded := []byte("not uploaded content")
	tests := []struct {
		name   string
		repo   string
		rev    string
		token  string
		body   string
		status int
		code   string
		msg    string
	}{
		{"anonymous", "alice/tiny", "main", "", ndjson(t, header("x"), fileLine("a", "a")), http.StatusUnauthorized, "", ""},
		{"no write access", "alice/tiny", "main", w.bob.Token, ndjson(t, header("x"), fileLine("a", "a")), http.StatusForbidden, "", ""},
		{"read member", "acme/secret", "main", w.carol.Token, ndjson(t, header("x"), fileLine("a", "a")), http.StatusForbidden, "", ""},
		{"hidden repo", "acme/secret", "main", w.bob.Token, ndjson(t, header("x"), fileLine("a", "a")), http.StatusNotFound, "RepoNotFound", ""},
		{"missing branch", "alice/tiny", "nope", w.alice.Token, ndjson(t, header("x"), fileLine("a", "a")), http.StatusNotFound, "RevisionNotFound", ""},
		{"empty body", "alice/tiny", "main", w.alice.Token, "", http.StatusBadRequest, "", "line 1"},
		{"bad ndjson", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x")) + "{not json\n", http.StatusBadRequest, "", "line 2"},
		{"header not first", "alice/tiny", "main", w.alice.Token, ndjson(t, fileLine("a", "a"), header("x")), http.StatusBadRequest, "", "header must come first"},
		{"missing summary", "alice/tiny", "main", w.alice.Token, ndjson(t, map[string]any{"key": "header", "value": map[string]any{"description": "d"}}), http.StatusBadRequest, "", "summary"},
		{"blank summary", "alice/tiny", "main", w.alice.Token, ndjson(t, header("  ")), http.StatusBadRequest, "", "summary"},
		{"duplicate header", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), header("y")), http.StatusBadRequest, "", "duplicate header"},
		{"unknown key", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), map[string]any{"key": "copyFile", "value": map[string]any{"path": "a"}}), http.StatusBadRequest, "", "unknown key"},
		{"bad base64", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), map[string]any{"key": "file", "value": map[string]any{"path": "a", "content": "!!", "encoding": "base64"}}), http.StatusBadRequest, "", "base64"},
		{"dot dot", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("../evil", "a")), http.StatusBadRequest, "", ".."},
		{"dot dot inside", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("a/../../b", "a")), http.StatusBadRequest, "", ".."},
		{".git", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine(".git/config", "a")), http.StatusBadRequest, "", ".git"},
		{"nested .git", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("a/.GIT/hooks", "a")), http.StatusBadRequest, "", ".git"},
		{"leading slash", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("/etc/passwd", "a")), http.StatusBadRequest, "", "start with /"},
		{"empty segment", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("a//b", "a")), http.StatusBadRequest, "", "empty path component"},
		{"file over folder", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("sub", "a")), http.StatusBadRequest, "", "folder"},
		{"folder over file", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("README.md/x", "a")), http.StatusBadRequest, "", "is a file"},
		{"lfs not uploaded", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.bin", "algo": "sha256", "oid": sha256Hex(uploaded), "size": len(uploaded)}}), http.StatusBadRequest, "", "not uploaded"},
		{"lfs wrong size", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.bin", "algo": "sha256", "oid": sha256Hex(w.weights), "size": 1}}), http.StatusBadRequest, "", "size"},
		{"lfs bad oid", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.bin", "oid": "XYZ", "size": 1}}), http.StatusBadRequest, "", "oid"},
		{"lfs missing size", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.bin", "oid": sha256Hex(w.weights)}}), http.StatusBadRequest, "", "size"},
		{"delete missing file", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), map[string]any{"key": "deletedFile", "value": map[string]any{"path": "nope.txt"}}), http.StatusNotFound, "EntryNotFound", ""},
		{"delete missing folder", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), map[string]any{"key": "deletedFolder", "value": map[string]any{"path": "nope/"}}), http.StatusNotFound, "EntryNotFound", ""},
		{"regular file over 10 MiB", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("big.txt", strings.Repeat("a", 10<<20+1))), http.StatusBadRequest, "", "10 MiB"},
		{"invalid card metadata", "alice/tiny", "main", w.alice.Token, ndjson(t, header("x"), fileLine("README.md", "---\nlicense: [mit\n---\n")), http.StatusBadRequest, "", "metadata"},
		{"bad parent commit", "alice/tiny", "main", w.alice.Token, ndjson(t, map[string]any{"key": "header", "value": map[string]any{"summary": "x", "parentCommit": "zz"}}), http.StatusBadRequest, "", "parentCommit"},
		{"commit to a sha", "alice/tiny", w.tiny.Head, w.alice.Token, ndjson(t, header("x"), fileLine("a", "a")), http.StatusBadRequest, "", "not a branch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := srv.Refs(tt.repo)
			require.NoError(t, err)
			resp := postCommit(t, srv, tt.repo, tt.rev, tt.token, tt.body)
			require.Equal(t, tt.status, resp.status, "body: %s", resp.body)
			assert.Equal(t, tt.code, resp.header.Get("X-Error-Code"))
			assert.Contains(t, resp.header.Get("X-Error-Message"), tt.msg)
			after, err := srv.Refs(tt.repo)
			require.NoError(t, err)
			assert.Equal(t, before, after, "no ref moved")
		})
	}
}

func TestPreupload(t *testing.T) {
	w := newWorld(t)
	_, err := w.srv.Push(w.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{".gitignore": []byte("secret/\n*.tmp\n!keep.tmp\n")}})
	require.NoError(t, err)
	head, _ := w.srv.Ref("alice/tiny", "main")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	type file struct {
		Path         string
		UploadMode   string
		ShouldIgnore bool
		OID          *string
	}
	files := []map[string]any{
		{"path": "README.md", "size": 10, "sample": b64("# hello")},
		{"path": "model.safetensors", "size": 4096, "sample": b64("{}")},
		{"path": "big.txt", "size": 11 << 20, "sample": b64("text")},
		{"path": "blob.dat", "size": 100, "sample": b64("a\x00b")},
		{"path": "empty.bin", "size": 0, "sample": ""},
		{"path": "secret/key.txt", "size": 3, "sample": b64("key")},
		{"path": "x.tmp", "size": 3, "sample": b64("tmp")},
		{"path": "keep.tmp", "size": 3, "sample": b64("tmp")},
		{"path": "notes.txt", "size": 3, "sample": b64("abc")},
	}
	resp := call(t, http.MethodPost, w.srv.URL+"/api/models/alice/tiny/preupload/main", w.alice.Token, map[string]any{"files": files})
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	var out struct {
		CommitOid string
		Files     []file
	}
	resp.json(t, &out)
	assert.Equal(t, head, out.CommitOid)
	got := map[string]file{}
	for _, f := range out.Files {
		got[f.Path] = f
	}
	tests := []struct {
		path   string
		mode   string
		ignore bool
		oid    string
	}{
		{"README.md", "regular", false, "blob"},
		{"model.safetensors", "lfs", false, sha256Hex(w.weights)},
		{"big.txt", "lfs", false, ""},
		{"blob.dat", "lfs", false, ""},
		{"empty.bin", "regular", false, ""},
		{"secret/key.txt", "regular", true, ""},
		{"x.tmp", "regular", true, ""},
		{"keep.tmp", "regular", false, ""},
		{"notes.txt", "regular", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f, ok := got[tt.path]
			require.True(t, ok)
			assert.Equal(t, tt.mode, f.UploadMode)
			assert.Equal(t, tt.ignore, f.ShouldIgnore)
			switch tt.oid {
			case "":
				assert.Nil(t, f.OID)
			case "blob":
				require.NotNil(t, f.OID)
				assert.Regexp(t, `^[0-9a-f]{40}$`, *f.OID)
			default:
				require.NotNil(t, f.OID)
				assert.Equal(t, tt.oid, *f.OID)
			}
		})
	}

	t.Run("gitAttributes and gitIgnore from the request", func(t *testing.T) {
		resp := call(t, http.MethodPost, w.srv.URL+"/api/models/alice/tiny/preupload/main", w.alice.Token, map[string]any{
			"files":         []map[string]any{{"path": "notes.txt", "size": 3, "sample": b64("abc")}, {"path": "x.tmp", "size": 1, "sample": b64("a")}},
			"gitAttributes": "*.txt filter=lfs diff=lfs merge=lfs -text\n",
			"gitIgnore":     "",
		})
		require.Equal(t, http.StatusOK, resp.status)
		out.Files = nil
		resp.json(t, &out)
		assert.Equal(t, "lfs", out.Files[0].UploadMode)
		assert.False(t, out.Files[1].ShouldIgnore)
	})

	errorsTests := []struct {
		name   string
		url    string
		token  string
		body   any
		status int
	}{
		{"anonymous", "/preupload/main", "", map[string]any{"files": []any{}}, http.StatusUnauthorized},
		{"no write access", "/preupload/main", w.bob.Token, map[string]any{"files": []any{}}, http.StatusForbidden},
		{"no write access but create_pr", "/preupload/main?create_pr=1", w.bob.Token, map[string]any{"files": []any{}}, http.StatusOK},
		{"missing files", "/preupload/main", w.alice.Token, map[string]any{}, http.StatusBadRequest},
		{"bad json", "/preupload/main", w.alice.Token, "{", http.StatusBadRequest},
		{"bad path", "/preupload/main", w.alice.Token, map[string]any{"files": []map[string]any{{"path": "../x", "size": 1, "sample": ""}}}, http.StatusBadRequest},
		{"missing size", "/preupload/main", w.alice.Token, map[string]any{"files": []map[string]any{{"path": "x", "sample": ""}}}, http.StatusBadRequest},
		{"bad sample", "/preupload/main", w.alice.Token, map[string]any{"files": []map[string]any{{"path": "x", "size": 1, "sample": "!!"}}}, http.StatusBadRequest},
		{"missing revision", "/preupload/nope", w.alice.Token, map[string]any{"files": []any{}}, http.StatusNotFound},
	}
	for _, tt := range errorsTests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, http.MethodPost, w.srv.URL+"/api/models/alice/tiny"+tt.url, tt.token, tt.body)
			assert.Equal(t, tt.status, resp.status, "body: %s", resp.body)
		})
	}
}
