package hubtest

// Discussions and pull requests: the state lives in memory under Server.mu,
// and every change to a repo's discussions happens under the repo's writeMu
// so that webhooks leave in the order the changes were made.

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"
)

// Discussion statuses.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
	StatusMerged = "merged"
	StatusDraft  = "draft"
)

type discussion struct {
	id          string
	num         int
	title       string
	status      string
	isPR        bool
	author      *user
	createdAt   time.Time
	base        string // PRs: the ref the PR merges into
	mergeCommit string
	events      []*event
}

type event struct {
	id        string
	typ       string // comment, status-change, commit, title-change
	createdAt time.Time
	author    *user
	// comment
	raw          string
	edited       bool
	hidden       bool
	hiddenBy     *user
	hiddenReason string
	numEdits     int
	updatedAt    time.Time
	// status-change
	status string
	// commit
	oid, subject string
	// title-change
	from, to string
}

// Discussion is a snapshot of a discussion or pull request, for assertions.
type Discussion struct {
	ID            string
	Num           int
	Title         string
	Status        string
	IsPullRequest bool
	Author        string // username
	// Base is the ref a pull request merges into; MergeCommitID is set once
	// merged.
	Base          string
	MergeCommitID string
	Events        []Event
}

// Event is one event of a discussion.
type Event struct {
	ID        string
	Type      string // "comment", "status-change", "commit", "title-change"
	Author    string // username
	CreatedAt time.Time
	// Comments: Content is empty once Hidden.
	Content      string
	Hidden       bool
	Edited       bool
	HiddenReason string
	// Status changes.
	Status string
	// Commits.
	OID     string
	Subject string
	// Title changes.
	From, To string
}

// PR is a pull request opened by OpenPR.
type PR struct {
	Num          int
	Ref          string // "refs/pr/N"
	SHA          string // head commit of the PR
	DiscussionID string
}

func (d *discussion) snapshot() Discussion {
	out := Discussion{
		ID: d.id, Num: d.num, Title: d.title, Status: d.status, IsPullRequest: d.isPR,
		Author: d.author.name, Base: d.base, MergeCommitID: d.mergeCommit,
	}
	for _, e := range d.events {
		ev := Event{
			ID: e.id, Type: e.typ, CreatedAt: e.createdAt, Hidden: e.hidden, Edited: e.edited,
			HiddenReason: e.hiddenReason, Status: e.status, OID: e.oid, Subject: e.subject, From: e.from, To: e.to,
		}
		if e.author != nil {
			ev.Author = e.author.name
		}
		if !e.hidden {
			ev.Content = e.raw
		}
		out.Events = append(out.Events, ev)
	}
	return out
}

// Discussion returns a snapshot of discussion num of a repo.
func (s *Server) Discussion(repoRef string, num int) (Discussion, bool) {
	rp, err := s.lookupRepo(repoRef)
	if err != nil {
		return Discussion{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.discussionLocked(rp, num)
	if d == nil {
		return Discussion{}, false
	}
	return d.snapshot(), true
}

func (s *Server) discussionLocked(rp *repo, num int) *discussion {
	if num < 1 || num > len(rp.discussions) || rp.discussions[num-1] == nil {
		return nil
	}
	return rp.discussions[num-1]
}

func (s *Server) findDiscussion(rp *repo, num int) (*discussion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.discussionLocked(rp, num)
	if d == nil {
		return nil, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("Discussion #%d not found", num)}
	}
	return d, nil
}

// payloadDiscussionLocked describes d in a payload. Callers hold s.mu.
func (s *Server) payloadDiscussionLocked(rp *repo, d *discussion) *payloadDiscussion {
	pd := &payloadDiscussion{
		ID: d.id, Title: d.title, Status: d.status, Author: payloadID{ID: d.author.id},
		Num: d.num, IsPullRequest: d.isPR,
		URL: payloadURL{Web: s.discussionWebURL(rp, d.num), API: s.apiURL(rp) + fmt.Sprintf("/discussions/%d", d.num)},
	}
	if d.isPR {
		pd.Changes = &payloadChanges{Base: d.base, MergeCommitID: d.mergeCommit}
	}
	return pd
}

func (s *Server) discussionWebURL(rp *repo, num int) string {
	return fmt.Sprintf("%s/discussions/%d", s.webURL(rp), num)
}

// payloadCommentLocked describes a comment in a payload. Callers hold s.mu.
func (s *Server) payloadCommentLocked(rp *repo, d *discussion, e *event) *payloadComment {
	pc := &payloadComment{
		ID: e.id, Author: payloadID{ID: e.author.id}, Hidden: e.hidden,
		URL: payloadURL{Web: s.discussionWebURL(rp, d.num) + "#" + e.id},
	}
	if !e.hidden {
		content := e.raw
		pc.Content = &content
	}
	return pc
}

// emitDiscussion sends a discussion event, with a comment when c is set.
func (s *Server) emitDiscussion(ctx context.Context, rp *repo, d *discussion, action string, c *event) {
	s.mu.Lock()
	pd := s.payloadDiscussionLocked(rp, d)
	var pc *payloadComment
	if c != nil {
		pc = s.payloadCommentLocked(rp, d, c)
	}
	s.mu.Unlock()
	s.emit(rp, payload{
		Event: payloadEvent{Action: action, Scope: "discussion"}, Repo: s.payloadRepo(ctx, rp, false),
		Discussion: pd, Comment: pc,
	})
}

// emitComment sends a discussion.comment event.
func (s *Server) emitComment(ctx context.Context, rp *repo, d *discussion, action string, c *event) {
	s.mu.Lock()
	pd := s.payloadDiscussionLocked(rp, d)
	pc := s.payloadCommentLocked(rp, d, c)
	s.mu.Unlock()
	s.emit(rp, payload{
		Event: payloadEvent{Action: action, Scope: "discussion.comment"}, Repo: s.payloadRepo(ctx, rp, false),
		Discussion: pd, Comment: pc,
	})
}

func (s *Server) newComment(author *user, text string) *event {
	now := s.opts.Clock()
	return &event{id: s.ids.next(), typ: "comment", createdAt: now, updatedAt: now, author: author, raw: text}
}

// newDiscussionLocked appends a discussion to rp. Callers hold s.mu.
func (s *Server) newDiscussionLocked(rp *repo, author *user, title string, isPR bool, status, base string) *discussion {
	d := &discussion{
		id: s.ids.next(), num: len(rp.discussions) + 1, title: title, status: status, isPR: isPR,
		author: author, createdAt: s.opts.Clock(), base: base,
	}
	rp.discussions = append(rp.discussions, d)
	return d
}

// validateTitle applies the Hub's limits on titles.
func validateTitle(title string) error {
	n := len([]rune(strings.TrimSpace(title)))
	if n < 3 || n > 200 {
		return errBadRequest("title must be between 3 and 200 characters")
	}
	return nil
}

func validateComment(text string) error {
	if strings.TrimSpace(text) == "" {
		return errBadRequest("comment must not be empty")
	}
	if len([]rune(text)) > 65536 {
		return errBadRequest("comment must be at most 65536 characters")
	}
	return nil
}

// createDiscussion opens a discussion, or a draft pull request whose ref
// refs/pr/N starts at the head of main.
func (s *Server) createDiscussion(ctx context.Context, rp *repo, p principal, title, description string, isPR bool) (*discussion, error) {
	ctx = context.WithoutCancel(ctx) // writes finish even if the client goes away
	if p.anonymous() {
		return nil, &apiError{status: http.StatusUnauthorized, msg: "You must be authenticated to open a discussion"}
	}
	if err := validateTitle(title); err != nil {
		return nil, err
	}
	if len([]rune(description)) > 65536 {
		return nil, errBadRequest("description must be at most 65536 characters")
	}
	rp.writeMu.Lock()
	defer rp.writeMu.Unlock()
	var head string
	if isPR {
		var ok bool
		if head, ok = s.refSHA(ctx, rp, "refs/heads/main"); !ok {
			return nil, errRevisionNotFound("main")
		}
	}
	s.mu.Lock()
	status, base := StatusOpen, ""
	if isPR {
		status, base = StatusDraft, "refs/heads/main"
	}
	d := s.newDiscussionLocked(rp, p.user, strings.TrimSpace(title), isPR, status, base)
	var first *event
	if strings.TrimSpace(description) != "" {
		first = s.newComment(p.user, description)
		d.events = append(d.events, first)
	}
	s.mu.Unlock()
	if isPR {
		ref := fmt.Sprintf("refs/pr/%d", d.num)
		if err := s.git.updateRef(ctx, rp.gitDir, ref, head, zeroSHA); err != nil {
			s.dropLastDiscussion(rp, d)
			return nil, fmt.Errorf("create %s: %w", ref, err)
		}
	}
	s.emitDiscussion(ctx, rp, d, "create", first)
	if isPR {
		s.emitRefUpdates(ctx, rp, []refUpdate{{ref: fmt.Sprintf("refs/pr/%d", d.num), newSHA: head}})
	}
	return d, nil
}

// createPRFromCommit commits ops on parent and opens a pull request into
// base (a branch ref) whose ref refs/pr/N is that commit.
func (s *Server) createPRFromCommit(ctx context.Context, rp *repo, p principal, base, parent, summary, description string, ops []commitOp) (*discussion, string, error) {
	ctx = context.WithoutCancel(ctx) // writes finish even if the client goes away
	if p.anonymous() {
		return nil, "", &apiError{status: http.StatusUnauthorized, msg: "You must be authenticated to open a pull request"}
	}
	rp.writeMu.Lock()
	defer rp.writeMu.Unlock()
	if parent == "" {
		head, ok := s.refSHA(ctx, rp, base)
		if !ok {
			return nil, "", errRevisionNotFound(base)
		}
		parent = head
	}
	now := s.opts.Clock()
	sha, err := s.buildCommit(ctx, rp, parent, ops, commitMessage(summary, description), userSignature(p.user, now))
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	d := s.newDiscussionLocked(rp, p.user, summary, true, StatusOpen, base)
	var first *event
	if strings.TrimSpace(description) != "" {
		first = s.newComment(p.user, description)
		d.events = append(d.events, first)
	}
	d.events = append(d.events, &event{id: s.ids.next(), typ: "commit", createdAt: now, author: p.user, oid: sha, subject: summary})
	s.mu.Unlock()
	ref := fmt.Sprintf("refs/pr/%d", d.num)
	if err := s.git.updateRef(ctx, rp.gitDir, ref, sha, zeroSHA); err != nil {
		s.dropLastDiscussion(rp, d)
		return nil, "", fmt.Errorf("create %s: %w", ref, err)
	}
	s.touch(rp, now)
	s.emitDiscussion(ctx, rp, d, "create", first)
	s.emitRefUpdates(ctx, rp, []refUpdate{{ref: ref, newSHA: sha}})
	return d, sha, nil
}

// dropLastDiscussion undoes newDiscussionLocked when the ref of a new pull
// request could not be created, so that nothing is left half-made. Callers
// hold rp.writeMu, under which discussions are appended.
func (s *Server) dropLastDiscussion(rp *repo, d *discussion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(rp.discussions); n > 0 && rp.discussions[n-1] == d {
		rp.discussions = rp.discussions[:n-1]
	}
}

// addCommitEvent records a commit pushed to a pull request. Callers hold
// rp.writeMu.
func (s *Server) addCommitEvent(rp *repo, num int, author *user, sha, subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.discussionLocked(rp, num)
	if d == nil || !d.isPR {
		return
	}
	if author == nil {
		author = d.author
	}
	d.events = append(d.events, &event{id: s.ids.next(), typ: "commit", createdAt: s.opts.Clock(), author: author, oid: sha, subject: subject})
}

// canPushToPR reports whether p may commit to pull request num: its author
// or a writer of the repo.
func (s *Server) canPushToPR(p principal, rp *repo, num int) bool {
	if p.anonymous() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.canWriteLocked(p, rp) {
		return true
	}
	d := s.discussionLocked(rp, num)
	return d != nil && d.isPR && d.author == p.user && p.role == RoleWrite
}

func (s *Server) addComment(ctx context.Context, rp *repo, p principal, num int, text string) (*discussion, *event, error) {
	if p.anonymous() {
		return nil, nil, &apiError{status: http.StatusUnauthorized, msg: "You must be authenticated to comment"}
	}
	if err := validateComment(text); err != nil {
		return nil, nil, err
	}
	rp.writeMu.Lock()
	defer rp.writeMu.Unlock()
	d, err := s.findDiscussion(rp, num)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	c := s.newComment(p.user, text)
	d.events = append(d.events, c)
	s.mu.Unlock()
	s.emitComment(ctx, rp, d, "create", c)
	return d, c, nil
}

// findCommentLocked returns the comment of d with that id (case
// insensitive, as clients lowercase ids). Callers hold s.mu.
func findCommentLocked(d *discussion, id string) *event {
	for _, e := range d.events {
		if e.typ == "comment" && strings.EqualFold(e.id, id) {
			return e
		}
	}
	return nil
}

func (s *Server) editComment(ctx context.Context, rp *repo, p principal, num int, id, content string) (*discussion, *event, error) {
	if err := validateComment(content); err != nil {
		return nil, nil, err
	}
	return s.updateComment(ctx, rp, num, id, func(c *event) error {
		switch {
		case p.user == nil || c.author != p.user || p.role != RoleWrite:
			return errForbidden("Only the author can edit a comment")
		case c.hidden:
			return errBadRequest("A hidden comment cannot be edited")
		}
		c.raw, c.edited, c.updatedAt = content, true, s.opts.Clock()
		c.numEdits++
		return nil
	})
}

func (s *Server) hideComment(ctx context.Context, rp *repo, p principal, num int, id, reason string) (*discussion, *event, error) {
	return s.updateComment(ctx, rp, num, id, func(c *event) error {
		if p.user == nil || p.role != RoleWrite || (c.author != p.user && !s.canWriteLocked(p, rp)) {
			return errForbidden("You cannot hide this comment")
		}
		if !c.hidden {
			c.hidden, c.hiddenBy, c.hiddenReason, c.raw = true, p.user, reason, ""
			c.updatedAt = s.opts.Clock()
		}
		return nil
	})
}

// updateComment applies change, under s.mu, to comment id of discussion
// num, and sends the comment's update webhook; an error from change
// refuses the request.
func (s *Server) updateComment(ctx context.Context, rp *repo, num int, id string, change func(c *event) error) (*discussion, *event, error) {
	rp.writeMu.Lock()
	defer rp.writeMu.Unlock()
	d, err := s.findDiscussion(rp, num)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	c := findCommentLocked(d, id)
	if c == nil {
		s.mu.Unlock()
		return nil, nil, &apiError{status: http.StatusNotFound, msg: "Comment not found"}
	}
	err = change(c)
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	s.emitComment(ctx, rp, d, "update", c)
	return d, c, nil
}

func (s *Server) changeStatus(ctx context.Context, rp *repo, p principal, num int, status, comment string) (*discussion, *event, error) {
	if status != StatusOpen && status != StatusClosed {
		return nil, nil, errBadRequest(`status must be "open" or "closed"`)
	}
	if comment != "" {
		if err := validateComment(comment); err != nil {
			return nil, nil, err
		}
	}
	var c *event
	d, ev, err := s.updateDiscussion(ctx, rp, num, func(d *discussion) (*event, error) {
		switch {
		case p.user == nil || p.role != RoleWrite || (d.author != p.user && !s.canWriteLocked(p, rp)):
			return nil, errForbidden("Only the author or a maintainer can change the status")
		case d.status == StatusMerged:
			return nil, errBadRequest("A merged pull request cannot change status")
		case d.status == status:
			return nil, errBadRequest("The discussion is already " + status)
		}
		if comment != "" {
			c = s.newComment(p.user, comment)
			d.events = append(d.events, c)
		}
		d.status = status
		return &event{id: s.ids.next(), typ: "status-change", createdAt: s.opts.Clock(), author: p.user, status: status}, nil
	}, func(d *discussion) {
		if c != nil {
			s.emitComment(ctx, rp, d, "create", c)
		}
	})
	return d, ev, err
}

func (s *Server) renameDiscussion(ctx context.Context, rp *repo, p principal, num int, title string) (*discussion, *event, error) {
	if err := validateTitle(title); err != nil {
		return nil, nil, err
	}
	return s.updateDiscussion(ctx, rp, num, func(d *discussion) (*event, error) {
		if p.user == nil || p.role != RoleWrite || (d.author != p.user && !s.canWriteLocked(p, rp)) {
			return nil, errForbidden("Only the author or a maintainer can rename the discussion")
		}
		ev := &event{id: s.ids.next(), typ: "title-change", createdAt: s.opts.Clock(), author: p.user, from: d.title, to: strings.TrimSpace(title)}
		d.title = ev.to
		return ev, nil
	}, nil)
}

// updateDiscussion applies change, under s.mu, to discussion num and
// appends the event it returns; then runs before (when not nil) and sends
// the discussion's update webhook. An error from change refuses the
// request.
func (s *Server) updateDiscussion(ctx context.Context, rp *repo, num int, change func(d *discussion) (*event, error), before func(d *discussion)) (*discussion, *event, error) {
	rp.writeMu.Lock()
	defer rp.writeMu.Unlock()
	d, err := s.findDiscussion(rp, num)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	ev, err := change(d)
	if err == nil {
		d.events = append(d.events, ev)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	if before != nil {
		before(d)
	}
	s.emitDiscussion(ctx, rp, d, "update", nil)
	return d, ev, nil
}

// mergePR merges pull request num into its base with a merge commit.
func (s *Server) mergePR(ctx context.Context, rp *repo, p principal, num int, comment string) (*discussion, error) {
	ctx = context.WithoutCancel(ctx) // writes finish even if the client goes away
	rp.writeMu.Lock()
	defer rp.writeMu.Unlock()
	d, err := s.findDiscussion(rp, num)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	allowed := s.canWriteLocked(p, rp)
	isPR, status, base, title := d.isPR, d.status, d.base, d.title
	s.mu.Unlock()
	switch {
	case !isPR:
		return nil, errBadRequest("Only pull requests can be merged")
	case !allowed:
		return nil, errForbidden("You must be a maintainer of the repo to merge")
	case status != StatusOpen && status != StatusDraft:
		return nil, errBadRequest("Only open pull requests can be merged")
	}
	baseHead, ok := s.refSHA(ctx, rp, base)
	if !ok {
		return nil, errRevisionNotFound(base)
	}
	prRef := fmt.Sprintf("refs/pr/%d", num)
	prHead, ok := s.refSHA(ctx, rp, prRef)
	if !ok {
		return nil, errRevisionNotFound(prRef)
	}
	tree, err := s.git.mergeTrees(ctx, rp.gitDir, baseHead, prHead)
	if err == errMergeConflict {
		return nil, &apiError{status: http.StatusConflict, msg: "This pull request has conflicts with " + base}
	}
	if err != nil {
		return nil, err
	}
	now := s.opts.Clock()
	sha, err := s.git.commitTree(ctx, rp.gitDir, tree, []string{baseHead, prHead}, commitMessage(title, fmt.Sprintf("Merged pull request #%d", num)), userSignature(p.user, now))
	if err != nil {
		return nil, err
	}
	if err := s.git.updateRef(ctx, rp.gitDir, base, sha, baseHead); err != nil {
		return nil, fmt.Errorf("move %s: %w", base, err)
	}
	s.touch(rp, now)
	s.mu.Lock()
	var c *event
	if strings.TrimSpace(comment) != "" {
		c = s.newComment(p.user, comment)
		d.events = append(d.events, c)
	}
	d.status, d.mergeCommit = StatusMerged, sha
	d.events = append(d.events, &event{id: s.ids.next(), typ: "status-change", createdAt: now, author: p.user, status: StatusMerged})
	s.mu.Unlock()
	if c != nil {
		s.emitComment(ctx, rp, d, "create", c)
	}
	s.emitDiscussion(ctx, rp, d, "update", nil)
	s.emitRefUpdates(ctx, rp, []refUpdate{{ref: base, oldSHA: baseHead, newSHA: sha}})
	return d, nil
}

// authorJSONLocked describes a user as the discussion API does. Callers
// hold s.mu.
func (s *Server) authorJSONLocked(rp *repo, u *user) map[string]any {
	if u == nil {
		return nil
	}
	return map[string]any{
		"_id": u.id, "name": u.name, "fullname": u.fullname, "type": "user",
		"avatarUrl": "/avatars/" + u.id + ".svg",
		"isPro":     false, "isHf": false, "isHfAdmin": false, "isMod": false,
		"isOwner":     u.name == rp.namespace,
		"isOrgMember": s.memberRoleLocked(rp.namespace, u) != "",
	}
}

// eventJSONLocked renders an event as the discussion API does. Callers hold
// s.mu.
func (s *Server) eventJSONLocked(rp *repo, e *event) map[string]any {
	out := map[string]any{"id": e.id, "type": e.typ, "createdAt": isoTime(e.createdAt)}
	if e.author != nil {
		out["author"] = s.authorJSONLocked(rp, e.author)
	}
	switch e.typ {
	case "comment":
		raw, rendered := e.raw, "<p>"+html.EscapeString(e.raw)+"</p>"
		if e.hidden {
			raw, rendered = "", ""
		}
		data := map[string]any{
			"edited": e.edited, "hidden": e.hidden, "numEdits": e.numEdits,
			"editors": []string{e.author.name}, "reactions": []any{},
			"latest": map[string]any{
				"raw": raw, "html": rendered, "updatedAt": isoTime(e.updatedAt),
				"author": s.authorJSONLocked(rp, e.author),
			},
		}
		if e.hidden {
			data["hiddenBy"] = e.hiddenBy.name
			if e.hiddenReason != "" {
				data["hiddenReason"] = e.hiddenReason
			}
		}
		out["data"] = data
	case "status-change":
		out["data"] = map[string]any{"status": e.status}
	case "commit":
		out["data"] = map[string]any{"oid": e.oid, "subject": e.subject}
	case "title-change":
		out["data"] = map[string]any{"from": e.from, "to": e.to}
	}
	return out
}

func (s *Server) eventJSON(rp *repo, e *event) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eventJSONLocked(rp, e)
}
