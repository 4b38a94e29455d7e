package chatops

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on one command line, so a comment cannot make the bot do large
// amounts of work or store large job arguments.
const (
	maxLineBytes = 1024
	maxArgs      = 16
	maxArgBytes  = 200
)

var (
	errUnterminated = errors.New("a quote is not closed")
	errLineTooLong  = errors.New("the command line is too long")
	errTooManyArgs  = errors.New("the command has too many arguments")
	errArgTooLong   = errors.New("an argument is too long")
)

// splitArgs splits a command line into words like a POSIX shell, but
// expands nothing: no variables, globs, command substitution or operators.
// Words are separated by Unicode spaces. 'single' quotes keep everything
// literally; "double" (or “curly”) quotes honor \" and \\; a backslash
// outside quotes keeps the next character; a run of backticks quotes up to
// the next run of the same length, as a Markdown code span does. Hidden
// text (filler from the Markdown analysis) is dropped.
func splitArgs(s string) ([]string, error) {
	if len(s) > maxLineBytes {
		return nil, errLineTooLong
	}
	var (
		args   []string
		cur    strings.Builder
		inWord bool
	)
	flush := func() {
		if inWord {
			args = append(args, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	write := func(t string) {
		cur.WriteString(strings.ReplaceAll(t, string(filler), ""))
		inWord = true
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == filler:
			i += size
		case unicode.IsSpace(r):
			flush()
			i += size
		case r == '\\':
			if i+1 >= len(s) {
				write(`\`)
				i++
				continue
			}
			_, n := utf8.DecodeRuneInString(s[i+1:])
			write(s[i+1 : i+1+n])
			i += 1 + n
		case r == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errUnterminated
			}
			write(s[i+1 : i+1+end])
			i += end + 2
		case r == '"' || r == '“':
			closing := '"'
			if r == '“' {
				closing = '”'
			}
			j := i + size
			var word strings.Builder
			for {
				if j >= len(s) {
					return nil, errUnterminated
				}
				q, n := utf8.DecodeRuneInString(s[j:])
				if q == closing {
					j += n
					break
				}
				if q == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					word.WriteByte(s[j+1])
					j += 2
					continue
				}
				word.WriteString(s[j : j+n])
				j += n
			}
			write(word.String())
			i = j
		case r == '`':
			n := runLen(s[i:], '`')
			end := closingRun(s[i+n:], n)
			if end < 0 {
				return nil, errUnterminated
			}
			content := s[i+n : i+n+end]
			// Markdown strips one space on each side of a code span.
			if len(content) >= 2 && content[0] == ' ' && content[len(content)-1] == ' ' && strings.Trim(content, " ") != "" {
				content = content[1 : len(content)-1]
			}
			write(content)
			i += n + end + n
		default:
			write(s[i : i+size])
			i += size
		}
		if len(args) > maxArgs {
			return nil, errTooManyArgs
		}
		if cur.Len() > maxArgBytes {
			return nil, errArgTooLong
		}
	}
	flush()
	if len(args) > maxArgs {
		return nil, errTooManyArgs
	}
	return args, nil
}

// closingRun returns the offset in s of the first run of exactly n
// backticks, or -1.
func closingRun(s string, n int) int {
	for i := 0; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		m := runLen(s[i:], '`')
		if m == n {
			return i
		}
		i += m
	}
	return -1
}
