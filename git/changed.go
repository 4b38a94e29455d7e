package git

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hubbot/hubbot/hubclient"
)

// Comparer lists the files that differ between two revisions; the Hub's
// compare API does (hubclient.Client satisfies it).
type Comparer interface {
	Compare(ctx context.Context, repo hubclient.Repo, base, head string) ([]hubclient.ChangedFile, error)
}

// oldRef keeps the commit compared with reachable in the local repository.
const oldRef = "refs/hubbot/old"

// ChangedPaths returns the repo-relative paths (forward slashes, sorted)
// that differ between the commit old and the checked-out commit: files
// added, modified or deleted, both sides of a rename. It is the difference of
// the two trees, as `git diff old new` and the Hub's compare old..new give
// it; for a pull request compared with the head of its base branch, that is
// what the pull request changes plus what the base changed since, which for
// a `paths` filter errs on the side of running.
//
// An empty old (a new ref) means unknown: ChangedPaths returns nil, which
// MatchPaths takes as "run". The same commit gives an empty, non-nil list.
//
// The answer comes from git when old is in the checkout or can be fetched
// (by its id when the server allows it, else by deepening the ref a few
// steps); otherwise from cmp, when it is not nil.
func (c *Checkout) ChangedPaths(ctx context.Context, old string, cmp Comparer) ([]string, error) {
	if old == "" || strings.Trim(old, "0") == "" {
		return nil, nil
	}
	if !plumbing.IsHash(old) {
		return nil, fmt.Errorf("changed paths: invalid commit %q: want 40 hex digits", old)
	}
	old = strings.ToLower(old)
	if old == c.SHA {
		return []string{}, nil
	}
	paths, gitErr := c.changedFromGit(ctx, plumbing.NewHash(old))
	if gitErr == nil {
		return paths, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cmp == nil {
		return nil, c.redact(fmt.Errorf("changed paths %s..%s: %w", short(old), short(c.SHA), gitErr))
	}
	files, err := cmp.Compare(ctx, c.Repo, old, c.SHA)
	if err != nil {
		return nil, c.redact(fmt.Errorf("changed paths %s..%s: from git: %v; from the compare API: %w",
			short(old), short(c.SHA), gitErr, err))
	}
	set := map[string]bool{}
	for _, f := range files {
		for _, p := range []string{f.Path, f.OldPath} {
			if p != "" {
				set[p] = true
			}
		}
	}
	return sortedKeys(set), nil
}

// errOldMissing says the old commit could not be brought into the checkout.
var errOldMissing = errors.New("commit not in the checkout and not fetchable from the ref")

// changedFromGit diffs the trees of old and the checked-out commit, fetching
// old first when needed.
func (c *Checkout) changedFromGit(ctx context.Context, old plumbing.Hash) ([]string, error) {
	if !c.hasCommit(old) {
		found, err := c.fetchOld(ctx, old)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, errOldMissing
		}
	}
	oldCommit, err := c.repo.CommitObject(old)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", short(old.String()), err)
	}
	newCommit, err := c.repo.CommitObject(plumbing.NewHash(c.SHA))
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", short(c.SHA), err)
	}
	oldTree, err := oldCommit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", short(old.String()), err)
	}
	newTree, err := newCommit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", short(c.SHA), err)
	}
	changes, err := object.DiffTreeWithOptions(ctx, oldTree, newTree, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("diff %s..%s: %w", short(old.String()), short(c.SHA), err)
	}
	set := map[string]bool{}
	for _, ch := range changes {
		for _, p := range []string{ch.From.Name, ch.To.Name} {
			if p != "" {
				set[p] = true
			}
		}
	}
	return sortedKeys(set), nil
}

// fetchOld brings the commit old in: by its id at depth 1 when the server
// allows it, else by deepening the ref.
func (c *Checkout) fetchOld(ctx context.Context, old plumbing.Hash) (bool, error) {
	found, err := c.fetchByIDInto(ctx, old, oldRef)
	if err != nil || found {
		return found, err
	}
	return c.deepenUntil(ctx, old)
}

// hasCommit reports whether the commit h and its tree are in the repository.
func (c *Checkout) hasCommit(h plumbing.Hash) bool {
	commit, err := c.repo.CommitObject(h)
	if err != nil {
		return false
	}
	_, err = commit.Tree()
	return err == nil
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
