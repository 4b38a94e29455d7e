package chatops

// This file decides which parts of a comment a reader actually sees as prose,
// the way a CommonMark renderer would: fenced and indented code, block quotes
// (with their lazy continuation lines), HTML comments and inline code spans
// are not prose, so nothing in them is a command or a mention.
//
// The analysis never moves text: hidden bytes are replaced by a filler byte
// of the same length, so an offset in a view is an offset in the source. That
// is what lets Safe insert an escape at the exact place Parse would trigger.

import (
	"bytes"
	"sort"
	"strings"
)

// filler replaces hidden bytes in a view. normalize turns NUL bytes of the
// input into U+FFFD, so a filler in a view is never input text.
const filler = '\x00'

// lineKind is what a source line is, at block level.
type lineKind uint8

const (
	lineText  lineKind = iota // paragraph or list text: visible
	lineBlank                 // only spaces or tabs
	lineFence                 // a code fence delimiter or a line inside a fence
	lineHTML                  // part of an HTML comment block
	lineQuote                 // starts with '>'
	lineLazy                  // lazy continuation of a quoted paragraph
	lineCode                  // indented code block
)

// span is an inline code span: backticks from open to cs, content from cs to
// ce, backticks from ce to close.
type span struct{ open, cs, ce, close int }

// line is one source line, without its newline.
type line struct {
	start, end int
	kind       lineKind
}

// doc is the analysis of one normalized comment.
type doc struct {
	src string
	// view is src with hidden blocks and HTML comments replaced by filler;
	// code spans are kept, so a command line can still be read from it.
	view string
	// prose is view with code spans replaced by filler too.
	prose  string
	lines  []line
	spanAt map[int]span // code spans by their opening offset
}

// lineBreaks turns every line ending into "\n": CRLF, CR, and the Unicode
// line breaks (NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR), which CommonMark
// does not break lines at but other readers of a comment (other bots, the
// Hub's own text views) may. NUL bytes, which both CommonMark and the filler
// convention forbid, become U+FFFD.
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n",
	"\x00", "\uFFFD")

// normalize makes line endings "\n" and removes NUL bytes.
func normalize(s string) string {
	if strings.ContainsAny(s, "\r\x00\u0085\u2028\u2029") {
		s = lineBreaks.Replace(s)
	}
	return s
}

// analyze splits a normalized comment into lines and computes its views.
func analyze(src string) *doc {
	d := &doc{src: src, spanAt: map[int]span{}}
	view := []byte(src)

	var (
		inFence   bool
		fenceChar byte
		fenceLen  int
		inHTML    bool
		lazy      bool // the previous line was quoted paragraph text
		para      bool // the previous line was visible paragraph text
	)
	for start := 0; start <= len(src); {
		end := strings.IndexByte(src[start:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += start
		}
		l := src[start:end]
		kind := lineText
		switch {
		case inFence:
			kind = lineFence
			if closesFence(l, fenceChar, fenceLen) {
				inFence = false
			}
		case inHTML:
			kind = lineHTML
			if strings.Contains(l, "-->") {
				inHTML = false
			}
		case isBlank(l):
			kind, lazy, para = lineBlank, false, false
		default:
			col, rest := indentation(l)
			switch {
			case col <= 3 && opensFence(rest):
				kind, inFence, lazy, para = lineFence, true, false, false
				fenceChar, fenceLen = rest[0], runLen(rest, rest[0])
			case col <= 3 && strings.HasPrefix(rest, "<!--"):
				kind, lazy, para = lineHTML, false, false
				inHTML = !commentEndsOnLine(rest)
			case col <= 3 && rest[0] == '>':
				kind, para = lineQuote, false
				lazy = quoteContinues(rest)
			case lazy && !interruptsParagraph(col, rest):
				kind = lineLazy
			case col >= 4 && !para:
				kind = lineCode
			default:
				kind, lazy, para = lineText, false, true
			}
		}
		if kind != lineText && kind != lineBlank {
			for i := start; i < end; i++ {
				view[i] = filler
			}
		}
		d.lines = append(d.lines, line{start: start, end: end, kind: kind})
		start = end + 1
	}

	// Inline constructs live inside paragraphs: runs of text lines, which a
	// list item or heading line starts afresh.
	var spans []span
	for i := 0; i < len(d.lines); {
		if d.lines[i].kind != lineText {
			i++
			continue
		}
		j := i + 1
		for j < len(d.lines) && d.lines[j].kind == lineText && !startsBlock(src[d.lines[j].start:d.lines[j].end]) {
			j++
		}
		spans = inlineScan(view, d.lines[i].start, d.lines[j-1].end, spans)
		i = j
	}
	prose := append([]byte(nil), view...)
	for _, s := range spans {
		d.spanAt[s.open] = s
		for k := s.open; k < s.close; k++ {
			if prose[k] != '\n' {
				prose[k] = filler
			}
		}
	}
	d.view = string(view)
	d.prose = string(prose)
	return d
}

// inlineScan finds code spans and HTML comments in view[gs:ge], the text of
// one paragraph, leftmost first as CommonMark does. HTML comments are
// replaced by filler in view (newlines kept); code spans are returned.
func inlineScan(view []byte, gs, ge int, spans []span) []span {
	// Maximal backtick runs by length, so finding a closing run is a binary
	// search instead of a rescan: adversarial comments stay linear-ish.
	runs := map[int][]int{}
	for i := gs; i < ge; {
		if view[i] != '`' {
			i++
			continue
		}
		j := i
		for j < ge && view[j] == '`' {
			j++
		}
		runs[j-i] = append(runs[j-i], i)
		i = j
	}
	lastClose := bytes.LastIndex(view[gs:ge], []byte("-->"))
	if lastClose >= 0 {
		lastClose += gs
	}

	escaped := false
	for i := gs; i < ge; {
		c := view[i]
		switch {
		case c == '\\' && i+1 < ge && isASCIIPunct(view[i+1]):
			if view[i+1] == '`' {
				// The escaped backtick is literal; the rest of its run may
				// still open a span.
				escaped = true
				i++
				continue
			}
			i += 2
		case c == '`':
			j := i
			for j < ge && view[j] == '`' {
				j++
			}
			open := i
			if escaped {
				open++
			}
			escaped = false
			n := j - open
			if n == 0 {
				i = j
				continue
			}
			cands := runs[n]
			k := sort.SearchInts(cands, j)
			if k == len(cands) {
				i = j
				continue
			}
			ce := cands[k]
			spans = append(spans, span{open: open, cs: j, ce: ce, close: ce + n})
			i = ce + n
		case c == '<' && bytes.HasPrefix(view[i:ge], []byte("<!--")):
			var end int
			switch {
			case bytes.HasPrefix(view[i:ge], []byte("<!-->")):
				end = i + 5
			case bytes.HasPrefix(view[i:ge], []byte("<!--->")):
				end = i + 6
			case lastClose >= i+4:
				end = i + 4 + bytes.Index(view[i+4:ge], []byte("-->")) + 3
			default:
				// Never closed in this paragraph: literal text.
				i += 4
				escaped = false
				continue
			}
			for k := i; k < end; k++ {
				if view[k] != '\n' {
					view[k] = filler
				}
			}
			i = end
		default:
			i++
		}
		escaped = false
	}
	return spans
}

// indentation returns the indentation width in columns (tabs stop every four
// columns) and the rest of the line.
func indentation(l string) (int, string) {
	col := 0
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case ' ':
			col++
		case '\t':
			col += 4 - col%4
		default:
			return col, l[i:]
		}
	}
	return col, ""
}

func isBlank(l string) bool { return strings.Trim(l, " \t") == "" }

func runLen(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}

// opensFence reports whether rest (a line without its indentation) opens a
// fenced code block: three or more backticks whose info string has no
// backtick, or three or more tildes.
func opensFence(rest string) bool {
	if rest == "" || (rest[0] != '`' && rest[0] != '~') {
		return false
	}
	n := runLen(rest, rest[0])
	if n < 3 {
		return false
	}
	return rest[0] == '~' || !strings.Contains(rest[n:], "`")
}

// closesFence reports whether l closes a fence opened with n c's.
func closesFence(l string, c byte, n int) bool {
	col, rest := indentation(l)
	if col > 3 {
		return false
	}
	m := runLen(rest, c)
	return m >= n && isBlank(rest[m:])
}

// commentEndsOnLine reports whether an HTML comment opened at the start of
// rest also ends on that line.
func commentEndsOnLine(rest string) bool {
	return strings.HasPrefix(rest, "<!-->") || strings.HasPrefix(rest, "<!--->") ||
		strings.Contains(rest[4:], "-->")
}

// quoteContinues reports whether a quote line leaves an open paragraph that
// the next unmarked line would lazily continue.
func quoteContinues(rest string) bool {
	for {
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(rest, ">") {
			break
		}
		rest = rest[1:]
	}
	if rest == "" {
		return false
	}
	_, inner := indentation(rest)
	return !opensFence(inner) && !strings.HasPrefix(inner, "<!--")
}

// interruptsParagraph reports whether a line starts a new block even right
// after paragraph text, ending a lazy quote continuation.
func interruptsParagraph(col int, rest string) bool {
	return col <= 3 && (bulletLen(rest) > 0 || isHeading(rest))
}

// startsBlock reports whether a text line starts a new block (a list item or
// a heading), so inline code spans cannot continue into it.
func startsBlock(l string) bool {
	col, rest := indentation(l)
	return bulletLen(rest) > 0 || (col <= 3 && isHeading(rest))
}

func isHeading(rest string) bool {
	n := runLen(rest, '#')
	return n >= 1 && n <= 6 && (len(rest) == n || rest[n] == ' ' || rest[n] == '\t')
}

// bulletLen returns the length of a list marker at the start of s ("- ",
// "* ", "+ ", "1. ", "1) ", including the following blanks), or 0.
func bulletLen(s string) int {
	n := 0
	switch {
	case s == "":
		return 0
	case s[0] == '-' || s[0] == '*' || s[0] == '+':
		n = 1
	default:
		for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 0 || n >= len(s) || (s[n] != '.' && s[n] != ')') {
			return 0
		}
		n++
	}
	if n == len(s) {
		return n
	}
	if s[n] != ' ' && s[n] != '\t' {
		return 0
	}
	for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
		n++
	}
	return n
}

func isASCIIPunct(c byte) bool {
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~')
}

// lineStart returns the offset where a command could start on text line l:
// after at most three columns of indentation and an optional list marker.
// ok is false when the line is indented like code.
func (d *doc) lineStart(l line, text string) (int, bool) {
	col, rest := indentation(text[l.start:l.end])
	if col > 3 {
		return 0, false
	}
	p := l.end - len(rest)
	p += bulletLen(rest)
	return p, true
}
