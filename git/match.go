package git

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ValidatePattern reports whether pattern is a valid path pattern (see
// MatchPath), with or without a leading !.
func ValidatePattern(pattern string) error {
	p := strings.TrimPrefix(pattern, "!")
	if strings.Trim(p, "/") == "" {
		return fmt.Errorf("path pattern %q is empty", pattern)
	}
	for _, seg := range splitPattern(p) {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("path pattern %q: bad segment %q: %w", pattern, seg, err)
		}
		if seg == "." || seg == ".." {
			return fmt.Errorf("path pattern %q: %q segments never match", pattern, seg)
		}
	}
	return nil
}

// ValidatePatterns validates each pattern, and refuses a list of exclusions
// only, which could never match anything.
func ValidatePatterns(patterns []string) error {
	positive := false
	for _, p := range patterns {
		if err := ValidatePattern(p); err != nil {
			return err
		}
		positive = positive || !strings.HasPrefix(p, "!")
	}
	if len(patterns) > 0 && !positive {
		return errors.New("path patterns: only exclusions (!...), so nothing can match; add a pattern to include")
	}
	return nil
}

// MatchPath reports whether the repo-relative path name (forward slashes)
// matches pattern. Patterns are those of an action's `paths` and of the run
// action's `outputs`:
//
//   - a pattern is anchored at the repo root: "README.md" is the root's
//     README.md only, "*.md" the root's markdown files;
//   - within a segment, *, ? and [...] mean what they mean to path.Match
//     and never cross a slash;
//   - a segment that is exactly ** matches any number of segments, none
//     included ("**/README.md" is every README.md, "a/**/b" also a/b), but
//     a final ** matches at least one ("data/**" is everything below data,
//     not a file named data), and a pattern ending in a slash means the
//     same ("data/").
//
// A leading ! is not special here (see MatchAny); an invalid pattern
// matches nothing (see ValidatePattern).
func MatchPath(pattern, name string) bool {
	name = strings.Trim(name, "/")
	if name == "" {
		return false
	}
	return matchSegments(splitPattern(pattern), strings.Split(name, "/"))
}

// MatchAny reports whether name is included by patterns: the last pattern
// that matches it decides, and a pattern starting with ! excludes, as in
// .gitignore: ["**/*.md", "!docs/**"] is every markdown file outside docs.
func MatchAny(patterns []string, name string) bool {
	included := false
	for _, p := range patterns {
		exclude := strings.HasPrefix(p, "!")
		if MatchPath(strings.TrimPrefix(p, "!"), name) {
			included = !exclude
		}
	}
	return included
}

// MatchPaths decides the `paths` filter of an action: whether any of the
// changed paths is included by patterns. Unknown changes (nil) and an empty
// filter both mean "run": an action without a filter runs on every event,
// and one whose changes cannot be known must not be skipped silently. A
// known but empty change list matches nothing.
func MatchPaths(patterns []string, changed []string) bool {
	if changed == nil || len(patterns) == 0 {
		return true
	}
	for _, name := range changed {
		if MatchAny(patterns, name) {
			return true
		}
	}
	return false
}

// splitPattern cuts a pattern into segments: a leading slash is dropped (the
// pattern is anchored anyway), a trailing one stands for "everything below",
// and runs of ** collapse.
func splitPattern(pattern string) []string {
	p := strings.TrimLeft(pattern, "/")
	if strings.HasSuffix(p, "/") {
		p += "**"
	}
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s == "" || s == "**" && len(segs) > 0 && segs[len(segs)-1] == "**" {
			continue
		}
		segs = append(segs, s)
	}
	return segs
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return len(name) > 0
			}
			for i := 0; i <= len(name); i++ {
				if matchSegments(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
