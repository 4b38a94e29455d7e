package hubtest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

const lfsType = "application/vnd.git-lfs+json"

type lfsAction struct {
	Href   string
	Header map[string]string
}

type lfsBatchObject struct {
	OID     string
	Size    int64
	Actions map[string]lfsAction
	Error   *struct {
		Code    int
		Message string
	}
}

type lfsBatchResponse struct {
	Transfer string
	Objects  []lfsBatchObject
}

// randomBytes returns n pseudo-random bytes. Large buffers repeat a random
// block whose length is prime, so that no two upload parts are equal while
// the race detector does not have to watch every byte being made.
func randomBytes(n int, seed uint64) []byte {
	var s [32]byte
	s[0] = byte(seed)
	block := make([]byte, min(n, 1_000_003))
	_, _ = rand.NewChaCha8(s).Read(block)
	buf := make([]byte, 0, n)
	for len(buf) < n {
		buf = append(buf, block[:min(len(block), n-len(buf))]...)
	}
	return buf
}

func lfsBatch(t *testing.T, srv *hubtest.Server, repoPath, token string, req map[string]any) (response, lfsBatchResponse) {
	t.Helper()
	raw, err := json.Marshal(req)
	require.NoError(t, err)
	resp := call(t, http.MethodPost, srv.URL+"/"+repoPath+".git/info/lfs/objects/batch", token, raw,
		"Content-Type", lfsType, "Accept", lfsType)
	var out lfsBatchResponse
	if resp.status == http.StatusOK {
		assert.Equal(t, lfsType, resp.header.Get("Content-Type"))
		resp.json(t, &out)
	}
	return resp, out
}

// uploadObject runs the upload actions of one batch object the way
// huggingface_hub does: a PUT, or parts then a completion POST, then verify.
func uploadObject(t *testing.T, obj lfsBatchObject, content []byte, token string) {
	t.Helper()
	up, ok := obj.Actions["upload"]
	require.True(t, ok, "upload action")
	client := &http.Client{}
	if chunkStr, ok := up.Header["chunk_size"]; ok {
		chunk, err := strconv.Atoi(chunkStr)
		require.NoError(t, err)
		var nums []int
		for k := range up.Header {
			if n, err := strconv.Atoi(k); err == nil {
				nums = append(nums, n)
			}
		}
		sort.Ints(nums)
		require.Len(t, nums, (len(content)+chunk-1)/chunk)
		type part struct {
			PartNumber int    `json:"partNumber"`
			ETag       string `json:"etag"`
		}
		parts := make([]part, len(nums))
		var wg sync.WaitGroup
		errs := make([]error, len(nums))
		for i, n := range nums {
			wg.Add(1)
			go func() { // parts go in parallel, as hf.js sends them
				defer wg.Done()
				slice := content[i*chunk : min((i+1)*chunk, len(content))]
				req, err := http.NewRequest(http.MethodPut, up.Header[fmt.Sprintf("%05d", n)], bytes.NewReader(slice))
				if err != nil {
					errs[i] = err
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					errs[i] = err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs[i] = fmt.Errorf("part %d: status %d", n, resp.StatusCode)
				}
				parts[i] = part{PartNumber: n, ETag: resp.Header.Get("ETag")}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		resp := call(t, http.MethodPost, up.Href, "", map[string]any{"oid": obj.OID, "parts": parts}, "Accept", lfsType)
		require.Equal(t, http.StatusOK, resp.status, "complete: %s", resp.body)
	} else {
		resp := call(t, http.MethodPut, up.Href, "", content)
		require.Equal(t, http.StatusOK, resp.status, "put: %s", resp.body)
		assert.NotEmpty(t, resp.header.Get("ETag"))
	}
	if verify, ok := obj.Actions["verify"]; ok {
		resp := call(t, http.MethodPost, verify.Href, token, map[string]any{"oid": obj.OID, "size": obj.Size})
		require.Equal(t, http.StatusOK, resp.status, "verify: %s", resp.body)
	}
}

func TestLFSRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		transfers []string
		path      string
		transfer  string
	}{
		{"basic", 1<<20 + 3, []string{"basic"}, "weights/small.dat", "basic"},
		{"multipart 50 MB", 50<<20 + 12345, []string{"basic", "multipart"}, "weights/model.safetensors", "multipart"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			srv := w.srv
			content := randomBytes(tt.size, uint64(i))
			oid := sha256Hex(content)

			resp := call(t, http.MethodPost, srv.URL+"/api/models/alice/tiny/preupload/main", w.alice.Token, map[string]any{
				"files": []map[string]any{{"path": tt.path, "size": tt.size, "sample": content[:512]}},
			})
			require.Equal(t, http.StatusOK, resp.status)
			var pre struct{ Files []struct{ UploadMode string } }
			resp.json(t, &pre)
			require.Equal(t, "lfs", pre.Files[0].UploadMode)

			batchReq := map[string]any{
				"operation": "upload", "transfers": tt.transfers, "hash_algo": "sha256",
				"objects": []map[string]any{{"oid": oid, "size": tt.size}}, "ref": map[string]any{"name": "main"},
			}
			resp, batch := lfsBatch(t, srv, "alice/tiny", w.alice.Token, batchReq)
			require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
			assert.Equal(t, tt.transfer, batch.Transfer)
			require.Len(t, batch.Objects, 1)
			up := batch.Objects[0].Actions["upload"]
			if tt.transfer == "basic" {
				assert.True(t, strings.HasPrefix(up.Href, srv.CDNURL+"/"), "upload goes to the CDN: %s", up.Href)
			} else {
				assert.True(t, strings.HasPrefix(up.Header["00001"], srv.CDNURL+"/"), "parts go to the CDN: %s", up.Header["00001"])
			}
			uploadObject(t, batch.Objects[0], content, w.alice.Token)

			_, again := lfsBatch(t, srv, "alice/tiny", w.alice.Token, batchReq)
			require.Len(t, again.Objects, 1)
			assert.Empty(t, again.Objects[0].Actions, "already uploaded: no actions")

			body := ndjson(t, header("Add weights"), map[string]any{"key": "lfsFile", "value": map[string]any{
				"path": tt.path, "algo": "sha256", "oid": oid, "size": tt.size,
			}})
			resp = postCommit(t, srv, "alice/tiny", "main", w.alice.Token, body)
			require.Equal(t, http.StatusOK, resp.status, "commit: %s", resp.body)
			var c commitResponse
			resp.json(t, &c)

			attrs, err := srv.File("alice/tiny", "main", ".gitattributes")
			require.NoError(t, err)
			if strings.HasSuffix(tt.path, ".safetensors") {
				assert.NotContains(t, string(attrs), tt.path, "already tracked by a pattern")
			} else {
				assert.Contains(t, string(attrs), "/"+tt.path+" filter=lfs diff=lfs merge=lfs -text\n")
			}
			raw := call(t, http.MethodGet, srv.URL+"/alice/tiny/raw/main/"+tt.path, "", nil)
			require.Equal(t, http.StatusOK, raw.status)
			assert.Equal(t, fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", oid, tt.size), string(raw.body))

			res := call(t, http.MethodGet, srv.URL+"/alice/tiny/resolve/main/"+tt.path, w.alice.Token, nil)
			require.Equal(t, http.StatusFound, res.status)
			assert.Equal(t, c.CommitOid, res.header.Get("X-Repo-Commit"))
			assert.Equal(t, `"`+oid+`"`, res.header.Get("X-Linked-Etag"))
			assert.Equal(t, strconv.Itoa(tt.size), res.header.Get("X-Linked-Size"))
			location := res.header.Get("Location")
			require.True(t, strings.HasPrefix(location, srv.CDNURL+"/"), location)

			dl, err := http.Get(location)
			require.NoError(t, err)
			h := sha256.New()
			n, err := io.Copy(h, dl.Body)
			dl.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, dl.StatusCode)
			assert.Equal(t, int64(tt.size), n)
			assert.Equal(t, oid, hex.EncodeToString(h.Sum(nil)))

			rng := call(t, http.MethodGet, location, "", nil, "Range", "bytes=100-199")
			assert.Equal(t, http.StatusPartialContent, rng.status)
			assert.Equal(t, content[100:200], rng.body)

			head := call(t, http.MethodHead, srv.URL+"/alice/tiny/resolve/main/"+tt.path, "", nil)
			assert.Equal(t, http.StatusFound, head.status)
			assert.Equal(t, strconv.Itoa(tt.size), head.header.Get("X-Linked-Size"))

			_, down := lfsBatch(t, srv, "alice/tiny", "", map[string]any{
				"operation": "download", "objects": []map[string]any{{"oid": oid, "size": tt.size}},
			})
			require.Len(t, down.Objects, 1)
			resp = call(t, http.MethodGet, down.Objects[0].Actions["download"].Href, "", nil, "Range", "bytes=0-9")
			assert.Equal(t, content[:10], resp.body)

			for _, r := range srv.CDNRequests() {
				assert.Empty(t, r.Header.Get("Authorization"), "%s %s carried credentials to the CDN", r.Method, r.Path)
			}
			stored, err := srv.LFSObject(oid)
			require.NoError(t, err)
			assert.Equal(t, len(content), len(stored))
		})
	}
}

func TestLFSBatchErrors(t *testing.T) {
	w := newWorld(t)
	srv := w.srv
	oid := sha256Hex([]byte("x"))
	upload := func(ref string) map[string]any {
		req := map[string]any{"operation": "upload", "transfers": []string{"basic"}, "objects": []map[string]any{{"oid": oid, "size": 1}}}
		if ref != "" {
			req["ref"] = map[string]any{"name": ref}
		}
		return req
	}
	tests := []struct {
		name   string
		repo   string
		token  string
		req    any
		status int
	}{
		{"anonymous upload", "alice/tiny", "", upload("main"), http.StatusUnauthorized},
		{"upload without write access", "alice/tiny", w.bob.Token, upload("main"), http.StatusForbidden},
		{"upload for a new pr", "alice/tiny", w.bob.Token, upload(""), http.StatusOK},
		{"upload to a pr of someone else", "alice/tiny", w.bob.Token, upload("refs/pr/7"), http.StatusForbidden},
		{"private anonymous", "acme/secret", "", map[string]any{"operation": "download", "objects": []any{}}, http.StatusUnauthorized},
		{"private foreign", "acme/secret", w.bob.Token, map[string]any{"operation": "download", "objects": []any{}}, http.StatusNotFound},
		{"private member", "acme/secret", w.carol.Token, map[string]any{"operation": "download", "objects": []any{}}, http.StatusOK},
		{"bad operation", "alice/tiny", w.alice.Token, map[string]any{"operation": "delete", "objects": []any{}}, http.StatusBadRequest},
		{"no objects", "alice/tiny", w.alice.Token, map[string]any{"operation": "upload"}, http.StatusBadRequest},
		{"bad hash algo", "alice/tiny", w.alice.Token, map[string]any{"operation": "upload", "hash_algo": "md5", "objects": []any{}}, http.StatusConflict},
		{"bad token", "alice/tiny", "hf_bad", upload("main"), http.StatusUnauthorized},
		{"missing repo", "alice/nope", w.alice.Token, upload("main"), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.req)
			require.NoError(t, err)
			resp := call(t, http.MethodPost, srv.URL+"/"+tt.repo+".git/info/lfs/objects/batch", tt.token, raw, "Content-Type", lfsType)
			assert.Equal(t, tt.status, resp.status, "body: %s", resp.body)
			if tt.status == http.StatusUnauthorized {
				assert.NotEmpty(t, resp.header.Get("LFS-Authenticate"))
			}
		})
	}
	resp := call(t, http.MethodPost, srv.URL+"/alice/tiny.git/info/lfs/objects/batch", w.alice.Token, "{nope", "Content-Type", lfsType)
	assert.Equal(t, http.StatusBadRequest, resp.status)

	t.Run("per-object errors", func(t *testing.T) {
		_, out := lfsBatch(t, srv, "alice/tiny", w.alice.Token, map[string]any{
			"operation": "download",
			"objects":   []map[string]any{{"oid": "NOTHEX", "size": 1}, {"oid": oid, "size": 1}, {"oid": sha256Hex(w.weights), "size": len(w.weights)}},
		})
		require.Len(t, out.Objects, 3)
		require.NotNil(t, out.Objects[0].Error)
		assert.Equal(t, http.StatusUnprocessableEntity, out.Objects[0].Error.Code)
		require.NotNil(t, out.Objects[1].Error)
		assert.Equal(t, http.StatusNotFound, out.Objects[1].Error.Code)
		assert.Nil(t, out.Objects[2].Error)
		assert.NotEmpty(t, out.Objects[2].Actions["download"].Href)
	})
}

// clock is a settable time source for Options.Clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestCDN(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	srv, err := hubtest.New(hubtest.Options{Clock: clk.Now, MultipartThreshold: 100, MultipartChunkSize: 64})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	alice := srv.AddUser("alice")
	for _, id := range []string{"alice/a", "alice/b"} {
		_, err := srv.CreateRepo(alice, hubtest.RepoSpec{ID: id})
		require.NoError(t, err)
	}
	content := randomBytes(200, 7)
	oid := sha256Hex(content)
	basicReq := map[string]any{"operation": "upload", "transfers": []string{"basic"}, "objects": []map[string]any{{"oid": oid, "size": len(content)}}}
	_, batch := lfsBatch(t, srv, "alice/a", alice.Token, basicReq)
	href := batch.Objects[0].Actions["upload"].Href

	t.Run("wrong content is refused and not stored", func(t *testing.T) {
		bad := bytes.Clone(content)
		bad[0] ^= 1
		resp := call(t, http.MethodPut, href, "", bad)
		assert.Equal(t, http.StatusBadRequest, resp.status)
		_, err := srv.LFSObject(oid)
		assert.Error(t, err)
		resp = call(t, http.MethodPut, href, "", content[:100])
		assert.Equal(t, http.StatusBadRequest, resp.status, "short body")
	})
	t.Run("tampered signature", func(t *testing.T) {
		resp := call(t, http.MethodPut, strings.Replace(href, "X-Amz-Signature=", "X-Amz-Signature=0", 1), "", content)
		assert.Equal(t, http.StatusForbidden, resp.status)
		resp = call(t, http.MethodGet, href, "", nil)
		assert.Equal(t, http.StatusForbidden, resp.status, "a PUT url does not allow GET")
	})
	t.Run("credentials sent to the cdn are recorded", func(t *testing.T) {
		srv.ResetRequests()
		resp := call(t, http.MethodPut, href, alice.Token, content)
		require.Equal(t, http.StatusOK, resp.status)
		reqs := srv.CDNRequests()
		require.Len(t, reqs, 1)
		assert.Equal(t, "Bearer "+alice.Token, reqs[0].Header.Get("Authorization"))
		assert.Equal(t, "alice", reqs[0].User)
		assert.Equal(t, "cdn", reqs[0].Listener)
	})
	t.Run("objects belong to the repo they were uploaded to", func(t *testing.T) {
		_, again := lfsBatch(t, srv, "alice/a", alice.Token, basicReq)
		assert.Empty(t, again.Objects[0].Actions)
		_, other := lfsBatch(t, srv, "alice/b", alice.Token, basicReq)
		assert.NotEmpty(t, other.Objects[0].Actions["upload"].Href, "another repo must upload it too")
		body := ndjson(t, header("x"), map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.dat", "oid": oid, "size": len(content)}})
		resp := postCommit(t, srv, "alice/b", "main", alice.Token, body)
		assert.Equal(t, http.StatusBadRequest, resp.status)
	})
	t.Run("multipart errors", func(t *testing.T) {
		content := randomBytes(150, 8)
		oid := sha256Hex(content)
		_, batch := lfsBatch(t, srv, "alice/b", alice.Token, map[string]any{
			"operation": "upload", "transfers": []string{"basic", "multipart"}, "objects": []map[string]any{{"oid": oid, "size": len(content)}},
		})
		up := batch.Objects[0].Actions["upload"]
		require.Equal(t, "64", up.Header["chunk_size"])
		require.Contains(t, up.Header, "00003")
		resp := call(t, http.MethodPut, up.Header["00001"], "", content[:10])
		assert.Equal(t, http.StatusBadRequest, resp.status, "short part")
		var etags []string
		for i, part := range [][]byte{content[:64], content[64:128], content[128:]} {
			resp := call(t, http.MethodPut, up.Header[fmt.Sprintf("%05d", i+1)], "", part)
			require.Equal(t, http.StatusOK, resp.status)
			etags = append(etags, resp.header.Get("ETag"))
		}
		complete := func(parts []map[string]any) response {
			return call(t, http.MethodPost, up.Href, "", map[string]any{"oid": oid, "parts": parts})
		}
		resp = complete([]map[string]any{{"partNumber": 1, "etag": etags[0]}, {"partNumber": 2, "etag": etags[1]}})
		assert.Equal(t, http.StatusBadRequest, resp.status, "missing part")
		resp = complete([]map[string]any{{"partNumber": 1, "etag": etags[0]}, {"partNumber": 2, "etag": `"bad"`}, {"partNumber": 3, "etag": etags[2]}})
		assert.Equal(t, http.StatusBadRequest, resp.status, "wrong etag")
		resp = complete([]map[string]any{{"partNumber": 1, "etag": etags[0]}, {"partNumber": 2, "etag": etags[1]}, {"partNumber": 3, "etag": etags[2]}})
		require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
		got, err := srv.LFSObject(oid)
		require.NoError(t, err)
		assert.Equal(t, content, got)
	})
	t.Run("presigned urls expire", func(t *testing.T) {
		_, batch := lfsBatch(t, srv, "alice/a", alice.Token, map[string]any{"operation": "download", "objects": []map[string]any{{"oid": oid, "size": len(content)}}})
		dl := batch.Objects[0].Actions["download"].Href
		assert.Equal(t, http.StatusOK, call(t, http.MethodGet, dl, "", nil).status)
		clk.Add(2 * time.Hour)
		assert.Equal(t, http.StatusForbidden, call(t, http.MethodGet, dl, "", nil).status)
	})
}
