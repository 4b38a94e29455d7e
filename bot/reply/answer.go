package reply

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/bot/report"
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
// the bot); and no line starts with a command, for this bot or another.
func compose(in composeInput) string {
	text := clean(stripThinking(strings.ToValidUTF8(in.answer, "\uFFFD")))
	text = strings.ReplaceAll(text, "![", "[")
	text = imgTagRE.ReplaceAllString(text, "&lt;$1")
	text = unmention(text, in.syntax.Name, in.people)
	text = in.syntax.Safe(text)
	text = report.Sanitize(text, in.syntax.Prefix)
	// Only the footer may carry a marker; clean removed every comment, and
	// this keeps it so whatever the steps above did.
	text = strings.ReplaceAll(text, "<!--", "&lt;!--")
	text = strings.TrimSpace(text)
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
	return truncateAnswer(text, room) + footer
}

var imgTagRE = regexp.MustCompile(`(?i)<(img\b)`)

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
	keep := max - utf8.RuneCountInString(said) - len("\n```")
	runes := []rune(text)
	cut := string(runes[:keep])
	if i := strings.LastIndexByte(cut, '\n'); i >= len(cut)*9/10 {
		cut = cut[:i]
	}
	if strings.Count(cut, "```")%2 == 1 {
		cut += "\n```"
	}
	return cut + said
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
