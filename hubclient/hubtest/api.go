package hubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pathSegments splits an escaped path into its escaped segments.
func pathSegments(escaped string) []string {
	escaped = strings.Trim(escaped, "/")
	if escaped == "" {
		return nil
	}
	return strings.Split(escaped, "/")
}

// unescapeAll decodes each escaped segment and joins them with "/", so that
// "refs%2Fpr%2F3" and "refs/pr/3" give the same revision.
func unescapeAll(segs []string) (string, error) {
	parts := make([]string, len(segs))
	for i, seg := range segs {
		p, err := url.PathUnescape(seg)
		if err != nil {
			return "", errBadRequest(fmt.Sprintf("invalid path segment %q", seg))
		}
		parts[i] = p
	}
	return strings.Join(parts, "/"), nil
}

// splitRevision reads a revision at the start of segs, followed by a path:
// one segment, percent-encoded, except that refs/pr/N and refs/convert/X
// are matched eagerly even when not encoded, as on the Hub.
func splitRevision(segs []string) (rev string, rest []string, err error) {
	if len(segs) == 0 {
		return "", nil, errBadRequest("missing revision")
	}
	if len(segs) >= 3 && segs[0] == "refs" && (segs[1] == "pr" || segs[1] == "convert") {
		rev, err = unescapeAll(segs[:3])
		return rev, segs[3:], err
	}
	rev, err = unescapeAll(segs[:1])
	return rev, segs[1:], err
}

// decodeJSONBody decodes a JSON request body into v, refusing unknown
// content and trailing data with 400.
func decodeJSONBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 32<<20))
	if err := dec.Decode(v); err != nil {
		return errBadRequest("invalid JSON body: " + err.Error())
	}
	if dec.More() {
		return errBadRequest("invalid JSON body: trailing data")
	}
	return nil
}

func methodNotAllowed(w http.ResponseWriter, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeError(w, http.StatusMethodNotAllowed, "", "Method not allowed")
}

// routeAPI dispatches /api/... requests.
func (s *Server) routeAPI(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "", msgBadToken)
		return
	}
	segs := pathSegments(strings.TrimPrefix(r.URL.EscapedPath(), "/api"))
	if len(segs) == 0 {
		writeError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	switch segs[0] {
	case "whoami-v2":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.handleWhoami(w, p)
	case "models", "datasets", "spaces":
		kind := strings.TrimSuffix(segs[0], "s")
		if len(segs) == 1 {
			if r.Method != http.MethodGet {
				methodNotAllowed(w, http.MethodGet)
				return
			}
			s.handleListRepos(w, r, p, kind)
			return
		}
		if len(segs) < 3 {
			writeError(w, http.StatusNotFound, codeRepoNotFound, "Repository not found")
			return
		}
		name, err := unescapeAll(segs[1:3])
		if err != nil {
			writeAPIError(w, err)
			return
		}
		rp, ok := s.repoForRequest(w, p, kind, name)
		if !ok {
			return
		}
		s.routeRepoAPI(w, r, p, rp, segs[3:])
	case "organizations":
		s.routeOrgAPI(w, r, p, segs[1:])
	case "settings":
		s.routeSettingsAPI(w, r, p, segs[1:])
	case "users":
		if len(segs) == 3 && segs[2] == "overview" && r.Method == http.MethodGet {
			name, err := unescapeAll(segs[1:2])
			if err != nil {
				writeAPIError(w, err)
				return
			}
			s.handleUserOverview(w, name)
			return
		}
		writeError(w, http.StatusNotFound, "", "Not Found")
	case "repos":
		if len(segs) == 2 && segs[1] == "create" {
			if r.Method != http.MethodPost {
				methodNotAllowed(w, http.MethodPost)
				return
			}
			s.handleCreateRepo(w, r, p)
			return
		}
		writeError(w, http.StatusNotFound, "", "Not Found")
	default:
		writeError(w, http.StatusNotFound, "", "Not Found")
	}
}

// repoForRequest finds a repo p may read, or answers as the Hub does: 401
// for anonymous requests and 404 for others, whether the repo is missing or
// private.
func (s *Server) repoForRequest(w http.ResponseWriter, p principal, kind, name string) (*repo, bool) {
	s.mu.Lock()
	rp, exists := s.repos[repoKey(kind, name)]
	readable := exists && s.canReadLocked(p, rp)
	s.mu.Unlock()
	if readable {
		return rp, true
	}
	status := http.StatusNotFound
	if p.anonymous() {
		status = http.StatusUnauthorized
	}
	writeError(w, status, codeRepoNotFound, "Repository not found")
	return nil, false
}

func (s *Server) routeRepoAPI(w http.ResponseWriter, r *http.Request, p principal, rp *repo, rest []string) {
	if len(rest) == 0 {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.handleRepoInfo(w, r, rp, "main")
		return
	}
	get := func(h func()) {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		h()
	}
	post := func(h func()) {
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		h()
	}
	revOf := func(segs []string) (string, bool) {
		if len(segs) == 0 {
			writeError(w, http.StatusNotFound, "", "Not Found")
			return "", false
		}
		rev, err := unescapeAll(segs)
		if err != nil {
			writeAPIError(w, err)
			return "", false
		}
		return rev, true
	}
	switch rest[0] {
	case "revision":
		get(func() {
			if rev, ok := revOf(rest[1:]); ok {
				s.handleRepoInfo(w, r, rp, rev)
			}
		})
	case "tree":
		get(func() { s.handleTree(w, r, rp, rest[1:]) })
	case "commits":
		get(func() {
			if rev, ok := revOf(rest[1:]); ok {
				s.handleCommits(w, r, rp, rev)
			}
		})
	case "compare":
		get(func() {
			if spec, ok := revOf(rest[1:]); ok {
				s.handleCompare(w, r, rp, spec)
			}
		})
	case "refs":
		get(func() { s.handleRefs(w, r, rp) })
	case "preupload":
		post(func() {
			if rev, ok := revOf(rest[1:]); ok {
				s.handlePreupload(w, r, p, rp, rev)
			}
		})
	case "commit":
		post(func() {
			if rev, ok := revOf(rest[1:]); ok {
				s.handleCommit(w, r, p, rp, rev)
			}
		})
	case "paths-info":
		post(func() {
			if rev, ok := revOf(rest[1:]); ok {
				s.handlePathsInfo(w, r, rp, rev)
			}
		})
	case "discussions":
		s.routeDiscussionsAPI(w, r, p, rp, rest[1:])
	default:
		writeError(w, http.StatusNotFound, "", "Not Found")
	}
}

// pageParams reads limit and cursor: the cursor is the opaque offset of the
// next page.
func pageParams(r *http.Request, defaultLimit, maxLimit int) (offset, limit int, err error) {
	q := r.URL.Query()
	limit = defaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return 0, 0, errBadRequest("limit must be a positive integer")
		}
		limit = min(n, maxLimit)
	}
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		n, convErr := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || convErr != nil || n < 0 || !strings.HasPrefix(string(raw), "offset:") {
			return 0, 0, errBadRequest("invalid cursor")
		}
		offset = n
	}
	return offset, limit, nil
}

// setNextLink sets a GitHub-style Link header to the same request with the
// query key set to value.
func (s *Server) setNextLink(w http.ResponseWriter, r *http.Request, key, value string) {
	q := r.URL.Query()
	q.Set(key, value)
	w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, s.URL, r.URL.EscapedPath(), q.Encode()))
}

func cursorFor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}
