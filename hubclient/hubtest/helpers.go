package hubtest

// Helpers that act on the server as a user, the way a person would through
// the Hub's web UI or git: they go through the same code as the API, so they
// check permissions and send the same webhooks.

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Change is a set of file changes for Push and OpenPR.
type Change struct {
	// Files maps repo paths to their new content. Files that the repo's
	// .gitattributes tracks, or that reach the repo's LFS threshold, are
	// stored in LFS and committed as pointer files.
	Files map[string][]byte
	// Delete lists files or folders to remove.
	Delete []string
	// Message is the commit title; empty means "Update files".
	Message string
	// Description is the rest of the commit message.
	Description string
}

func opsFromChange(files map[string][]byte, deletes []string) []commitOp {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	ops := make([]commitOp, 0, len(paths)+len(deletes))
	for _, p := range paths {
		ops = append(ops, commitOp{kind: opAuto, path: p, content: files[p], hasData: true})
	}
	for _, d := range deletes {
		ops = append(ops, commitOp{kind: opDeleteEntry, path: d})
	}
	return ops
}

// normalizeRef turns a branch name into its full ref.
func normalizeRef(ref string) string {
	if strings.HasPrefix(ref, "refs/") {
		return ref
	}
	return "refs/heads/" + ref
}

// Push commits ch as u on ref ("main", "refs/heads/x" or "refs/pr/N") and
// returns the new commit. A missing branch is created from main. It fires
// repo.content like a git push, and records the commit on the pull request
// for refs/pr/N. u needs write access (for refs/pr/N: be its author).
func (s *Server) Push(u User, repoRef, ref string, ch Change) (string, error) {
	ctx := context.Background()
	p, rp, err := s.actor(u, repoRef)
	if err != nil {
		return "", fmt.Errorf("push to %s: %w", repoRef, err)
	}
	ref = normalizeRef(ref)
	if err := s.writeAccess(p, rp, ref); err != nil {
		return "", fmt.Errorf("push to %s %s: %w", repoRef, ref, err)
	}
	msg := ch.Message
	if msg == "" {
		msg = "Update files"
	}
	params := commitParams{ref: ref, summary: msg, description: ch.Description, ops: opsFromChange(ch.Files, ch.Delete)}
	if strings.HasPrefix(ref, "refs/heads/") {
		params.startPoint = "refs/heads/main"
	}
	res, err := s.commitToRef(ctx, rp, p, params)
	if err != nil {
		return "", fmt.Errorf("push to %s %s: %w", repoRef, ref, err)
	}
	return res.sha, nil
}

// OpenPR commits ch as u on top of main and opens a pull request with it,
// as a commit with create_pr=1 would: the PR is open, its ref refs/pr/N,
// and it fires discussion create (with the description as first comment)
// then repo.content for refs/pr/N.
func (s *Server) OpenPR(u User, repoRef, title, description string, ch Change) (PR, error) {
	ctx := context.Background()
	p, rp, err := s.actor(u, repoRef)
	if err != nil {
		return PR{}, fmt.Errorf("open pr on %s: %w", repoRef, err)
	}
	if err := validateTitle(title); err != nil {
		return PR{}, fmt.Errorf("open pr on %s: %w", repoRef, err)
	}
	d, sha, err := s.createPRFromCommit(ctx, rp, p, "refs/heads/main", "", title, description, opsFromChange(ch.Files, ch.Delete))
	if err != nil {
		return PR{}, fmt.Errorf("open pr on %s: %w", repoRef, err)
	}
	return PR{Num: d.num, Ref: fmt.Sprintf("refs/pr/%d", d.num), SHA: sha, DiscussionID: d.id}, nil
}

// OpenDiscussion opens a discussion as u and returns its number.
func (s *Server) OpenDiscussion(u User, repoRef, title, description string) (int, error) {
	p, rp, err := s.actor(u, repoRef)
	if err != nil {
		return 0, fmt.Errorf("open discussion on %s: %w", repoRef, err)
	}
	d, err := s.createDiscussion(context.Background(), rp, p, title, description, false)
	if err != nil {
		return 0, fmt.Errorf("open discussion on %s: %w", repoRef, err)
	}
	return d.num, nil
}

// Comment posts text on discussion or pull request num as u and returns the
// comment id. It fires discussion.comment create.
func (s *Server) Comment(u User, repoRef string, num int, text string) (string, error) {
	p, rp, err := s.actor(u, repoRef)
	if err != nil {
		return "", fmt.Errorf("comment on %s#%d: %w", repoRef, num, err)
	}
	_, c, err := s.addComment(context.Background(), rp, p, num, text)
	if err != nil {
		return "", fmt.Errorf("comment on %s#%d: %w", repoRef, num, err)
	}
	return c.id, nil
}

// EditComment replaces the text of a comment of u's.
func (s *Server) EditComment(u User, repoRef string, num int, commentID, text string) error {
	p, rp, err := s.actor(u, repoRef)
	if err == nil {
		_, _, err = s.editComment(context.Background(), rp, p, num, commentID, text)
	}
	if err != nil {
		return fmt.Errorf("edit comment %s on %s#%d: %w", commentID, repoRef, num, err)
	}
	return nil
}

// HideComment hides a comment as u (its author or a maintainer); its
// content is gone for good. It fires discussion.comment update.
func (s *Server) HideComment(u User, repoRef string, num int, commentID string) error {
	p, rp, err := s.actor(u, repoRef)
	if err == nil {
		_, _, err = s.hideComment(context.Background(), rp, p, num, commentID, "")
	}
	if err != nil {
		return fmt.Errorf("hide comment %s on %s#%d: %w", commentID, repoRef, num, err)
	}
	return nil
}

// SetStatus opens or closes discussion num as u. It fires discussion update.
func (s *Server) SetStatus(u User, repoRef string, num int, status string) error {
	p, rp, err := s.actor(u, repoRef)
	if err == nil {
		_, _, err = s.changeStatus(context.Background(), rp, p, num, status, "")
	}
	if err != nil {
		return fmt.Errorf("set status of %s#%d: %w", repoRef, num, err)
	}
	return nil
}

// MergePR merges pull request num as u (a maintainer) and returns the merge
// commit.
func (s *Server) MergePR(u User, repoRef string, num int) (string, error) {
	p, rp, err := s.actor(u, repoRef)
	if err != nil {
		return "", fmt.Errorf("merge %s#%d: %w", repoRef, num, err)
	}
	d, err := s.mergePR(context.Background(), rp, p, num, "")
	if err != nil {
		return "", fmt.Errorf("merge %s#%d: %w", repoRef, num, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return d.mergeCommit, nil
}

// actor resolves the user and repo a helper acts on.
func (s *Server) actor(u User, repoRef string) (principal, *repo, error) {
	p, err := s.principalOf(u)
	if err != nil {
		return principal{}, nil, err
	}
	rp, err := s.lookupRepo(repoRef)
	if err != nil {
		return principal{}, nil, err
	}
	if !s.canRead(p, rp) {
		return principal{}, nil, fmt.Errorf("%s cannot see %s", u.Name, repoRef)
	}
	return p, rp, nil
}
