package reply

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/hubclient"
)

// footerRule opens the footer of every reply. The prompt drops it from the
// bot's earlier replies, so the model does not learn to write it.
const footerRule = "\n\n---\n<sub>🤖 "

// composeInput is what a posted reply is made of.
type composeInput struct {
	answer    string          // the model's text
	cutShort  bool            // the model stopped at max_tokens
	commentID string          // the comment answered, for the marker
	model     string          // shown in the footer
	syntax    chatops.Syntax  // the command prefix and the bot's name
	people    map[string]bool // lowercased names of the thread's authors, who may be mentioned
}

// compose turns the model's answer into the comment to post: the answer made
// harmless, then a footer in the bot's own words and the hidden marker. The
// result is at most hubclient.MaxCommentSize characters. It returns "" when
// nothing of the answer is left.
//
// Making harmless means: the model's reasoning, HTML comments (which could
// forge a marker) and invisible characters are removed; images become links
// (an image loads by itself, so an injected one could send data to a third
// party); mentions of anyone who is not in the thread, and of the bot
// itself, lose their "@" (an injected answer must not page strangers or wake
// the bot) — code is left alone for both; and no line starts with a command,
// for this bot or another.
func compose(in composeInput) string {
	text := clean(stripThinking(strings.ToValidUTF8(in.answer, "\uFFFD")))
	text = outsideCode(text, func(prose string) string {
		prose = imageRE.ReplaceAllString(prose, "$1[")
		prose = htmlTagRE.ReplaceAllString(prose, "&lt;$1")
		return unmention(prose, in.syntax.Name, in.people)
	})
	text, _ = eachLine(text, func(line string, code bool) string {
		if !code {
			return line
		}
		// In code an escape shows, so only our own commands get one:
		// the model was told not to write them.
		if rest := strings.TrimLeft(line, " \t"); hasFoldPrefix(rest, in.syntax.Prefix) {
			return line[:len(line)-len(rest)] + "\\" + rest
		}
		return line
	})
	// Only the footer may carry a marker; clean removed every comment, and
	// this keeps it so whatever the steps above did.
	text = strings.ReplaceAll(text, "<!--", "&lt;!--")
	// The loop guard comes after the trim: trimming a leading U+00A0 would
	// otherwise bring a command to the start of the text.
	text = in.syntax.Safe(strings.TrimSpace(text))
	if text == "" {
		return ""
	}

	note := ""
	if in.cutShort {
		note = " It stopped at the length limit, so it may be incomplete."
	}
	footer := footerRule + "Automated answer by hubbot, written by a language model (" + modelLabel(in.model) +
		"). It may be wrong: check it before relying on it, and ask the maintainers when in doubt." + note +
		"</sub>\n" + Marker(in.commentID)

	room := hubclient.MaxCommentSize - utf8.RuneCountInString(footer)
	// The guard runs again on what is kept: a cut can end a code span
	// early and so show what was inside it. Its escapes may need room.
	body := ""
	for keep := room; ; keep -= 256 {
		body = in.syntax.Safe(closeFence(truncateAnswer(text, keep)))
		if utf8.RuneCountInString(body) <= room || keep <= 256 {
			break
		}
	}
	return body + footer
}

var (
	// imageRE finds where a Markdown image starts ("vec![1]" is not one).
	imageRE = regexp.MustCompile(`(^|[^\w\\])!\[`)
	// htmlTagRE finds raw HTML tags. The answer gets none: an <img> loads
	// by itself, and an unclosed <details> or <sub> would hide the footer.
	// Autolinks such as <https://...> are not tags.
	htmlTagRE = regexp.MustCompile(`(?i)<(/?[a-z][a-z0-9-]*(?:[\s/>]|$))`)
)

// closeFence closes a code block the text leaves open, so that the footer
// and its marker are not swallowed by it.
func closeFence(text string) string {
	if _, fence := eachLine(text, func(line string, _ bool) string { return line }); fence != "" {
		return text + "\n" + fence
	}
	return text
}

// outsideCode applies fn to the parts of Markdown text that are not code:
// fenced blocks (``` or ~~~) and code spans within a line are kept as they
// are, since rewriting "@" or "![" there would break the code
// (@torch.no_grad(), vec![1]). Mentions and images in code do nothing.
func outsideCode(text string, fn func(string) string) string {
	out, _ := eachLine(text, func(line string, code bool) string {
		if code {
			return line
		}
		return outsideSpans(line, fn)
	})
	return out
}

// eachLine rewrites text line by line (without the "\n"), telling fn
// whether the line belongs to a fenced code block, its fences included. It
// also returns the fence of a block left open at the end, or "".
func eachLine(text string, fn func(line string, code bool) string) (string, string) {
	lines := strings.Split(text, "\n")
	fence := ""
	for i, line := range lines {
		// A fence is indented by three spaces at most; more is indented
		// code, or the content of a list item.
		t := strings.TrimSpace(line)
		if indent(line) > 3 {
			t = ""
		}
		code := true
		switch {
		case fence != "":
			if strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				fence = ""
			}
		case fenceOf(t) != "":
			fence = fenceOf(t)
		default:
			code = false
		}
		lines[i] = fn(line, code)
	}
	return strings.Join(lines, "\n"), fence
}

// indent is the width of a line's leading blanks, a tab counting four.
func indent(line string) int {
	n := 0
	for _, c := range line {
		switch c {
		case ' ':
			n++
		case '\t':
			n += 4 - n%4
		default:
			return n
		}
	}
	return n
}

// hasFoldPrefix reports whether s starts with prefix, ignoring ASCII case.
func hasFoldPrefix(s, prefix string) bool {
	return prefix != "" && len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// fenceOf returns the run of three or more backticks or tildes that opens
// a fenced code block on line t, or "".
func fenceOf(t string) string {
	if len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return ""
	}
	n := 0
	for n < len(t) && t[n] == t[0] {
		n++
	}
	if n < 3 || (t[0] == '`' && strings.ContainsRune(t[n:], '`')) {
		return ""
	}
	return t[:n]
}

// outsideSpans applies fn to line outside its code spans: a run of
// backticks up to the next run of the same length.
func outsideSpans(line string, fn func(string) string) string {
	var b strings.Builder
	prose := 0
	for i := 0; i < len(line); {
		if line[i] != '`' {
			i++
			continue
		}
		n := 0
		for i+n < len(line) && line[i+n] == '`' {
			n++
		}
		end := closingRun(line, i+n, n)
		if end < 0 {
			i += n
			continue
		}
		b.WriteString(fn(line[prose:i]))
		b.WriteString(line[i:end])
		prose, i = end, end
	}
	b.WriteString(fn(line[prose:]))
	return b.String()
}

// closingRun returns the end of the first run of exactly n backticks in
// line from i, or -1.
func closingRun(line string, i, n int) int {
	for i < len(line) {
		if line[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(line) && line[j] == '`' {
			j++
		}
		if j-i == n {
			return j
		}
		i = j
	}
	return -1
}

// unmention removes the "@" of every mention in text except of the people
// allowed (the thread's authors), and always of the bot itself.
func unmention(text, bot string, people map[string]bool) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		if i > 0 {
			r, _ := utf8.DecodeLastRuneInString(text[:i])
			if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-.@\\/`", r) {
				continue // an e-mail address, a path or an escaped @
			}
		}
		name := mentionName(text[i+1:])
		if name == "" {
			continue
		}
		lower := strings.ToLower(name)
		if people[lower] && !strings.EqualFold(name, bot) {
			continue
		}
		b.WriteString(text[last:i])
		last = i + 1
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// mentionName returns the username s starts with, as the Hub reads one after
// "@": letters, digits, '-', '_' and '.', a trailing '.' not included.
func mentionName(s string) string {
	end := 0
	for end < len(s) {
		c := s[end]
		if isAlnum(c) || c == '-' || c == '_' || (c == '.' && end+1 < len(s) && isAlnum(s[end+1])) {
			end++
			continue
		}
		break
	}
	if end == 0 || !isAlnum(s[0]) {
		return ""
	}
	return s[:end]
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// truncateAnswer keeps text within max characters, cutting at a line when
// one is near, closing a code fence the cut fell into, and saying so.
func truncateAnswer(text string, max int) string {
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	const said = "\n\n_[The answer was cut here: it was too long for a comment.]_"
	keep := max - utf8.RuneCountInString(said) - 64 // and a closing fence
	runes := []rune(text)
	cut := string(runes[:keep])
	if i := strings.LastIndexByte(cut, '\n'); i >= len(cut)*9/10 {
		cut = cut[:i]
	}
	return closeFence(cut) + said
}

// modelLabel shows the model id in a code span, keeping it to the
// characters model ids have.
func modelLabel(model string) string {
	m := strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (isAlnum(byte(r)) || strings.ContainsRune("-_./:+", r)) {
			return r
		}
		return -1
	}, model)
	if len(m) > 100 {
		m = m[:100]
	}
	if m == "" {
		return "unnamed model"
	}
	return "`" + m + "`"
}

// stripFooter removes the footer from one of the bot's earlier replies, for
// the prompt.
func stripFooter(text string) string {
	if i := strings.LastIndex(text, footerRule); i >= 0 {
		return text[:i]
	}
	return text
}
