package hubtest

// Matching of .gitattributes and .gitignore patterns, enough of git's rules
// to decide what LFS tracks and what preupload ignores: patterns without a
// slash match the basename at any depth, others are anchored at the root,
// "**" spans directories, "\" escapes, and [[:space:]] matches a blank.

import (
	"path"
	"strings"
)

// matchPattern reports whether a git pattern matches the slash-separated
// repo path p.
func matchPattern(pattern, p string) bool {
	pattern = strings.ReplaceAll(pattern, "[[:space:]]", "[ \t]")
	// A slash at the start or in the middle anchors the pattern at the root.
	anchored := strings.Contains(pattern, "/")
	pattern = strings.TrimPrefix(pattern, "/")
	if pattern == "" {
		return false
	}
	if !anchored {
		base := p[strings.LastIndex(p, "/")+1:]
		ok, _ := path.Match(pattern, base)
		return ok
	}
	return matchSegments(strings.Split(pattern, "/"), strings.Split(p, "/"))
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return true
			}
			for i := 0; i <= len(segs); i++ {
				if matchSegments(rest, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// attributes is a parsed .gitattributes.
type attributes []attrLine

type attrLine struct {
	pattern string
	lfs     *bool // nil: the line does not touch the filter attribute
}

func parseAttributes(content string) attributes {
	var attrs attributes
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		al := attrLine{pattern: fields[0]}
		for _, f := range fields[1:] {
			var v bool
			switch {
			case f == "filter=lfs":
				v = true
			case strings.HasPrefix(f, "filter="), f == "-filter", f == "!filter":
				v = false
			default:
				continue
			}
			al.lfs = &v
		}
		attrs = append(attrs, al)
	}
	return attrs
}

// lfs reports whether the last line touching the filter of p sets it to lfs.
func (a attributes) lfs(p string) bool {
	tracked := false
	for _, l := range a {
		if l.lfs != nil && matchPattern(l.pattern, p) {
			tracked = *l.lfs
		}
	}
	return tracked
}

// escapePattern turns a literal path into a pattern that matches only it,
// the way `git lfs track` writes exact paths.
func escapePattern(p string) string {
	var b strings.Builder
	b.WriteByte('/')
	for _, r := range p {
		switch r {
		case ' ':
			b.WriteString("[[:space:]]")
		case '*', '?', '[', ']', '\\', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ignoreRules is a parsed .gitignore.
type ignoreRules []ignoreLine

type ignoreLine struct {
	pattern string
	negate  bool
	dirOnly bool
}

func parseIgnore(content string) ignoreRules {
	var rules ignoreRules
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimRight(line, " \r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var l ignoreLine
		if strings.HasPrefix(line, "!") {
			l.negate, line = true, line[1:]
		}
		if strings.HasSuffix(line, "/") {
			l.dirOnly, line = true, strings.TrimSuffix(line, "/")
		}
		l.pattern = line
		rules = append(rules, l)
	}
	return rules
}

// ignored reports whether the file p, or one of its directories, is ignored.
func (r ignoreRules) ignored(p string) bool {
	segs := strings.Split(p, "/")
	for i := 1; i <= len(segs); i++ {
		prefix := strings.Join(segs[:i], "/")
		isDir := i < len(segs)
		ignored := false
		for _, l := range r {
			if l.dirOnly && !isDir {
				continue
			}
			if matchPattern(l.pattern, prefix) {
				ignored = !l.negate
			}
		}
		if ignored {
			return true
		}
	}
	return false
}
