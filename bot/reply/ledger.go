package reply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Ledger remembers replies across retries and restarts: which comments were
// answered (so a reply is never posted twice), which are being answered (so
// two attempts do not race), and how many replies each repo got lately (the
// hourly cap). The bot's store implements it in its database; MemoryLedger
// is for tests and dry runs.
type Ledger interface {
	// Claim atomically records that the reply for c.Key is being made, and
	// answers with what the ledger knew before (see Claimed). The rules, in
	// order:
	//
	//  1. a key whose reply was posted: ClaimPosted, nothing changes;
	//  2. a key claimed and not finished: when the claim is c.Owner's own
	//     (a non-empty owner, the same job on a later attempt) or older than
	//     c.StaleBefore (its worker died), it is taken over (owner and time
	//     become c's): ClaimResumed; otherwise ClaimBusy;
	//  3. a new key: when c.Cap > 0 and the repo already has c.Cap or more
	//     claims made at or after c.WindowStart (posted or not, other keys),
	//     ClaimLimited and nothing is recorded; otherwise the claim is
	//     recorded: ClaimNew.
	Claim(ctx context.Context, c Claim) (Claimed, error)
	// Posted marks the claimed key as answered at at. It is never posted for
	// again, and counts for its repo's cap from at.
	Posted(ctx context.Context, key string, at time.Time) error
	// Release forgets an unfinished claim: nothing was posted, and a later
	// attempt may try again. Releasing a posted or unknown key does nothing.
	Release(ctx context.Context, key string) error
}

// Claim is a request to answer one comment.
type Claim struct {
	Key   string // Key(repo, discussion, comment id)
	Repo  string // hubclient.Repo.String(), for the cap
	Owner string // who claims: the job id, the same on every attempt of one job; may be empty
	At    time.Time

	// StaleBefore is when a claim that was never finished is deemed
	// abandoned by a worker that died, and may be taken over.
	StaleBefore time.Time
	// WindowStart and Cap are the per-repo limit: at most Cap claims made
	// since WindowStart. Cap 0 means no limit.
	WindowStart time.Time
	Cap         int
}

// Claimed is what a Ledger knew about a key when it was claimed.
type Claimed int

// Answers of Ledger.Claim.
const (
	// ClaimNew: the key was unknown and is now the caller's.
	ClaimNew Claimed = iota + 1
	// ClaimResumed: an earlier attempt claimed the key and did not finish;
	// it is now the caller's. That attempt may have posted, so the caller
	// looks at the discussion before posting.
	ClaimResumed
	// ClaimBusy: another attempt is answering right now.
	ClaimBusy
	// ClaimPosted: the key was answered already.
	ClaimPosted
	// ClaimLimited: the repo reached its cap; nothing was recorded.
	ClaimLimited
)

func (c Claimed) String() string {
	switch c {
	case ClaimNew:
		return "new"
	case ClaimResumed:
		return "resumed"
	case ClaimBusy:
		return "busy"
	case ClaimPosted:
		return "posted"
	case ClaimLimited:
		return "limited"
	}
	return fmt.Sprintf("Claimed(%d)", int(c))
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

// Claim implements Ledger.
func (m *MemoryLedger) Claim(_ context.Context, c Claim) (Claimed, error) {
	if c.Key == "" || c.Repo == "" {
		return 0, errors.New("claim a reply: key and repo are required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[c.Key]; ok {
		switch {
		case e.posted:
			return ClaimPosted, nil
		case (c.Owner != "" && e.owner == c.Owner) || e.at.Before(c.StaleBefore):
			e.owner, e.at = c.Owner, c.At
			return ClaimResumed, nil
		}
		return ClaimBusy, nil
	}
	if c.Cap > 0 {
		n := 0
		for _, e := range m.entries {
			if e.repo == c.Repo && !e.at.Before(c.WindowStart) {
				n++
			}
		}
		if n >= c.Cap {
			return ClaimLimited, nil
		}
	}
	m.entries[c.Key] = &ledgerEntry{repo: c.Repo, owner: c.Owner, at: c.At}
	return ClaimNew, nil
}

// Posted implements Ledger.
func (m *MemoryLedger) Posted(_ context.Context, key string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return fmt.Errorf("mark %s posted: it was never claimed", key)
	}
	e.posted, e.at = true, at
	return nil
}

// Release implements Ledger.
func (m *MemoryLedger) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok && !e.posted {
		delete(m.entries, key)
	}
	return nil
}
