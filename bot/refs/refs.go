// Package refs is the vocabulary of the git refs the Hub names: branches
// (refs/heads/X), tags (refs/tags/X) and pull requests (refs/pr/N). Every
// part of hubbot builds and reads refs here instead of checking prefixes.
package refs

import (
	"strconv"
	"strings"
)

// Prefixes of the refs the Hub uses.
const (
	branchPrefix = "refs/heads/"
	tagPrefix    = "refs/tags/"
	prPrefix     = "refs/pr/"
)

// Main is the ref of a repo's default branch. The Hub creates every repo
// with a main branch and offers no way to change the default.
const Main = branchPrefix + "main"

// Kind is what a ref names.
type Kind uint8

// Kinds of refs. Other is anything else the Hub may add (refs/convert/...).
const (
	Other Kind = iota
	Branch
	Tag
	PullRequest
)

// Ref is a parsed ref.
type Ref struct {
	Kind Kind
	// Name is the branch or tag name; for a pull request, its number as
	// text; for Other, the whole ref.
	Name string
	// Num is the pull request number; 0 for other kinds.
	Num int
}

// Parse reads a full ref. A pull request ref must end in a positive number
// of at most nine digits and a branch or tag ref in a non-empty name;
// anything else is Other.
func Parse(ref string) Ref {
	if name, ok := strings.CutPrefix(ref, branchPrefix); ok && name != "" {
		return Ref{Kind: Branch, Name: name}
	}
	if name, ok := strings.CutPrefix(ref, tagPrefix); ok && name != "" {
		return Ref{Kind: Tag, Name: name}
	}
	if num, ok := strings.CutPrefix(ref, prPrefix); ok {
		if n := parseNum(num); n > 0 {
			return Ref{Kind: PullRequest, Name: num, Num: n}
		}
	}
	return Ref{Kind: Other, Name: ref}
}

// parseNum reads a decimal number of one to nine digits without sign or
// leading zero; 0 when s is not one.
func parseNum(s string) int {
	if s == "" || len(s) > 9 || s[0] == '0' {
		return 0
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// String writes the ref in full.
func (r Ref) String() string {
	switch r.Kind {
	case Branch:
		return BranchRef(r.Name)
	case Tag:
		return TagRef(r.Name)
	case PullRequest:
		return PR(r.Num)
	}
	return r.Name
}

// Short is the ref as people write it: the branch or tag name, or "pr/N".
func (r Ref) Short() string {
	switch r.Kind {
	case Branch, Tag:
		return r.Name
	case PullRequest:
		return "pr/" + r.Name
	}
	return strings.TrimPrefix(r.Name, "refs/")
}

// BranchRef is the ref of a branch.
func BranchRef(name string) string { return branchPrefix + name }

// TagRef is the ref of a tag.
func TagRef(name string) string { return tagPrefix + name }

// PR is the ref of pull request num.
func PR(num int) string { return prPrefix + strconv.Itoa(num) }

// PRNum returns N for "refs/pr/N", else 0.
func PRNum(ref string) int { return Parse(ref).Num }

// IsPR reports whether ref is a pull request's ref.
func IsPR(ref string) bool { return Parse(ref).Kind == PullRequest }

// BranchName returns the branch a ref names, and whether it names one.
func BranchName(ref string) (string, bool) {
	r := Parse(ref)
	return r.Name, r.Kind == Branch
}

// Full turns what the Hub or a person may give for a branch ("main",
// "refs/heads/main") into a full ref; a full ref of any kind is kept.
// Empty stays empty.
func Full(ref string) string {
	if ref == "" || strings.HasPrefix(ref, "refs/") {
		return ref
	}
	return BranchRef(ref)
}
