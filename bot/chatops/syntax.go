package chatops

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultPrefix is the command prefix when the configuration names none.
const DefaultPrefix = "/hubbot"

// Syntax is how a comment addresses the bot: a line that starts with Prefix,
// or with a mention of Name.
type Syntax struct {
	// Prefix starts a command line, compared without regard to case. It
	// starts with a punctuation character that Markdown does not give a
	// meaning to at the start of a line (such as / or !), so Safe can escape
	// it without changing how a text renders.
	Prefix string
	// Name is the bot's Hub username; "@Name" at the start of a line works
	// like Prefix. Empty disables the mention form.
	Name string
}

// prefixStarts are the characters a prefix may start with: ASCII
// punctuation that opens no Markdown block and no mention.
const prefixStarts = "/!.$%&?^;:,"

// Validate reports whether the prefix and name can be used.
func (s Syntax) Validate() error {
	p := s.Prefix
	switch {
	case p == "":
		return fmt.Errorf("command prefix is empty")
	case len(p) > 32:
		return fmt.Errorf("command prefix %q is longer than 32 characters", p)
	case !strings.ContainsRune(prefixStarts, rune(p[0])):
		return fmt.Errorf("command prefix %q must start with one of %s", p, prefixStarts)
	}
	for _, r := range p[1:] {
		if !isNameRune(r) {
			return fmt.Errorf("command prefix %q may only continue with letters, digits, '-', '_' or '.'", p)
		}
	}
	if s.Name != "" && !validUserName(s.Name) {
		return fmt.Errorf("bot name %q is not a Hub username", s.Name)
	}
	return nil
}

// validUserName reports whether s looks like a Hub username: ASCII letters,
// digits, '-', '_' and '.', starting with a letter or digit.
func validUserName(s string) bool {
	if s == "" || len(s) > 96 || !isAlnum(s[0]) {
		return false
	}
	for _, r := range s {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isNameRune(r rune) bool {
	return r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '-' || r == '_' || r == '.')
}

// hasFoldPrefix reports whether s starts with the ASCII string p, ignoring
// ASCII case.
func hasFoldPrefix(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		a, b := s[i], p[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// isSep reports whether a word ends at s[i:]: hidden text (which is
// nothing, as in splitArgs) and then a Unicode space or the end.
func isSep(s string, i int) bool {
	for i < len(s) && s[i] == filler {
		i++
	}
	if i >= len(s) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

// form is how a command line addresses the bot.
type form uint8

const (
	byPrefix form = iota + 1
	byMention
)

// match reports whether text[p:end] starts with the prefix or "@Name" as a
// whole word, and returns where the rest of the command starts.
func (s Syntax) match(text string, p, end int) (form, int) {
	t := text[p:end]
	if hasFoldPrefix(t, s.Prefix) && isSep(t, len(s.Prefix)) {
		return byPrefix, p + len(s.Prefix)
	}
	if s.Name != "" && strings.HasPrefix(t, "@") && hasFoldPrefix(t[1:], s.Name) {
		n := 1 + len(s.Name)
		if n < len(t) && (t[n] == ':' || t[n] == ',') {
			n++
		}
		if isSep(t, n) {
			return byMention, p + n
		}
	}
	return 0, 0
}

// trigger is a line of a comment addressed to the bot.
type trigger struct {
	form form
	pos  int    // offset of the prefix or '@' in the source
	rest string // the rest of the line (view text: code spans kept, comments as filler)
}

// find returns the lines of d addressed to the bot, in order.
func (s Syntax) find(d *doc) []trigger {
	var out []trigger
	for _, l := range d.lines {
		if l.kind != lineText {
			continue
		}
		p, ok := d.lineStart(l, d.prose)
		if !ok || p >= l.end {
			continue
		}
		if f, after := s.match(d.prose, p, l.end); f != 0 {
			out = append(out, trigger{form: f, pos: p, rest: d.view[after:l.end]})
			continue
		}
		// A line that is one code span counts as what is inside: users
		// paste commands wrapped in backticks (runatlantis/atlantis#1752).
		if q, ce, ok := d.wholeSpan(l, p); ok {
			if f, after := s.match(d.view, q, ce); f != 0 {
				out = append(out, trigger{form: f, pos: q, rest: d.view[after:ce]})
			}
		}
	}
	return out
}

// wholeSpan reports whether the text line l, from p on, is exactly one code
// span (hidden text and blanks may follow it), and returns where its content
// starts after blanks and where it ends.
func (d *doc) wholeSpan(l line, p int) (q, ce int, ok bool) {
	sp, ok := d.spanAt[p]
	if !ok || sp.close > l.end {
		return 0, 0, false
	}
	if strings.Trim(d.view[sp.close:l.end], " \t\x00") != "" {
		return 0, 0, false
	}
	q = sp.cs
	for q < sp.ce && (d.view[q] == ' ' || d.view[q] == '\t') {
		q++
	}
	return q, sp.ce, q < sp.ce
}

// mentionAt reports whether text[i:] is a mention of name: "@name" not
// preceded by a word character, a backslash or a path, and not followed by
// more of a username.
func mentionAt(text string, i int, name string) bool {
	if text[i] != '@' || !hasFoldPrefix(text[i+1:], name) {
		return false
	}
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(text[:i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-.@\\/`", r) {
			return false
		}
	}
	j := i + 1 + len(name)
	if j < len(text) {
		c := text[j]
		if isAlnum(c) || c == '-' || c == '_' {
			return false
		}
		if c == '.' && j+1 < len(text) && isAlnum(text[j+1]) {
			return false
		}
	}
	return true
}

// mentions returns the offsets of the mentions of name in d's prose.
func (d *doc) mentions(name string) []int {
	var out []int
	if name == "" {
		return nil
	}
	for i := 0; ; {
		k := strings.IndexByte(d.prose[i:], '@')
		if k < 0 {
			return out
		}
		i += k
		if mentionAt(d.prose, i, name) {
			out = append(out, i)
		}
		i++
	}
}

// Mentions reports whether text mentions @name where a reader sees it: not
// in code, quotes or HTML comments, and not escaped. The reply bot uses it;
// a comment that Parse runs as a command should not also get a reply.
func Mentions(text, name string) bool {
	if !validUserName(name) {
		return false
	}
	return len(analyze(normalize(text)).mentions(name)) > 0
}

// Safe makes text safe for the bot to post: no line of it starts with the
// prefix, with an @mention or with a "/word" command of another bot, and it
// does not mention the bot itself, so neither this bot nor a line-oriented
// bot reading it acts on it. It escapes the first character of each such
// trigger with a backslash, which Markdown does not render (a trigger inside
// a code span gets a visible backslash instead). Line endings, the Unicode
// line breaks included, become "\n".
//
// A line counts as starting with a trigger also after leading Unicode
// spaces (U+00A0, U+3000, ...), which a reader does not tell from
// indentation; and the result stays safe when the caller trims it, which
// can make a line of indented code the start of a paragraph.
//
// For any input, Parse of the result, trimmed or not, is Ignore and
// Mentions of it is false: the fuzz tests check it.
func (s Syntax) Safe(text string) string {
	out := s.safe(normalize(text))
	if rest := strings.TrimLeftFunc(out, unicode.IsSpace); len(rest) < len(out) {
		// What trimming brings to the start must be safe as it will read
		// then; the escapes it needs stay harmless where the text is now.
		lead := out[:len(out)-len(rest)]
		out = lead + s.safe(rest)
	}
	return out
}

// safe escapes the triggers of a normalized text.
func (s Syntax) safe(src string) string {
	d := analyze(src)
	var at []int
	for _, l := range d.lines {
		switch l.kind {
		case lineText:
			p, ok := d.lineStart(l, d.prose)
			if !ok || p >= l.end {
				continue
			}
			if q, ok := s.hazardAt(d.prose, p, l.end); ok {
				at = append(at, q)
			} else if q, ce, ok := d.wholeSpan(l, p); ok {
				if f, _ := s.match(d.view, q, ce); f != 0 {
					at = append(at, q)
				}
			}
		case lineLazy:
			// Hidden from Parse, but a raw line still starts with it.
			if p, ok := d.lineStart(l, src); ok && p < l.end {
				if q, ok := s.hazardAt(src, p, l.end); ok {
					at = append(at, q)
				}
			}
		}
	}
	at = append(at, d.mentions(s.Name)...)
	if len(at) == 0 {
		return src
	}
	// A line start can also be a mention: escape it once.
	sort.Ints(at)
	at = slices.Compact(at)
	var b strings.Builder
	b.Grow(len(src) + len(at))
	last := 0
	for _, p := range at {
		b.WriteString(src[last:p])
		b.WriteByte('\\')
		last = p
	}
	b.WriteString(src[last:])
	return b.String()
}

// hazardAt reports whether the line text[p:end] starts with a trigger once
// Unicode spaces and a list bullet before it are skipped, and where.
func (s Syntax) hazardAt(text string, p, end int) (int, bool) {
	p = skipSpaces(text, p, end)
	if n := bulletLen(text[p:end]); n > 0 {
		p = skipSpaces(text, p+n, end)
	}
	return p, p < end && s.hazard(text, p, end)
}

// skipSpaces returns the offset of the first rune of text[p:end] that is
// not a Unicode space.
func skipSpaces(text string, p, end int) int {
	for p < end {
		r, n := utf8.DecodeRuneInString(text[p:end])
		if !unicode.IsSpace(r) {
			break
		}
		p += n
	}
	return p
}

// hazard reports whether text[p:end], the start of a line, would trigger
// this bot or a line-oriented one: the prefix, an @mention, or "/word".
func (s Syntax) hazard(text string, p, end int) bool {
	t := text[p:end]
	switch {
	case hasFoldPrefix(t, s.Prefix):
		return true
	case len(t) >= 2 && t[0] == '@' && isNameRune(rune(t[1])):
		return true
	case len(t) >= 2 && t[0] == '/' && (isAlnum(t[1])):
		return true
	}
	return false
}
