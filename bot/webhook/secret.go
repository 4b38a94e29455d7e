package webhook

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
)

// Secret check errors. Neither says anything about the secret itself.
var (
	ErrNoSecret    = errors.New("webhook secret missing: send it in the X-Webhook-Secret header")
	ErrWrongSecret = errors.New("webhook secret does not match")
)

// Verifier checks the shared secret of a delivery against every configured
// secret (several are accepted during a rotation).
type Verifier struct {
	sums [][sha256.Size]byte
}

// NewVerifier returns a verifier for the given secrets. Empty ones are skipped.
func NewVerifier(secrets []string) *Verifier {
	v := &Verifier{}
	for _, s := range secrets {
		if s != "" {
			v.sums = append(v.sums, sha256.Sum256([]byte(s)))
		}
	}
	return v
}

// Verify checks the secret sent in the X-Webhook-Secret header, or else in
// the secret query parameter. Both sides are hashed first and every
// configured secret is compared, so timing reveals neither the secret's
// length nor which one matched.
func (v *Verifier) Verify(header, query string) error {
	sent := header
	if sent == "" {
		sent = query
	}
	if sent == "" {
		return ErrNoSecret
	}
	got := sha256.Sum256([]byte(sent))
	match := 0
	for _, want := range v.sums {
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	if match != 1 {
		return ErrWrongSecret
	}
	return nil
}

// GenerateSecret returns a random secret for dry-run use.
func GenerateSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
