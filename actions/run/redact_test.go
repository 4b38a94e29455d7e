package run

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSecretFormsRedactEveryEncoding: the secret, encoded after any number
// of other bytes, in every alphabet, padded or not, leaves at most the few
// characters that also encode its neighbours.
func TestSecretFormsRedactEveryEncoding(t *testing.T) {
	const secret = "fake-token-AbCdEfGhIjKlMnOpQrStUvWx"
	forms := secretForms([]string{secret, "short"})
	encodings := map[string]*base64.Encoding{
		"std": base64.StdEncoding, "url": base64.URLEncoding, "raw std": base64.RawStdEncoding, "raw url": base64.RawURLEncoding,
	}
	for name, enc := range encodings {
		for _, before := range []string{"", "a", "ab", "abc", "abcd"} {
			for _, after := range []string{"", "z", "zy", "zyx"} {
				encoded := enc.EncodeToString([]byte(before + secret + after))
				c := newCapture(1<<16, forms...)
				feed(c, "line "+encoded+" end", 7)
				got := c.text()
				assert.Contains(t, got, redactedMark, "%s %q %q", name, before, after)
				rest := strings.TrimSuffix(strings.TrimPrefix(got, "line "), " end")
				assert.LessOrEqual(t, len(rest)-len(redactedMark), len(enc.EncodeToString([]byte(before+after)))+6,
					"%s %q %q: only the neighbours' characters remain: %s", name, before, after, got)
			}
		}
	}
	for _, encoded := range []string{hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret))),
		url.QueryEscape(secret + "/+ é"), url.PathEscape(secret + "/+ é")} {
		c := newCapture(1<<16, secretForms([]string{secret + "/+ é"})...)
		if !strings.Contains(encoded, "%") {
			c = newCapture(1<<16, forms...)
		}
		feed(c, encoded, 5)
		assert.Equal(t, redactedMark, c.text(), encoded)
	}
	assert.NotContains(t, forms, "short", "values under 6 bytes are not secrets to redact")
}
