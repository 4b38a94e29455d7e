package hubtest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

func (s *Server) routeDiscussionsAPI(w http.ResponseWriter, r *http.Request, p principal, rp *repo, segs []string) {
	if len(segs) == 0 {
		switch r.Method {
		case http.MethodGet:
			s.handleListDiscussions(w, r, rp)
		case http.MethodPost:
			s.handleCreateDiscussion(w, r, p, rp)
		default:
			methodNotAllowed(w, http.MethodGet, http.MethodPost)
		}
		return
	}
	num, err := strconv.Atoi(segs[0])
	if err != nil || num <= 0 {
		writeError(w, http.StatusNotFound, "", "Discussion not found")
		return
	}
	if len(segs) == 1 {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.handleDiscussionDetails(w, r, rp, num)
		return
	}
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	ctx := r.Context()
	switch {
	case len(segs) == 2 && segs[1] == "comment":
		var body struct {
			Comment *string `json:"comment"`
		}
		if err := decodeJSONBody(r, &body); err != nil {
			writeAPIError(w, err)
			return
		}
		if body.Comment == nil {
			writeAPIError(w, errBadRequest("comment is required"))
			return
		}
		_, c, err := s.addComment(ctx, rp, p, num, *body.Comment)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"newMessage": s.eventJSON(rp, c)})
	case len(segs) == 4 && segs[1] == "comment" && segs[3] == "edit":
		var body struct {
			Content *string `json:"content"`
		}
		if err := decodeJSONBody(r, &body); err != nil {
			writeAPIError(w, err)
			return
		}
		if body.Content == nil {
			writeAPIError(w, errBadRequest("content is required"))
			return
		}
		_, c, err := s.editComment(ctx, rp, p, num, segs[2], *body.Content)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"updatedComment": s.eventJSON(rp, c)})
	case len(segs) == 4 && segs[1] == "comment" && segs[3] == "hide":
		var body struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := decodeJSONBody(r, &body); err != nil {
				writeAPIError(w, err)
				return
			}
		}
		_, c, err := s.hideComment(ctx, rp, p, num, segs[2], body.Reason)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"updatedComment": s.eventJSON(rp, c)})
	case len(segs) == 2 && segs[1] == "status":
		var body struct {
			Status  string `json:"status"`
			Comment string `json:"comment"`
		}
		if err := decodeJSONBody(r, &body); err != nil {
			writeAPIError(w, err)
			return
		}
		_, ev, err := s.changeStatus(ctx, rp, p, num, body.Status, body.Comment)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"newStatus": s.eventJSON(rp, ev)})
	case len(segs) == 2 && segs[1] == "title":
		var body struct {
			Title string `json:"title"`
		}
		if err := decodeJSONBody(r, &body); err != nil {
			writeAPIError(w, err)
			return
		}
		_, ev, err := s.renameDiscussion(ctx, rp, p, num, body.Title)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"newTitle": s.eventJSON(rp, ev)})
	case len(segs) == 2 && segs[1] == "merge":
		var body struct {
			Comment string `json:"comment"`
		}
		if r.ContentLength != 0 {
			if err := decodeJSONBody(r, &body); err != nil {
				writeAPIError(w, err)
				return
			}
		}
		if _, err := s.mergePR(ctx, rp, p, num, body.Comment); err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	default:
		writeError(w, http.StatusNotFound, "", "Not Found")
	}
}

func (s *Server) handleCreateDiscussion(w http.ResponseWriter, r *http.Request, p principal, rp *repo) {
	var body struct {
		Title       *string `json:"title"`
		Description string  `json:"description"`
		PullRequest bool    `json:"pullRequest"`
	}
	if err := decodeJSONBody(r, &body); err != nil {
		writeAPIError(w, err)
		return
	}
	if body.Title == nil {
		writeAPIError(w, errBadRequest("title is required"))
		return
	}
	d, err := s.createDiscussion(r.Context(), rp, p, *body.Title, body.Description, body.PullRequest)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out := map[string]any{"num": d.num, "pullRequest": d.isPR, "url": s.discussionWebURL(rp, d.num)}
	if d.isPR {
		out["references"] = map[string]any{"base": d.base}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListDiscussions(w http.ResponseWriter, r *http.Request, rp *repo) {
	q := r.URL.Query()
	page, ok := pageParam(w, q)
	if !ok {
		return
	}
	typ, status := q.Get("type"), q.Get("status")
	if typ == "" {
		typ = "all"
	}
	if status == "" {
		status = "all"
	}
	if !slices.Contains([]string{"all", "discussion", "pull_request"}, typ) {
		writeAPIError(w, errBadRequest("type must be all, discussion or pull_request"))
		return
	}
	if !slices.Contains([]string{"all", "open", "closed"}, status) {
		writeAPIError(w, errBadRequest("status must be all, open or closed"))
		return
	}
	author, search := q.Get("author"), strings.ToLower(q.Get("search"))

	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*discussion
	for i := len(rp.discussions) - 1; i >= 0; i-- { // newest first
		d := rp.discussions[i]
		switch {
		case d == nil:
		case typ == "discussion" && d.isPR, typ == "pull_request" && !d.isPR:
		case status == "open" && d.status != StatusOpen && d.status != StatusDraft:
		case status == "closed" && d.status != StatusClosed && d.status != StatusMerged:
		case author != "" && d.author.name != author:
		case search != "" && !strings.Contains(strings.ToLower(d.title), search):
		default:
			matched = append(matched, d)
		}
	}
	size := s.opts.DiscussionsPageSize
	start := page * size
	items := []map[string]any{}
	for _, d := range matched[min(start, len(matched)):min(start+size, len(matched))] {
		comments := 0
		for _, e := range d.events {
			if e.typ == "comment" {
				comments++
			}
		}
		items = append(items, map[string]any{
			"num": d.num, "title": d.title, "status": d.status, "isPullRequest": d.isPR,
			"author": s.authorJSONLocked(rp, d.author), "createdAt": isoTime(d.createdAt),
			"repo": map[string]any{"name": rp.name, "type": rp.kind}, "pinned": false,
			"numComments": comments, "topReactions": []any{}, "numReactionUsers": 0,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"discussions": items, "count": len(matched), "start": start})
}

func (s *Server) handleDiscussionDetails(w http.ResponseWriter, r *http.Request, rp *repo, num int) {
	ctx := r.Context()
	s.mu.Lock()
	d := s.discussionLocked(rp, num)
	if d == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("Discussion #%d not found", num))
		return
	}
	events := make([]map[string]any, 0, len(d.events))
	for _, e := range d.events {
		events = append(events, s.eventJSONLocked(rp, e))
	}
	out := map[string]any{
		"_id": d.id, "num": d.num, "title": d.title, "status": d.status, "isPullRequest": d.isPR,
		"author": s.authorJSONLocked(rp, d.author), "createdAt": isoTime(d.createdAt),
		"repo": map[string]any{"name": rp.name, "type": rp.kind}, "pinned": false, "locked": false,
		"isReport": false, "collection": "discussions", "events": events,
	}
	isPR, base, merge := d.isPR, d.base, d.mergeCommit
	s.mu.Unlock()
	if isPR {
		changes := map[string]any{"base": base}
		if merge != "" {
			changes["mergeCommitId"] = merge
		}
		out["changes"] = changes
		out["filesWithConflicts"] = []string{}
		out["diffUrl"] = fmt.Sprintf("%s/discussions/%d/files", s.webURL(rp), num)
		if q := r.URL.Query().Get("diff"); q == "1" || q == "true" {
			baseSHA, okBase := s.refSHA(ctx, rp, base)
			headSHA, okHead := s.refSHA(ctx, rp, fmt.Sprintf("refs/pr/%d", num))
			if okBase && okHead {
				// Diff from where the PR forked: for a merged PR, the base
				// before the merge commit.
				baseBefore := baseSHA
				if merge != "" {
					baseBefore = merge + "^1"
				}
				from := baseSHA
				if mb, err := s.git.mergeBase(ctx, rp.gitDir, baseBefore, headSHA); err == nil {
					from = mb
				}
				if patch, err := s.git.diffPatch(ctx, rp.gitDir, from, headSHA); err == nil {
					out["diff"] = string(patch)
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// pageParam reads the page number p of a listing (0 when absent), or
// answers 400 and reports false.
func pageParam(w http.ResponseWriter, q url.Values) (int, bool) {
	v := q.Get("p")
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		writeAPIError(w, errBadRequest("p must be a non-negative integer"))
		return 0, false
	}
	return n, true
}
