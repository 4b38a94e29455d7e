package run

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// redactedMark replaces the token wherever it appears in output.
const redactedMark = "[redacted]"

// capture keeps the head and the tail of a command's output within a byte
// budget, however much the command prints: Write never fails and never
// blocks, so the pipe keeps draining and the command never stalls on a full
// pipe. Secrets are removed from the stream before anything is kept, so a
// cut between head and tail can never leave a recognisable piece of one.
//
// A capture is written by one goroutine (the pipe reader) and read once
// that goroutine is done.
type capture struct {
	secrets [][]byte
	// pending holds the end of the stream that may be the start of a
	// secret, until the next write says whether it is.
	pending []byte
	scratch []byte

	headMax int
	head    []byte
	tail    []byte // ring buffer of the last len(tail) bytes once full
	tailPos int    // where the next byte goes in tail once it is full
	tailMax int
	total   int64 // bytes after redaction
}

// minSecretLen is the length from which a secret is redacted: shorter
// values would blank out ordinary words and numbers.
const minSecretLen = 6

func newCapture(limit int, secrets ...string) *capture {
	headMax := limit / 2
	c := &capture{headMax: headMax, tailMax: limit - headMax}
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			c.secrets = append(c.secrets, []byte(s))
		}
	}
	return c
}

// Write redacts p and keeps what fits.
func (c *capture) Write(p []byte) (int, error) {
	if len(c.secrets) == 0 {
		c.keep(p)
		return len(p), nil
	}
	c.scratch = append(append(c.scratch[:0], c.pending...), p...)
	c.redactInto(c.scratch, false)
	return len(p), nil
}

// flush releases the held-back bytes at the end of the stream.
func (c *capture) flush() {
	if len(c.pending) > 0 {
		c.scratch = append(c.scratch[:0], c.pending...)
		c.redactInto(c.scratch, true)
	}
}

// redactInto keeps data with the secrets replaced. Unless final, it holds
// back in pending the end of data that may still become a secret: the start
// of one, or a match that a longer secret could extend.
func (c *capture) redactInto(data []byte, final bool) {
	for {
		at, n := c.nextSecret(data)
		if at < 0 {
			break
		}
		if !final && c.couldExtend(data[at:], n) {
			c.keep(data[:at])
			c.pending = append(c.pending[:0], data[at:]...)
			return
		}
		c.keep(data[:at])
		c.keep([]byte(redactedMark))
		data = data[at+n:]
	}
	hold := 0
	if !final {
		for _, secret := range c.secrets {
			for n := min(len(data), len(secret)-1); n > hold; n-- {
				if bytes.HasPrefix(secret, data[len(data)-n:]) {
					hold = n
					break
				}
			}
		}
	}
	c.keep(data[:len(data)-hold])
	c.pending = append(c.pending[:0], data[len(data)-hold:]...)
}

// nextSecret finds the first secret in data: its offset (-1 for none) and
// length. At the same offset the longest secret wins.
func (c *capture) nextSecret(data []byte) (at, n int) {
	at = -1
	for _, secret := range c.secrets {
		i := bytes.Index(data, secret)
		if i >= 0 && (at < 0 || i < at || i == at && len(secret) > n) {
			at, n = i, len(secret)
		}
	}
	return at, n
}

// couldExtend reports whether rest, which starts with a secret of length n,
// is the unfinished start of a longer secret.
func (c *capture) couldExtend(rest []byte, n int) bool {
	for _, secret := range c.secrets {
		if len(secret) > n && len(rest) < len(secret) && bytes.HasPrefix(secret, rest) {
			return true
		}
	}
	return false
}

func (c *capture) keep(p []byte) {
	c.total += int64(len(p))
	if n := min(len(p), c.headMax-len(c.head)); n > 0 {
		c.head = append(c.head, p[:n]...)
		p = p[n:]
	}
	if len(p) == 0 || c.tailMax == 0 {
		return
	}
	if len(p) >= c.tailMax {
		// Only the end of p survives.
		c.tail = append(c.tail[:0], p[len(p)-c.tailMax:]...)
		c.tailPos = 0
		return
	}
	if room := c.tailMax - len(c.tail); room > 0 {
		n := min(room, len(p))
		c.tail = append(c.tail, p[:n]...)
		p = p[n:]
	}
	for len(p) > 0 {
		n := copy(c.tail[c.tailPos:], p)
		p = p[n:]
		c.tailPos = (c.tailPos + n) % c.tailMax
	}
}

// dropped is how many bytes were cut between head and tail.
func (c *capture) dropped() int64 {
	return c.total - int64(len(c.head)) - int64(len(c.tail))
}

// text returns the kept output as clean text: terminal escapes and control
// characters removed, carriage returns made line breaks, invalid UTF-8
// replaced, the secret removed once more (after the clean-up, which could
// join its pieces), and a line saying what was cut between head and tail.
func (c *capture) text() string {
	tail := make([]byte, 0, len(c.tail))
	if len(c.tail) == c.tailMax {
		tail = append(append(tail, c.tail[c.tailPos:]...), c.tail[:c.tailPos]...)
	} else {
		tail = append(tail, c.tail...)
	}
	if d := c.dropped(); d > 0 {
		head := cleanText(trimPartialRune(c.head, false))
		rest := cleanText(trimPartialRune(tail, true))
		marker := fmt.Sprintf("[... %s of output cut here ...]", formatSize(d))
		return c.redact(strings.TrimSuffix(head, "\n") + "\n" + marker + "\n" + strings.TrimPrefix(rest, "\n"))
	}
	return c.redact(cleanText(append(c.head, tail...)))
}

func (c *capture) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, string(secret), redactedMark)
	}
	return s
}

// redactAll removes the secrets (those long enough) from s.
func redactAll(s string, secrets []string) string {
	for _, secret := range secrets {
		if len(secret) >= minSecretLen {
			s = strings.ReplaceAll(s, secret, redactedMark)
		}
	}
	return s
}

// trimPartialRune drops a UTF-8 sequence cut in half at the end of b (or,
// with atStart, at its start) by the head/tail split.
func trimPartialRune(b []byte, atStart bool) []byte {
	if atStart {
		n := 0
		for n < len(b) && n < utf8.UTFMax-1 && !utf8.RuneStart(b[n]) {
			n++
		}
		return b[n:]
	}
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

// cleanText makes terminal output fit for a markdown code block: ANSI
// escape sequences (colours, cursor moves, titles) go, a carriage return
// that redraws a line (progress bars) becomes a line break, other control
// characters but tabs go, and invalid UTF-8 becomes U+FFFD.
func cleanText(b []byte) string {
	var out strings.Builder
	out.Grow(len(b))
	for i := 0; i < len(b); i++ {
		ch := b[i]
		switch {
		case ch == 0x1b:
			i = skipEscape(b, i)
		case ch == '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				continue
			}
			out.WriteByte('\n')
		case ch == '\n' || ch == '\t':
			out.WriteByte(ch)
		case ch < 0x20 || ch == 0x7f:
			// other control characters: dropped
		default:
			out.WriteByte(ch)
		}
	}
	return strings.ToValidUTF8(out.String(), "\uFFFD")
}

// skipEscape returns the index of the last byte of the escape sequence that
// starts at b[i] (an ESC).
func skipEscape(b []byte, i int) int {
	if i+1 >= len(b) {
		return i
	}
	switch b[i+1] {
	case '[': // CSI: parameters, then a final byte in 0x40..0x7e
		j := i + 2
		for j < len(b) && (b[j] < 0x40 || b[j] > 0x7e) {
			j++
		}
		return min(j, len(b)-1)
	case ']', 'P', '_', '^': // OSC and friends: up to BEL or ESC \
		for j := i + 2; j < len(b); j++ {
			if b[j] == 0x07 {
				return j
			}
			if b[j] == 0x1b && j+1 < len(b) && b[j+1] == '\\' {
				return j + 1
			}
		}
		return len(b) - 1
	}
	return i + 1 // a two-byte escape
}

// formatSize renders a byte count for people.
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
