package chatops

// Small helpers for the markdown the bot writes and for "did you mean".

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// usageError is a mistake in a command line, explained to the commenter.
type usageError struct {
	msg     string   // markdown, one or more sentences
	unknown bool     // the command name itself is unknown
	word    string   // the unknown command name, as written
	suggest []string // near misses, best first
}

func (e *usageError) Error() string { return e.msg }

// text renders the error as sentences, with its suggestions.
func (e *usageError) text() string {
	msg := e.msg
	if r, n := utf8.DecodeRuneInString(msg); unicode.IsLower(r) {
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	if len(e.suggest) == 0 {
		return msg
	}
	return msg + " Did you mean " + orList(e.suggest) + "?"
}

// code renders s as an inline code span that s cannot break out of: the
// fence is longer than any backtick run in s. Newlines become spaces and
// long texts are cut, since s may come from a comment.
func code(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == filler {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > 100 {
		s = string([]rune(s)[:99]) + "…"
	}
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 || s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// codeList renders names as "`a`, `b`, `c`".
func codeList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = code(n)
	}
	return strings.Join(parts, ", ")
}

// orList renders names as "`a`", "`a` or `b`", "`a`, `b` or `c`".
func orList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = code(n)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// quoted renders a command line as a block quote followed by a blank line,
// which ends the quote (a following line would otherwise continue it).
func quoted(line string) string {
	line = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == filler {
			return ' '
		}
		return r
	}, line)
	if utf8.RuneCountInString(line) > 200 {
		line = string([]rune(line)[:199]) + "…"
	}
	return "> " + line + "\n\n"
}

// shortSHA abbreviates a commit for messages.
func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// suggest returns the candidates close to word, best first: an edit
// distance (with transpositions) of 1 for short words and 2 for longer ones,
// or candidates that word is a prefix of.
func suggest(word string, candidates []string) []string {
	limit := 1
	if utf8.RuneCountInString(word) >= 5 {
		limit = 2
	}
	return suggestWithin(word, candidates, limit, true)
}

// suggestWithin returns the candidates at most limit edits from word (or,
// with prefixes, that word is a prefix of), best first, at most three.
func suggestWithin(word string, candidates []string, limit int, prefixes bool) []string {
	w := strings.ToLower(word)
	if w == "" || utf8.RuneCountInString(w) > 40 {
		return nil
	}
	type scored struct {
		name string
		d    int
	}
	var found []scored
	seen := map[string]bool{}
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if seen[lc] || lc == w {
			continue
		}
		seen[lc] = true
		d := distance(w, lc)
		if d > limit && !(prefixes && len(w) >= 3 && strings.HasPrefix(lc, w)) {
			continue
		}
		found = append(found, scored{c, d})
	}
	sort.SliceStable(found, func(i, j int) bool {
		if found[i].d != found[j].d {
			return found[i].d < found[j].d
		}
		return found[i].name < found[j].name
	})
	out := make([]string, 0, 3)
	for i := 0; i < len(found) && i < 3; i++ {
		out = append(out, found[i].name)
	}
	return out
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours cost 1.
func distance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}

// plural writes "1 job" or "2 jobs".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
