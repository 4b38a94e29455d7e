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
	// prTTL is how long a repo's list of open pull requests is trusted.
	prTTL = 30 * time.Second
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
	open    map[string]openPRs
	bot     *hubclient.Client
}

// openPRs are the numbers of a repo's open pull requests, or why they are
// not known.
type openPRs struct {
	nums    map[int]bool
	err     error
	expires time.Time
}

func newAccess(endpoint, botToken string, client *http.Client) *access {
	return &access{endpoint: endpoint, botToken: botToken, client: client,
		public: map[string]cached{}, canRead: map[string]cached{}, open: map[string]openPRs{}}
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
	bot, err := a.botClient()
	if err != nil {
		return false
	}
	info, err := bot.RepoInfo(ctx, repo, "", nil)
	if err != nil {
		a.store(a.public, key, false, failTTL)
		return false
	}
	a.store(a.public, key, !info.Private, privacyTTL)
	return !info.Private
}

// botClient returns the Hub client with the bot's token.
func (a *access) botClient() (*hubclient.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bot == nil {
		bot, err := a.hubClient(a.botToken)
		if err != nil {
			return nil, err
		}
		a.bot = bot
	}
	return a.bot, nil
}

// openPRs returns the numbers of repo's open pull requests, drafts
// included, asked of the Hub with the bot's token and remembered for
// prTTL (an error for failTTL).
func (a *access) openPRs(ctx context.Context, repo hubclient.Repo) (map[int]bool, error) {
	key := repo.String()
	a.mu.Lock()
	c, hit := a.open[key]
	a.mu.Unlock()
	if hit && time.Now().Before(c.expires) {
		return c.nums, c.err
	}
	c = openPRs{nums: map[int]bool{}}
	bot, err := a.botClient()
	if err == nil {
		var list []hubclient.Discussion
		list, err = bot.ListDiscussions(ctx, repo, hubclient.ListDiscussionsOptions{Type: "pull_request", Status: "open"})
		for _, d := range list {
			c.nums[d.Num] = true
		}
	}
	c.err, c.expires = err, time.Now().Add(prTTL)
	if err != nil {
		c.nums, c.expires = nil, time.Now().Add(failTTL)
	}
	a.mu.Lock()
	if len(a.open) > 10000 {
		clear(a.open)
	}
	a.open[key] = c
	a.mu.Unlock()
	return c.nums, c.err
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
