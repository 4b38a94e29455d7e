package hubtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

func TestWhoami(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.srv.AddToken(w.carol, "hf_carol_read", hubtest.RoleRead))
	tests := []struct {
		name     string
		token    string
		status   int
		wantName string
		wantRole string
		wantOrgs []string
	}{
		{"write token", w.alice.Token, http.StatusOK, "alice", "write", []string{"acme"}},
		{"read token", "hf_carol_read", http.StatusOK, "carol", "read", []string{"acme"}},
		{"no orgs", w.bob.Token, http.StatusOK, "bob", "write", nil},
		{"bad token", "hf_nope", http.StatusUnauthorized, "", "", nil},
		{"no token", "", http.StatusUnauthorized, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, http.MethodGet, w.srv.URL+"/api/whoami-v2", tt.token, nil)
			require.Equal(t, tt.status, resp.status, "body: %s", resp.body)
			assert.NotEmpty(t, resp.header.Get("X-Request-Id"))
			if tt.status != http.StatusOK {
				assert.Equal(t, "Invalid credentials in Authorization header", resp.header.Get("X-Error-Message"))
				return
			}
			var who struct {
				Type, ID, Name string
				Orgs           []struct{ Name, Type string }
				Auth           struct {
					Type        string
					AccessToken struct{ Role string }
				}
			}
			resp.json(t, &who)
			assert.Equal(t, "user", who.Type)
			assert.Equal(t, tt.wantName, who.Name)
			assert.Regexp(t, `^[0-9a-f]{24}$`, who.ID)
			assert.Equal(t, tt.wantRole, who.Auth.AccessToken.Role)
			var orgs []string
			for _, o := range who.Orgs {
				orgs = append(orgs, o.Name)
			}
			assert.Equal(t, tt.wantOrgs, orgs)
		})
	}
	resp := call(t, http.MethodGet, w.srv.URL+"/api/whoami-v2", "", nil, "Authorization", "Basic "+basicAuth("x", w.alice.Token))
	assert.Equal(t, http.StatusOK, resp.status, "basic auth with the token as password")
}

func TestRepoAccess(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name     string
		path     string
		token    string
		status   int
		wantCode string
	}{
		{"public anonymous", "/api/models/alice/tiny", "", http.StatusOK, ""},
		{"public with token", "/api/models/alice/tiny", w.bob.Token, http.StatusOK, ""},
		{"missing anonymous", "/api/models/alice/nope", "", http.StatusUnauthorized, "RepoNotFound"},
		{"missing with token", "/api/models/alice/nope", w.bob.Token, http.StatusNotFound, "RepoNotFound"},
		{"wrong type", "/api/datasets/alice/tiny", w.alice.Token, http.StatusNotFound, "RepoNotFound"},
		{"private anonymous", "/api/models/acme/secret", "", http.StatusUnauthorized, "RepoNotFound"},
		{"private foreign token", "/api/models/acme/secret", w.bob.Token, http.StatusNotFound, "RepoNotFound"},
		{"private org admin", "/api/models/acme/secret", w.alice.Token, http.StatusOK, ""},
		{"private org read member", "/api/models/acme/secret", w.carol.Token, http.StatusOK, ""},
		{"private file anonymous", "/acme/secret/resolve/main/README.md", "", http.StatusUnauthorized, "RepoNotFound"},
		{"private file foreign", "/acme/secret/resolve/main/README.md", w.bob.Token, http.StatusNotFound, "RepoNotFound"},
		{"bad token on public", "/api/models/alice/tiny", "hf_bad", http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, http.MethodGet, w.srv.URL+tt.path, tt.token, nil)
			require.Equal(t, tt.status, resp.status, "body: %s", resp.body)
			assert.NotEmpty(t, resp.header.Get("X-Request-Id"))
			assert.Equal(t, tt.wantCode, resp.header.Get("X-Error-Code"))
			if tt.status >= 400 {
				var e struct{ Error string }
				resp.json(t, &e)
				assert.NotEmpty(t, e.Error)
				assert.Equal(t, e.Error, resp.header.Get("X-Error-Message"))
			}
		})
	}
}

func TestRepoInfo(t *testing.T) {
	w := newWorld(t)
	pr, err := w.srv.OpenPR(w.alice, "alice/tiny", "Add extra", "", hubtest.Change{Files: map[string][]byte{"extra.txt": []byte("x")}})
	require.NoError(t, err)

	var info struct {
		ID, Author, Sha, PipelineTag string
		LibraryName                  string `json:"library_name"`
		PipelineTag2                 string `json:"pipeline_tag"`
		Private                      bool
		Tags                         []string
		CardData                     map[string]any
		Siblings                     []struct {
			Rfilename string
			Size      *int64
			BlobID    string `json:"blobId"`
			LFS       *struct {
				Sha256      string
				Size        int64
				PointerSize int64
			}
		}
	}
	resp := call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	resp.json(t, &info)
	assert.Equal(t, "alice/tiny", info.ID)
	assert.Equal(t, "alice", info.Author)
	assert.Equal(t, w.tiny.Head, info.Sha)
	assert.Equal(t, "transformers", info.LibraryName)
	assert.Equal(t, "text-generation", info.PipelineTag2)
	assert.Equal(t, "mit", info.CardData["license"])
	assert.ElementsMatch(t, []string{"transformers", "tiny", "license:mit"}, info.Tags)
	var names []string
	for _, s := range info.Siblings {
		names = append(names, s.Rfilename)
		assert.Nil(t, s.Size, "size only with blobs=true")
	}
	assert.ElementsMatch(t, []string{".gitattributes", "README.md", "config.json", "model.safetensors", "sub/dir/notes.txt"}, names)

	t.Run("blobs", func(t *testing.T) {
		resp := call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny?blobs=true", "", nil)
		require.Equal(t, http.StatusOK, resp.status)
		info.Siblings = nil
		resp.json(t, &info)
		for _, s := range info.Siblings {
			require.NotNil(t, s.Size, s.Rfilename)
			assert.Regexp(t, `^[0-9a-f]{40}$`, s.BlobID)
			if s.Rfilename == "model.safetensors" {
				require.NotNil(t, s.LFS)
				assert.Equal(t, int64(len(w.weights)), s.LFS.Size)
				assert.Equal(t, int64(len(w.weights)), *s.Size, "size is the real size")
				assert.Equal(t, sha256Hex(w.weights), s.LFS.Sha256)
				assert.Positive(t, s.LFS.PointerSize)
			} else {
				assert.Nil(t, s.LFS, s.Rfilename)
			}
		}
	})

	revisions := []struct {
		name, rev string
		status    int
		sha       string
		code      string
	}{
		{"branch", "main", http.StatusOK, w.tiny.Head, ""},
		{"encoded pr ref", url.PathEscape("refs/pr/1"), http.StatusOK, pr.SHA, ""},
		{"full sha", pr.SHA, http.StatusOK, pr.SHA, ""},
		{"HEAD", "HEAD", http.StatusOK, w.tiny.Head, ""},
		{"missing branch", "nope", http.StatusNotFound, "", "RevisionNotFound"},
		{"missing pr", url.PathEscape("refs/pr/9"), http.StatusNotFound, "", "RevisionNotFound"},
		{"unknown sha", strings.Repeat("ab", 20), http.StatusNotFound, "", "RevisionNotFound"},
	}
	for _, tt := range revisions {
		t.Run("revision "+tt.name, func(t *testing.T) {
			resp := call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/revision/"+tt.rev, "", nil)
			require.Equal(t, tt.status, resp.status, "body: %s", resp.body)
			assert.Equal(t, tt.code, resp.header.Get("X-Error-Code"))
			if tt.status == http.StatusOK {
				var got struct{ Sha string }
				resp.json(t, &got)
				assert.Equal(t, tt.sha, got.Sha)
			}
		})
	}

	t.Run("expand", func(t *testing.T) {
		resp := call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny?expand=sha&expand=private", "", nil)
		require.Equal(t, http.StatusOK, resp.status)
		var got map[string]any
		resp.json(t, &got)
		assert.Equal(t, map[string]any{"_id": w.tiny.ID, "id": "alice/tiny", "sha": w.tiny.Head, "private": false}, got)
	})

	t.Run("dataset and space", func(t *testing.T) {
		_, err := w.srv.CreateRepo(w.alice, hubtest.RepoSpec{ID: "alice/data", Type: hubtest.TypeDataset})
		require.NoError(t, err)
		_, err = w.srv.CreateRepo(w.alice, hubtest.RepoSpec{ID: "alice/My_App", Type: hubtest.TypeSpace, SDK: "docker"})
		require.NoError(t, err)
		resp := call(t, http.MethodGet, w.srv.URL+"/api/datasets/alice/data", "", nil)
		require.Equal(t, http.StatusOK, resp.status)
		resp = call(t, http.MethodGet, w.srv.URL+"/api/spaces/alice/My_App", "", nil)
		require.Equal(t, http.StatusOK, resp.status)
		var space struct{ SDK, Subdomain string }
		resp.json(t, &space)
		assert.Equal(t, "docker", space.SDK)
		assert.Equal(t, "alice-my-app", space.Subdomain)
	})
}

type treeEntry struct {
	Type string
	OID  string
	Size int64
	Path string
	LFS  *struct {
		OID         string
		Size        int64
		PointerSize int64
	}
	LastCommit *struct{ ID, Title string }
}

func TestTree(t *testing.T) {
	w := newWorld(t)
	base := w.srv.URL + "/api/models/alice/tiny/tree/main"
	paths := func(entries []treeEntry) []string {
		var out []string
		for _, e := range entries {
			out = append(out, e.Type[:1]+":"+e.Path)
		}
		return out
	}
	tests := []struct {
		name string
		url  string
		want []string
	}{
		{"root", base, []string{"f:.gitattributes", "f:README.md", "f:config.json", "f:model.safetensors", "d:sub"}},
		{"recursive", base + "?recursive=true", []string{"f:.gitattributes", "f:README.md", "f:config.json", "f:model.safetensors", "d:sub", "d:sub/dir", "f:sub/dir/notes.txt"}},
		{"sub path", base + "/sub", []string{"d:sub/dir"}},
		{"encoded sub path", base + "/sub%2Fdir", []string{"f:sub/dir/notes.txt"}},
		{"sub path recursive", base + "/sub?recursive=1", []string{"d:sub/dir", "f:sub/dir/notes.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, http.MethodGet, tt.url, "", nil)
			require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
			assert.Equal(t, w.tiny.Head, resp.header.Get("X-Repo-Commit"))
			var entries []treeEntry
			resp.json(t, &entries)
			assert.Equal(t, tt.want, paths(entries))
		})
	}

	t.Run("lfs entry", func(t *testing.T) {
		var entries []treeEntry
		call(t, http.MethodGet, base, "", nil).json(t, &entries)
		for _, e := range entries {
			if e.Path == "model.safetensors" {
				require.NotNil(t, e.LFS)
				assert.Equal(t, sha256Hex(w.weights), e.LFS.OID)
				assert.Equal(t, int64(len(w.weights)), e.Size)
				assert.Equal(t, int64(len(w.weights)), e.LFS.Size)
				assert.Less(t, e.LFS.PointerSize, int64(200))
				return
			}
		}
		t.Fatal("model.safetensors not listed")
	})

	t.Run("pagination", func(t *testing.T) {
		var all []treeEntry
		next := base + "?recursive=true&limit=3"
		pages := 0
		for next != "" {
			resp := call(t, http.MethodGet, next, "", nil)
			require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
			var page []treeEntry
			resp.json(t, &page)
			assert.LessOrEqual(t, len(page), 3)
			all = append(all, page...)
			next = nextLink(resp.header.Get("Link"))
			pages++
		}
		assert.Equal(t, 3, pages)
		assert.Equal(t, tests[1].want, paths(all))
	})

	t.Run("expand", func(t *testing.T) {
		var entries []treeEntry
		call(t, http.MethodGet, base+"?expand=true", "", nil).json(t, &entries)
		require.NotEmpty(t, entries)
		for _, e := range entries {
			require.NotNil(t, e.LastCommit, e.Path)
			if e.Path == ".gitattributes" {
				assert.Equal(t, "initial commit", e.LastCommit.Title)
			} else {
				assert.Equal(t, w.tiny.Head, e.LastCommit.ID, e.Path)
			}
		}
	})

	errorsTests := []struct {
		name   string
		url    string
		status int
		code   string
	}{
		{"missing path", base + "/nope", http.StatusNotFound, "EntryNotFound"},
		{"file path", base + "/README.md", http.StatusNotFound, "EntryNotFound"},
		{"missing revision", w.srv.URL + "/api/models/alice/tiny/tree/nope", http.StatusNotFound, "RevisionNotFound"},
		{"bad cursor", base + "?cursor=!!", http.StatusBadRequest, ""},
		{"bad limit", base + "?limit=-1", http.StatusBadRequest, ""},
	}
	for _, tt := range errorsTests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, http.MethodGet, tt.url, "", nil)
			assert.Equal(t, tt.status, resp.status, "body: %s", resp.body)
			assert.Equal(t, tt.code, resp.header.Get("X-Error-Code"))
		})
	}
}

var linkPattern = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

func nextLink(h string) string {
	if m := linkPattern.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}

func TestCommitsList(t *testing.T) {
	w := newWorld(t)
	var shas []string
	for i := range 3 {
		sha, err := w.srv.Push(w.alice, "alice/tiny", "main", hubtest.Change{
			Files: map[string][]byte{"n.txt": []byte(fmt.Sprint(i))}, Message: fmt.Sprintf("Change %d", i), Description: "Body\nline",
		})
		require.NoError(t, err)
		shas = append(shas, sha)
	}
	type commit struct {
		ID, Title, Message, Date string
		Authors                  []struct{ User string }
	}
	resp := call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/commits/main?limit=2", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	var page1 []commit
	resp.json(t, &page1)
	require.Len(t, page1, 2)
	assert.Equal(t, shas[2], page1[0].ID)
	assert.Equal(t, "Change 2", page1[0].Title)
	assert.Equal(t, "Body\nline", page1[0].Message)
	assert.Equal(t, "alice", page1[0].Authors[0].User)
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, page1[0].Date)
	next := nextLink(resp.header.Get("Link"))
	require.NotEmpty(t, next)
	assert.Contains(t, next, "p=1")

	var all []commit
	all = append(all, page1...)
	for next != "" {
		resp = call(t, http.MethodGet, next, "", nil)
		require.Equal(t, http.StatusOK, resp.status)
		var page []commit
		resp.json(t, &page)
		all = append(all, page...)
		next = nextLink(resp.header.Get("Link"))
	}
	require.Len(t, all, 5, "3 pushes, the files commit and the initial commit")
	assert.Equal(t, "initial commit", all[4].Title)
	assert.Equal(t, "system", all[4].Authors[0].User)

	resp = call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/commits/nope", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.status)
	assert.Equal(t, "RevisionNotFound", resp.header.Get("X-Error-Code"))
}

func TestCompare(t *testing.T) {
	w := newWorld(t)
	big := make([]byte, 2000)
	big[10] = 0 // binary
	sha, err := w.srv.Push(w.alice, "alice/tiny", "main", hubtest.Change{
		Files: map[string][]byte{
			"README.md":     []byte("# changed\n"),
			"new.bin":       append([]byte("weights"), make([]byte, 100)...),
			"raw/blob.data": big,
		},
		Delete: []string{"config.json"},
	})
	require.NoError(t, err)
	spec := w.tiny.Head + ".." + sha

	resp := call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/compare/"+spec+"?raw=true", "", nil)
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	line := regexp.MustCompile(`^([TB]) (\d+)\t:(\d{6}) (\d{6}) ([0-9a-f]{40})\.\.\. ([0-9a-f]{40})\.\.\. ([ADM])\t(.+)$`)
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(string(resp.body), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		require.NotNil(t, m, "line %q", l)
		got[m[8]] = m[7] + " " + m[1] + " " + m[2]
	}
	assert.Equal(t, "M T 10", got["README.md"])
	assert.Equal(t, "D T 21", got["config.json"], "a deletion reports the old size")
	assert.Equal(t, "A T 107", got["new.bin"], "an LFS file reports its real size")
	assert.Equal(t, "A B 2000", got["raw/blob.data"])
	assert.Len(t, got, 4)

	resp = call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/compare/"+spec, "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	assert.Contains(t, string(resp.body), "diff --git a/README.md b/README.md")
	assert.Contains(t, string(resp.body), "+# changed")

	resp = call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/compare/main..main?raw=true", "", nil)
	assert.Equal(t, http.StatusOK, resp.status)
	assert.Empty(t, resp.body)

	resp = call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/compare/main", "", nil)
	assert.Equal(t, http.StatusBadRequest, resp.status)
	resp = call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/compare/main..nope", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.status)
	assert.Equal(t, "RevisionNotFound", resp.header.Get("X-Error-Code"))
}

func TestRefs(t *testing.T) {
	w := newWorld(t)
	_, err := w.srv.OpenPR(w.bob, "alice/tiny", "Bob's change", "desc", hubtest.Change{Files: map[string][]byte{"b.txt": []byte("b")}})
	require.NoError(t, err)
	_, err = w.srv.Push(w.alice, "alice/tiny", "dev", hubtest.Change{Files: map[string][]byte{"d.txt": []byte("d")}})
	require.NoError(t, err)

	type ref struct{ Name, Ref, TargetCommit string }
	var refs map[string][]ref
	call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/refs", "", nil).json(t, &refs)
	assert.NotContains(t, refs, "pullRequests")
	require.Len(t, refs["branches"], 2)
	assert.Equal(t, "dev", refs["branches"][0].Name)
	assert.Equal(t, "refs/heads/main", refs["branches"][1].Ref)
	assert.Equal(t, w.tiny.Head, refs["branches"][1].TargetCommit)
	assert.Empty(t, refs["tags"])
	assert.Empty(t, refs["converts"])

	call(t, http.MethodGet, w.srv.URL+"/api/models/alice/tiny/refs?include_prs=1", "", nil).json(t, &refs)
	require.Len(t, refs["pullRequests"], 1)
	assert.Equal(t, "refs/pr/1", refs["pullRequests"][0].Ref)
}

func TestListRepos(t *testing.T) {
	w := newWorld(t)
	for _, name := range []string{"alice/b", "alice/c"} {
		_, err := w.srv.CreateRepo(w.alice, hubtest.RepoSpec{ID: name})
		require.NoError(t, err)
	}
	_, err := w.srv.CreateRepo(w.bob, hubtest.RepoSpec{ID: "bob/x"})
	require.NoError(t, err)
	_, err = w.srv.CreateRepo(w.alice, hubtest.RepoSpec{ID: "acme/data", Type: hubtest.TypeDataset})
	require.NoError(t, err)

	list := func(url, token string) []string {
		var ids []string
		for url != "" {
			resp := call(t, http.MethodGet, url, token, nil)
			require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
			var page []struct{ ID string }
			resp.json(t, &page)
			for _, r := range page {
				ids = append(ids, r.ID)
			}
			url = nextLink(resp.header.Get("Link"))
		}
		return ids
	}
	assert.Equal(t, []string{"alice/tiny", "alice/b", "alice/c"}, list(w.srv.URL+"/api/models?author=alice", ""))
	assert.Equal(t, []string{"alice/tiny", "alice/b", "alice/c"}, list(w.srv.URL+"/api/models?author=alice&limit=1", ""), "following Link")
	assert.Empty(t, list(w.srv.URL+"/api/models?author=acme", ""), "private repos are hidden")
	assert.Equal(t, []string{"acme/secret"}, list(w.srv.URL+"/api/models?author=acme", w.carol.Token))
	assert.Equal(t, []string{"acme/data"}, list(w.srv.URL+"/api/datasets?author=acme", ""))
	assert.Empty(t, list(w.srv.URL+"/api/spaces?author=acme", ""))
	assert.Equal(t, []string{"alice/b"}, list(w.srv.URL+"/api/models?search=/b", ""))
}

func TestOrgsAndUsers(t *testing.T) {
	w := newWorld(t)
	resp := call(t, http.MethodGet, w.srv.URL+"/api/organizations/acme/members", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	var members []struct{ ID, User, Type, Role string }
	resp.json(t, &members)
	require.Len(t, members, 2)
	assert.Equal(t, "alice", members[0].User)
	assert.Equal(t, "admin", members[0].Role)
	assert.Equal(t, "carol", members[1].User)
	assert.Equal(t, "read", members[1].Role)
	assert.Equal(t, "user", members[1].Type)

	resp = call(t, http.MethodGet, w.srv.URL+"/api/organizations/acme/members?limit=1", "", nil)
	members = nil
	resp.json(t, &members)
	require.Len(t, members, 1)
	next := nextLink(resp.header.Get("Link"))
	require.NotEmpty(t, next)
	members = nil
	call(t, http.MethodGet, next, "", nil).json(t, &members)
	require.Len(t, members, 1)
	assert.Equal(t, "carol", members[0].User)

	resp = call(t, http.MethodGet, w.srv.URL+"/api/organizations/nope/members", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.status)

	var overview struct {
		User, Type string
		Orgs       []struct{ Name string }
	}
	resp = call(t, http.MethodGet, w.srv.URL+"/api/users/carol/overview", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	resp.json(t, &overview)
	assert.Equal(t, "carol", overview.User)
	assert.Equal(t, "user", overview.Type)
	require.Len(t, overview.Orgs, 1)
	assert.Equal(t, "acme", overview.Orgs[0].Name)

	resp = call(t, http.MethodGet, w.srv.URL+"/api/users/nobody/overview", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.status)

	var org struct {
		Name     string
		NumUsers int
	}
	call(t, http.MethodGet, w.srv.URL+"/api/organizations/acme/overview", "", nil).json(t, &org)
	assert.Equal(t, "acme", org.Name)
	assert.Equal(t, 2, org.NumUsers)
}

func TestPathsInfo(t *testing.T) {
	w := newWorld(t)
	resp := call(t, http.MethodPost, w.srv.URL+"/api/models/alice/tiny/paths-info/main", "",
		map[string]any{"paths": []string{"README.md", "model.safetensors", "missing"}})
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	var entries []treeEntry
	resp.json(t, &entries)
	require.Len(t, entries, 2)
	assert.Equal(t, "README.md", entries[0].Path)
	require.NotNil(t, entries[1].LFS)

	form := url.Values{"paths": {"config.json"}}
	resp = call(t, http.MethodPost, w.srv.URL+"/api/models/alice/tiny/paths-info/main", "", form.Encode(),
		"Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusOK, resp.status)
	entries = nil
	resp.json(t, &entries)
	require.Len(t, entries, 1)
	assert.Equal(t, "config.json", entries[0].Path)
}

func TestCreateRepoAPI(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name   string
		token  string
		body   map[string]any
		status int
	}{
		{"user repo", w.bob.Token, map[string]any{"name": "new", "type": "model"}, http.StatusOK},
		{"org repo as member", w.alice.Token, map[string]any{"name": "ds", "organization": "acme", "type": "dataset", "private": true}, http.StatusOK},
		{"org repo as stranger", w.bob.Token, map[string]any{"name": "x", "organization": "acme"}, http.StatusForbidden},
		{"duplicate", w.alice.Token, map[string]any{"name": "tiny"}, http.StatusConflict},
		{"anonymous", "", map[string]any{"name": "anon"}, http.StatusUnauthorized},
		{"no name", w.bob.Token, map[string]any{"type": "model"}, http.StatusBadRequest},
		{"bad name", w.bob.Token, map[string]any{"name": "../x"}, http.StatusBadRequest},
		{"space without sdk", w.bob.Token, map[string]any{"name": "sp", "type": "space"}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, http.MethodPost, w.srv.URL+"/api/repos/create", tt.token, tt.body)
			assert.Equal(t, tt.status, resp.status, "body: %s", resp.body)
		})
	}
	resp := call(t, http.MethodGet, w.srv.URL+"/api/datasets/acme/ds", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.status, "created private")
	resp = call(t, http.MethodGet, w.srv.URL+"/api/models/bob/new", "", nil)
	assert.Equal(t, http.StatusOK, resp.status)
}
