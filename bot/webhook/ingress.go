package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultMaxBody is the default cap on a delivery's body. The largest
// payload the Hub sends carries a comment's full text (discussion create or
// discussion.comment), and the Hub caps a comment at 65,536 characters. JSON
// escapes a control character as \u00XX, six bytes, so the worst case is
// 384 KiB of comment plus a title of at most 200 characters and about 2 KiB
// of envelope: 512 KiB holds every delivery the Hub can make, and an
// ordinary comment (or one in a non-Latin script, three bytes a character:
// 192 KiB) is far below it.
const DefaultMaxBody = 512 << 10

// DefaultConcurrentBodies is how many delivery bodies are read at once by
// default. Only deliveries with the right secret reach that point, and the
// Hub sends one delivery at a time per webhook, so a few slots are plenty;
// the cap bounds memory at slots × max_body whatever a sender does.
const DefaultConcurrentBodies = 16

// slotWait is how long a delivery waits for a body slot before a 503: long
// enough to absorb a burst, short enough to answer well within the Hub's
// 30 s delivery timeout.
const slotWait = 2 * time.Second

// Ingress is the receiver's front door: it checks the secret before a byte
// of the body is read, refuses bodies over the limit from their declared
// length, and caps how many bodies are read at the same time, so that
// senders without the secret cost almost nothing and senders with it
// cannot exhaust memory.
type Ingress struct {
	verifier *Verifier
	maxBody  int64
	slots    chan struct{}
	wait     time.Duration // for a free slot
}

// NewIngress returns an ingress that reads at most concurrent bodies of at
// most maxBody bytes at once.
func NewIngress(v *Verifier, maxBody int64, concurrent int) *Ingress {
	if concurrent < 1 {
		concurrent = DefaultConcurrentBodies
	}
	return &Ingress{verifier: v, maxBody: maxBody, slots: make(chan struct{}, concurrent), wait: slotWait}
}

// Refusal is an answer given before the body was read, with the outcome to
// count it under.
type Refusal struct {
	Answer
	Outcome string
}

// Admit checks the secret sent with r (X-Webhook-Secret, else the secret
// query parameter) and reads its body. A refusal is answered by the caller
// as is; when the body was left unread the answer closes the connection,
// so that the server does not drain what the sender still pushes.
func (in *Ingress) Admit(ctx context.Context, w http.ResponseWriter, r *http.Request) ([]byte, *Refusal) {
	if err := in.verifier.Verify(r.Header.Get("X-Webhook-Secret"), r.URL.Query().Get("secret")); err != nil {
		w.Header().Set("Connection", "close")
		if errors.Is(err, ErrWrongSecret) {
			return nil, &Refusal{Answer{http.StatusForbidden, map[string]any{"error": err.Error()}}, "forbidden"}
		}
		return nil, &Refusal{Answer{http.StatusUnauthorized, map[string]any{"error": err.Error()}}, "unauthorized"}
	}
	if r.ContentLength > in.maxBody {
		w.Header().Set("Connection", "close")
		return nil, in.tooLarge()
	}
	timer := time.NewTimer(in.wait)
	defer timer.Stop()
	select {
	case in.slots <- struct{}{}:
	case <-timer.C:
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "5")
		return nil, &Refusal{Answer{http.StatusServiceUnavailable,
			map[string]any{"error": "too many deliveries are being read at once; replay this one later"}}, "busy"}
	case <-ctx.Done():
		return nil, &Refusal{Answer{http.StatusServiceUnavailable, map[string]any{"error": "request cancelled"}}, "busy"}
	}
	defer func() { <-in.slots }()

	// Sized from the declared length when there is one, so the buffer is
	// allocated once instead of doubling its way up.
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, in.maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, in.tooLarge()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, &Refusal{Answer{http.StatusBadRequest, map[string]any{"error": "could not read the body"}}, "bad_request"}
	}
	return buf.Bytes(), nil
}

func (in *Ingress) tooLarge() *Refusal {
	return &Refusal{Answer{http.StatusRequestEntityTooLarge,
		map[string]any{"error": fmt.Sprintf("body is larger than server.max_body (%d bytes)", in.maxBody)}}, "too_large"}
}
