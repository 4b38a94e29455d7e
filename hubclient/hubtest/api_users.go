package hubtest

import (
	"net/http"
	"slices"
	"strings"
)

func avatarURL(id string) string { return "/avatars/" + id + ".svg" }

func (s *Server) handleWhoami(w http.ResponseWriter, p principal) {
	if p.anonymous() {
		writeError(w, http.StatusUnauthorized, "", msgBadToken)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := p.user
	orgs := []map[string]any{}
	for _, o := range s.orgsOfLocked(u) {
		orgs = append(orgs, map[string]any{
			"type": "org", "id": o.id, "name": o.name, "fullname": o.fullname, "email": nil,
			"canPay": false, "avatarUrl": avatarURL(o.id), "periodEnd": nil,
			"roleInOrg": s.memberRoleLocked(o.name, u),
		})
	}
	auth := map[string]any{"type": "access_token"}
	if tok := p.tok; tok != nil && tok.scopes == nil { // OAuth tokens have no display name
		auth["accessToken"] = map[string]any{"displayName": tok.name, "role": tok.role, "createdAt": isoTime(tok.createdAt)}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "user", "id": u.id, "name": u.name, "fullname": u.fullname,
		"email": u.name + "@example.com", "emailVerified": true, "canPay": false, "isPro": false,
		"periodEnd": nil, "avatarUrl": avatarURL(u.id), "billingMode": "postpaid",
		"orgs": orgs, "auth": auth,
	})
}

func (s *Server) routeOrgAPI(w http.ResponseWriter, r *http.Request, p principal, segs []string) {
	if len(segs) != 2 || r.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	name, err := unescapeAll(segs[:1])
	if err != nil {
		writeAPIError(w, err)
		return
	}
	switch segs[1] {
	case "members":
		s.handleOrgMembers(w, r, name)
	case "overview":
		s.handleOrgOverview(w, name)
	default:
		writeError(w, http.StatusNotFound, "", "Not Found")
	}
}

func (s *Server) handleOrgMembers(w http.ResponseWriter, r *http.Request, name string) {
	offset, limit, err := pageParams(r, 500, 1000)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	o, ok := s.orgs[name]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "", "Organization not found")
		return
	}
	members := slices.Clone(o.members)
	s.mu.Unlock()
	slices.SortFunc(members, func(a, b orgMember) int { return strings.Compare(a.user.name, b.user.name) })
	page := members[min(offset, len(members)):min(offset+limit, len(members))]
	out := make([]map[string]any, 0, len(page))
	for _, m := range page {
		out = append(out, map[string]any{
			"_id": m.user.id, "user": m.user.name, "fullname": m.user.fullname,
			"avatarUrl": avatarURL(m.user.id), "type": "user", "isPro": false, "role": m.role,
		})
	}
	if offset+limit < len(members) {
		s.setNextLink(w, r, "cursor", cursorFor(offset+limit))
	}
	writeJSON(w, http.StatusOK, out)
}

// countReposLocked counts the repos of a namespace by type.
func (s *Server) countReposLocked(ns string) map[string]int {
	n := map[string]int{}
	for _, rp := range s.repoOrder {
		if rp.namespace == ns && !rp.private {
			n[rp.kind]++
		}
	}
	return n
}

func (s *Server) handleOrgOverview(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[name]
	if !ok {
		writeError(w, http.StatusNotFound, "", "Organization not found")
		return
	}
	n := s.countReposLocked(name)
	writeJSON(w, http.StatusOK, map[string]any{
		"_id": o.id, "name": o.name, "fullname": o.fullname, "avatarUrl": avatarURL(o.id), "type": "org",
		"isVerified": false, "isFollowing": false, "numUsers": len(o.members),
		"numModels": n[TypeModel], "numDatasets": n[TypeDataset], "numSpaces": n[TypeSpace],
		"numFollowers": 0, "numPapers": 0,
	})
}

func (s *Server) handleUserOverview(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		writeError(w, http.StatusNotFound, "", "User not found")
		return
	}
	orgs := []map[string]any{}
	for _, o := range s.orgsOfLocked(u) {
		orgs = append(orgs, map[string]any{
			"_id": o.id, "name": o.name, "fullname": o.fullname, "avatarUrl": avatarURL(o.id), "type": "org",
		})
	}
	discussions := 0
	for _, rp := range s.repoOrder {
		for _, d := range rp.discussions {
			if d.author == u {
				discussions++
			}
		}
	}
	n := s.countReposLocked(name)
	writeJSON(w, http.StatusOK, map[string]any{
		"_id": u.id, "user": u.name, "fullname": u.fullname, "avatarUrl": avatarURL(u.id), "type": "user",
		"isPro": false, "createdAt": isoTime(u.createdAt), "orgs": orgs,
		"numModels": n[TypeModel], "numDatasets": n[TypeDataset], "numSpaces": n[TypeSpace],
		"numDiscussions": discussions, "numPapers": 0, "numUpvotes": 0, "numLikes": 0,
		"numFollowers": 0, "numFollowing": 0,
	})
}
