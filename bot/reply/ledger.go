package reply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hubbot/hubbot/bot/jobs"
)

// Ledger remembers replies across retries and restarts: which comments were
// answered (so a reply is never posted twice), which are being answered (so
// two attempts do not race), and how many replies each repo got lately (the
// hourly cap). The bot's store implements it in its database; MemoryLedger
// is for tests and dry runs.
type Ledger interface {
	// ClaimReply atomically records that the reply for c.Key is being
	// made, and answers with what the ledger knew before, one of the
	// jobs.Reply* outcomes. The rules, in order:
	//
	//  1. a key whose reply was posted: jobs.ReplyPosted, nothing changes;
	//  2. a key claimed and not finished: when the claim is c.Owner's own
	//     (a non-empty owner, the same job on a later attempt) or older than
	//     c.StaleBefore (its worker died), it is taken over (owner and time
	//     become c's): jobs.ReplyResumed; otherwise jobs.ReplyBusy;
	//  3. a new key: when c.Cap > 0 and the repo already has c.Cap or more
	//     claims made at or after c.WindowStart (posted or not, other keys),
	//     jobs.ReplyLimited and nothing is recorded; otherwise the claim is
	//     recorded: jobs.ReplyNew.
	//
	// The bot's store (*jobs.Queue) implements it; the claim's fields are
	// documented there.
	ClaimReply(ctx context.Context, c jobs.ReplyClaim) (string, error)
	// ReplyPosted marks the claimed key as answered at at. It is never
	// posted for again, and counts for its repo's cap from at.
	ReplyPosted(ctx context.Context, key string, at time.Time) error
	// ReleaseReply forgets an unfinished claim: nothing was posted, and a
	// later attempt may try again. Releasing a posted or unknown key does
	// nothing.
	ReleaseReply(ctx context.Context, key string) error
}

// MemoryLedger is a Ledger in memory, for tests and dry runs: it forgets
// everything when the process ends, so it does not protect against
// duplicates across restarts. It is safe for concurrent use.
type MemoryLedger struct {
	mu      sync.Mutex
	entries map[string]*ledgerEntry
}

type ledgerEntry struct {
	repo   string
	owner  string
	at     time.Time
	posted bool
}

// NewMemoryLedger returns an empty ledger.
func NewMemoryLedger() *MemoryLedger {
	return &MemoryLedger{entries: map[string]*ledgerEntry{}}
}

// ClaimReply implements Ledger.
func (m *MemoryLedger) ClaimReply(_ context.Context, c jobs.ReplyClaim) (string, error) {
	if c.Key == "" || c.Repo == "" {
		return "", errors.New("claim a reply: key and repo are required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[c.Key]; ok {
		switch {
		case e.posted:
			return jobs.ReplyPosted, nil
		case (c.Owner != "" && e.owner == c.Owner) || e.at.Before(c.StaleBefore):
			e.owner, e.at = c.Owner, c.At
			return jobs.ReplyResumed, nil
		}
		return jobs.ReplyBusy, nil
	}
	if c.Cap > 0 {
		n := 0
		for _, e := range m.entries {
			if e.repo == c.Repo && !e.at.Before(c.WindowStart) {
				n++
			}
		}
		if n >= c.Cap {
			return jobs.ReplyLimited, nil
		}
	}
	m.entries[c.Key] = &ledgerEntry{repo: c.Repo, owner: c.Owner, at: c.At}
	return jobs.ReplyNew, nil
}

// ReplyPosted implements Ledger.
func (m *MemoryLedger) ReplyPosted(_ context.Context, key string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return fmt.Errorf("mark %s posted: it was never claimed", key)
	}
	e.posted, e.at = true, at
	return nil
}

// ReleaseReply implements Ledger.
func (m *MemoryLedger) ReleaseReply(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok && !e.posted {
		delete(m.entries, key)
	}
	return nil
}
