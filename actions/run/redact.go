package run

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
)

// secretForms lists what to remove from output for each secret: the value
// and the encodings a script uses to smuggle it past a literal match, which
// are hex (both cases), URL-encoding (query and path style), and base64
// (standard and URL alphabets, with or without padding, at each of the
// three byte alignments, since the secret may follow other bytes in the
// encoded text). Values under minSecretLen are left out, as in capture.
func secretForms(secrets []string) []string {
	var forms []string
	add := func(s string) {
		if len(s) >= minSecretLen && !slices.Contains(forms, s) {
			forms = append(forms, s)
		}
	}
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		add(s)
		add(hex.EncodeToString([]byte(s)))
		add(strings.ToUpper(hex.EncodeToString([]byte(s))))
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			for k := range 3 {
				add(base64Core(enc, s, k))
			}
		}
	}
	return forms
}

// base64Core is the part of the base64 encoding of s, preceded by k other
// bytes, that depends on s alone: the characters that also encode bits of
// the bytes before or after are cut. Padding only ever follows these, so
// padded and unpadded encodings both contain the core.
func base64Core(enc *base64.Encoding, s string, k int) string {
	data := append(make([]byte, k), s...)
	full := enc.EncodeToString(data)
	// Character i carries bits 6i..6i+5: the first ceil(8k/6) touch the k
	// leading bytes, and only the first floor(8n/6) are complete.
	first := (8*k + 5) / 6
	last := 8 * len(data) / 6
	return full[first:last]
}
