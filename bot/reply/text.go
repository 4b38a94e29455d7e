package reply

// Text helpers shared by the prompt (untrusted text going to the model) and
// the answer (untrusted text coming back, going to the Hub).

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// clean makes untrusted text show what a reader of the Hub sees, and nothing
// a reader does not: line endings become "\n", HTML comments (hidden when
// rendered, so a classic place to hide instructions) are removed, an
// unclosed one hides the rest as it would in the page, and control and
// invisible format characters (zero-width and bidi controls, tag characters
// used to smuggle text) are dropped. Runs of blank lines become one. Invalid
// UTF-8 is replaced.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	// Invisible characters go first, so that none can hide a comment
	// opener ("<!\u200b--") from the next step.
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	s = htmlCommentRE.ReplaceAllString(s, "")
	if i := strings.Index(s, "<!--"); i >= 0 {
		s = s[:i]
	}
	return blankLinesRE.ReplaceAllString(s, "\n\n")
}

var (
	htmlCommentRE = regexp.MustCompile(`(?s)<!--.*?-->`)
	// blankLinesRE finds runs of blank lines, which removed comments leave.
	blankLinesRE = regexp.MustCompile(`\n[ \t]*\n(?:[ \t]*\n)+`)
)

// estimateTokens is a cheap, deliberately high estimate of how many tokens a
// text costs: about four ASCII characters per token, and a whole token for
// every other character (CJK text and emoji are about one token or more per
// character).
func estimateTokens(s string) int {
	ascii, other := 0, 0
	for _, r := range s {
		if r < utf8.RuneSelf {
			ascii++
		} else {
			other++
		}
	}
	return (ascii+3)/4 + other
}

// headTokens returns the longest start of s that costs at most max tokens,
// ending at a line break when one is in the last fifth of it.
func headTokens(s string, max int) string {
	if max <= 0 {
		return ""
	}
	ascii, other, end := 0, 0, 0
	for i, r := range s {
		if r < utf8.RuneSelf {
			ascii++
		} else {
			other++
		}
		if (ascii+3)/4+other > max {
			break
		}
		end = i + utf8.RuneLen(r)
	}
	head := s[:end]
	if end < len(s) {
		if j := strings.LastIndexByte(head, '\n'); j >= len(head)*4/5 {
			head = head[:j]
		}
	}
	return head
}

// tailTokens returns the longest end of s that costs at most max tokens,
// starting after a line break when one is in the first fifth of it.
func tailTokens(s string, max int) string {
	if max <= 0 {
		return ""
	}
	ascii, other, start := 0, 0, len(s)
	for i := len(s); i > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if r < utf8.RuneSelf {
			ascii++
		} else {
			other++
		}
		if (ascii+3)/4+other > max {
			break
		}
		i -= size
		start = i
	}
	tail := s[start:]
	if start > 0 {
		if j := strings.IndexByte(tail, '\n'); j >= 0 && j <= len(tail)/5 {
			tail = tail[j+1:]
		}
	}
	return tail
}

// cutNote is the line that stands for what was cut out of a text.
const cutNote = "[…]"

// fitTokens keeps s within max tokens: its start and, when there is room, its
// end (where a question often is), with cutNote between. It reports whether
// it cut.
func fitTokens(s string, max int) (string, bool) {
	if estimateTokens(s) <= max {
		return s, false
	}
	room := max - estimateTokens("\n"+cutNote+"\n")
	if room < 8 {
		return headTokens(s, max), true
	}
	head := headTokens(s, room*2/3)
	tail := tailTokens(s[len(head):], room-estimateTokens(head))
	return strings.TrimRight(head, "\n") + "\n" + cutNote + "\n" + strings.TrimLeft(tail, "\n"), true
}

// quote renders untrusted text as a Markdown block quote: every line starts
// with ">", so nothing in it can pass for one of the prompt's own lines.
func quote(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" {
			b.WriteString(">")
			continue
		}
		b.WriteString("> ")
		b.WriteString(l)
	}
	return b.String()
}

// thinkRE matches the reasoning some models (DeepSeek-R1, Qwen3) write
// before their answer on OpenAI-compatible endpoints.
var thinkRE = regexp.MustCompile(`(?is)<think>.*?</think>`)

// stripThinking removes a model's reasoning from its answer. A closing tag
// without an opening one (templates that open the block themselves) drops
// everything before it; an opening tag without a closing one (the answer ran
// out of tokens while thinking) drops everything after it.
func stripThinking(s string) string {
	s = thinkRE.ReplaceAllString(s, "")
	lower := strings.ToLower(s)
	if i := strings.LastIndex(lower, "</think>"); i >= 0 {
		s, lower = s[i+len("</think>"):], lower[i+len("</think>"):]
	}
	if i := strings.Index(lower, "<think>"); i >= 0 {
		s = s[:i]
	}
	return s
}
