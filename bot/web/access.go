package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hubbot/hubbot/hubclient"
)

const (
	// privacyTTL is how long a repo's visibility is trusted; turning a repo
	// private shows on the dashboard within it.
	privacyTTL = 2 * time.Minute
	// readTTL is how long "this user can read this repo" is trusted.
	readTTL = time.Minute
	// failTTL caches a Hub error briefly, so a page listing many jobs of an
	// unreachable repo does not ask once per row.
	failTTL = 10 * time.Second
)

type cached struct {
	ok      bool
	expires time.Time
}

// access answers whether a repo is public and whether a user may read it,
// asking the Hub and remembering the answers briefly.
type access struct {
	endpoint string
	botToken string
	client   *http.Client

	mu      sync.Mutex
	public  map[string]cached // repo -> is public
	canRead map[string]cached // token hash + repo -> may read
	bot     *hubclient.Client
}

func newAccess(endpoint, botToken string, client *http.Client) *access {
	return &access{endpoint: endpoint, botToken: botToken, client: client,
		public: map[string]cached{}, canRead: map[string]cached{}}
}

func (a *access) lookup(m map[string]cached, key string) (bool, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := m[key]
	if !ok || time.Now().After(c.expires) {
		return false, false
	}
	return c.ok, true
}

func (a *access) store(m map[string]cached, key string, ok bool, ttl time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(m) > 10000 { // a crude bound; entries are cheap to ask again
		clear(m)
	}
	m[key] = cached{ok: ok, expires: time.Now().Add(ttl)}
}

// client returns a Hub client with token; retries are few, since a person
// is waiting for the page.
func (a *access) hubClient(token string) (*hubclient.Client, error) {
	return hubclient.New(hubclient.Options{Endpoint: a.endpoint, Token: token, HTTPClient: a.client, MaxRetries: 1,
		RetryBaseDelay: 200 * time.Millisecond})
}

// isPublic reports whether repo is public, asked with the bot's token. A
// repo the Hub does not describe counts as private.
func (a *access) isPublic(ctx context.Context, repo hubclient.Repo) bool {
	key := repo.String()
	if ok, hit := a.lookup(a.public, key); hit {
		return ok
	}
	a.mu.Lock()
	bot := a.bot
	a.mu.Unlock()
	if bot == nil {
		var err error
		if bot, err = a.hubClient(a.botToken); err != nil {
			return false
		}
		a.mu.Lock()
		a.bot = bot
		a.mu.Unlock()
	}
	info, err := bot.RepoInfo(ctx, repo, "", nil)
	if err != nil {
		a.store(a.public, key, false, failTTL)
		return false
	}
	a.store(a.public, key, !info.Private, privacyTTL)
	return !info.Private
}

// userCanRead reports whether the owner of token can read repo, asking the
// Hub with the user's own token.
func (a *access) userCanRead(ctx context.Context, token string, repo hubclient.Repo) bool {
	sum := sha256.Sum256([]byte(token))
	key := hex.EncodeToString(sum[:8]) + " " + repo.String()
	if ok, hit := a.lookup(a.canRead, key); hit {
		return ok
	}
	c, err := a.hubClient(token)
	if err != nil {
		return false
	}
	_, err = c.RepoInfo(ctx, repo, "", nil)
	switch {
	case err == nil:
		a.store(a.canRead, key, true, readTTL)
		return true
	case hubclient.IsNotFound(err) || hubclient.IsUnauthorized(err) || hubclient.IsForbidden(err):
		a.store(a.canRead, key, false, readTTL)
	default:
		a.store(a.canRead, key, false, failTTL)
	}
	return false
}

// parseRepo reads a repo as jobs and deliveries name it: "ns/name", or with
// a "datasets/" or "spaces/" prefix.
func parseRepo(s string) (hubclient.Repo, bool) {
	parts := strings.Split(strings.Trim(s, "/"), "/")
	var r hubclient.Repo
	switch {
	case len(parts) == 2:
		r = hubclient.Repo{Type: hubclient.Model, ID: parts[0] + "/" + parts[1]}
	case len(parts) == 3 && parts[0] == "datasets":
		r = hubclient.Repo{Type: hubclient.Dataset, ID: parts[1] + "/" + parts[2]}
	case len(parts) == 3 && parts[0] == "spaces":
		r = hubclient.Repo{Type: hubclient.Space, ID: parts[1] + "/" + parts[2]}
	case len(parts) == 3 && parts[0] == "models":
		r = hubclient.Repo{Type: hubclient.Model, ID: parts[1] + "/" + parts[2]}
	default:
		return r, false
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return r, false
		}
	}
	return r, true
}

// canSee decides whether v may see the pages of repo.
func (s *Server) canSee(ctx context.Context, v viewer, repo hubclient.Repo) bool {
	if v.operator {
		return true
	}
	if s.cfg.Dashboard.Public && s.access.isPublic(ctx, repo) {
		return true
	}
	return v.user != nil && s.access.userCanRead(ctx, v.user.Token, repo)
}

// seer caches canSee for one request, which may list many jobs of few repos.
type seer struct {
	s    *Server
	ctx  context.Context
	v    viewer
	seen map[string]bool
}

func (s *Server) seer(ctx context.Context, v viewer) *seer {
	return &seer{s: s, ctx: ctx, v: v, seen: map[string]bool{}}
}

func (se *seer) repo(r hubclient.Repo) bool {
	key := r.String()
	ok, hit := se.seen[key]
	if !hit {
		ok = se.s.canSee(se.ctx, se.v, r)
		se.seen[key] = ok
	}
	return ok
}

func (se *seer) name(repo string) bool {
	r, ok := parseRepo(repo)
	return ok && se.repo(r)
}
