package run

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// feed writes s to c in chunks of n bytes.
func feed(c *capture, s string, n int) {
	for len(s) > 0 {
		k := min(n, len(s))
		c.Write([]byte(s[:k]))
		s = s[k:]
	}
	c.flush()
}

func TestCaptureKeepsHeadAndTail(t *testing.T) {
	tests := []struct {
		name    string
		limit   int
		input   string
		chunk   int
		want    string
		dropped int64
	}{
		{"fits", 16, "hello\nworld\n", 3, "hello\nworld\n", 0},
		{"exactly the limit", 8, "abcdefgh", 8, "abcdefgh", 0},
		{"head and tail", 8, "abcd0123456789wxyz", 5, "abcd\n[... 10 bytes of output cut here ...]\nwxyz", 10},
		{"one big write", 8, "abcd0123456789wxyz", 100, "abcd\n[... 10 bytes of output cut here ...]\nwxyz", 10},
		{"byte by byte", 8, "abcd0123456789wxyz", 1, "abcd\n[... 10 bytes of output cut here ...]\nwxyz", 10},
		{"tail wraps many times", 6, strings.Repeat("x", 1000) + "END", 7, "xxx\n[... 997 bytes of output cut here ...]\nEND", 997},
		{"a rune cut in half is dropped", 8, "abcé" + strings.Repeat("-", 20) + "wxyz", 3, "abc\n[... 21 bytes of output cut here ...]\nwxyz", 21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture(tt.limit)
			feed(c, tt.input, tt.chunk)
			assert.Equal(t, tt.want, c.text())
			assert.Equal(t, tt.dropped, c.dropped())
			assert.Equal(t, int64(len(tt.input)), c.total)
		})
	}
}

func TestCaptureRedactsAcrossWrites(t *testing.T) {
	const secret = "hf_abcdefghij"
	input := "start " + secret + " middle " + secret + secret + " hf_abc not it hf_abcdefghi end hf_"
	want := "start [redacted] middle [redacted][redacted] hf_abc not it hf_abcdefghi end hf_"
	// Every chunk size puts the cut at every place inside the secret.
	for chunk := 1; chunk <= len(input); chunk++ {
		c := newCapture(1<<10, secret)
		feed(c, input, chunk)
		assert.Equal(t, want, c.text(), "chunks of %d", chunk)
	}
}

func TestCaptureRedactsSeveralSecrets(t *testing.T) {
	const input = "a token-one-123456 b token-one-123 c wandb-secret d short token-one-123"
	for chunk := 1; chunk <= len(input); chunk++ {
		c := newCapture(1<<10, "token-one-123", "token-one-123456", "wandb-secret", "short")
		feed(c, input, chunk)
		assert.Equal(t, "a [redacted] b [redacted] c [redacted] d short [redacted]", c.text(),
			"chunks of %d: the longest secret wins; values under 6 bytes are not redacted", chunk)
	}
}

func TestCaptureCutNeverLeavesASecretPiece(t *testing.T) {
	const secret = "hf_SECRETSECRET"
	// The secret straddles where the head ends.
	c := newCapture(20, secret)
	feed(c, "0123456"+secret+strings.Repeat(".", 100)+"tail", 8)
	assert.NotContains(t, c.text(), "hf_SEC")
	assert.Contains(t, c.text(), "0123456[re")
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"colours", "\x1b[1;31mred\x1b[0m plain", "red plain"},
		{"progress bar", "10%\r50%\r100%\n", "10%\n50%\n100%\n"},
		{"windows line ends", "a\r\nb\r\n", "a\nb\n"},
		{"title sequence", "\x1b]0;title\x07text", "text"},
		{"other controls", "a\x00b\x08c\td", "abc\td"},
		{"invalid utf-8", "ok \xff\xfe end", "ok \uFFFD end"},
		{"escape at the end", "text\x1b", "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, cleanText([]byte(tt.in)))
		})
	}
}

func TestCleanTextCannotJoinASecret(t *testing.T) {
	c := newCapture(1<<10, "hf_SECRETSECRET")
	feed(c, "hf_SECRET\x1b[0mSECRET", 5)
	assert.Equal(t, "[redacted]", c.text())
}
