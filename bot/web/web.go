// Package web is hubbot's dashboard: server-rendered pages for people (the
// bot's health, deliveries, jobs with their live logs, a repo's latest
// results) and Sign in with Hugging Face.
//
// Pages work without JavaScript; a small embedded script only follows a
// running job's log through server-sent events. Everything is served from
// embedded files under a strict Content-Security-Policy.
//
// Who sees what: pages of public repos are public unless [dashboard] public
// is false; a private repo's pages are shown only to signed-in users whose
// own token can read the repo, and are 404 to anyone else. Operators (the
// [dashboard] admins once signed in, or a client sending HUBBOT_ADMIN_TOKEN
// as a bearer token) see every repo, ignored deliveries and payload bodies,
// and may retry and cancel jobs.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
)

//go:embed templates/*.html static/*
var files embed.FS

// Store is what the dashboard reads and asks of the job store.
type Store interface {
	Deliveries(ctx context.Context, limit int) ([]jobs.DeliveryRecord, error)
	Delivery(ctx context.Context, id int64) (jobs.DeliveryRecord, []byte, error)
	DeliveryJobs(ctx context.Context, keys []string) (map[string][]int64, error)
	FindJobs(ctx context.Context, q jobs.JobQuery) ([]*jobs.Job, error)
	Job(ctx context.Context, id int64) (*jobs.Job, error)
	Attempts(ctx context.Context, id int64) ([]jobs.Attempt, error)
	Retry(ctx context.Context, id int64) (int64, error)
	CancelJob(ctx context.Context, id int64) error
	LatestResults(ctx context.Context, repo string) ([]*jobs.Job, error)
	LogSince(ctx context.Context, id int64, offset int) (jobs.LogChunk, error)
}

// Options configure a Server.
type Options struct {
	Store   Store
	Config  *config.Config
	Version string
	// BotName is the bot's Hub account, "" while unknown.
	BotName func() string
	Logger  *slog.Logger
	// HTTPClient talks to the Hub (repo checks, sign-in); nil for the default.
	HTTPClient *http.Client
	// PollInterval is how often a followed log is read; default 300ms.
	PollInterval time.Duration
	// WebhookCheckEvery is how long / trusts what the Hub said of the
	// bot's webhook; default a minute.
	WebhookCheckEvery time.Duration
	// Now is the clock of that wait; nil for time.Now.
	Now func() time.Time
}

// Server serves the dashboard.
type Server struct {
	opts    Options
	cfg     *config.Config
	log     *slog.Logger
	store   Store
	pages   map[string]*template.Template
	static  http.Handler
	cookies *securecookie.SecureCookie
	csrfKey []byte
	access  *access
	oidc    *signIn
	secrets []string // redacted from logs and payloads

	hookMu      sync.Mutex // held while the Hub is asked
	hook        hookStatus
	hookChecked time.Time
	hookExpires time.Time
}

// New builds the dashboard.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 300 * time.Millisecond
	}
	if opts.WebhookCheckEvery <= 0 {
		opts.WebhookCheckEvery = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BotName == nil {
		opts.BotName = func() string { return "" }
	}
	cfg := opts.Config
	s := &Server{opts: opts, cfg: cfg, log: opts.Logger.With("component", "web"), store: opts.Store}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	s.static = http.StripPrefix("/static/", http.FileServer(http.FS(sub)))

	hashKey, blockKey, csrfKey, err := sessionKeys(cfg.Secrets)
	if err != nil {
		return nil, err
	}
	s.cookies = securecookie.New(hashKey, blockKey)
	s.cookies.MaxAge(int(sessionTTL.Seconds()))
	s.csrfKey = csrfKey
	s.access = newAccess(cfg.Hub.Endpoint, cfg.Secrets.HFToken, opts.HTTPClient)
	if cfg.Dashboard.SignIn() {
		s.oidc = newSignIn(cfg, opts.HTTPClient)
	}
	for _, v := range append([]string{cfg.Secrets.HFToken, cfg.Secrets.AdminToken, cfg.Secrets.LLMAPIKey,
		cfg.Secrets.OAuthClientSecret, cfg.Secrets.SessionKey}, cfg.Secrets.WebhookSecrets...) {
		if len(v) >= 6 {
			s.secrets = append(s.secrets, v)
		}
	}
	return s, nil
}

// sessionKeys derives the cookie keys: from HUBBOT_SESSION_SECRET, else the
// OAuth client secret (stable across restarts of a Space), else random, so
// that sessions end with the process.
func sessionKeys(sec config.Secrets) (hashKey, blockKey, csrfKey []byte, err error) {
	root := []byte(sec.SessionKey)
	if len(root) == 0 {
		root = []byte(sec.OAuthClientSecret)
	}
	if len(root) == 0 {
		root = make([]byte, 32)
		if _, err := rand.Read(root); err != nil {
			return nil, nil, nil, fmt.Errorf("make session key: %w", err)
		}
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, root)
		m.Write([]byte("hubbot dashboard " + label))
		return m.Sum(nil)
	}
	return derive("cookie signature"), derive("cookie encryption"), derive("csrf"), nil
}

// Routes mounts the dashboard's pages on r.
func (s *Server) Routes(r gin.IRouter) {
	g := r.Group("", s.headers, s.identify)
	g.GET("/", s.home)
	g.GET("/deliveries", s.deliveries)
	g.GET("/deliveries/:id", s.delivery)
	g.GET("/jobs", s.jobList)
	g.GET("/jobs/:id", s.job)
	g.GET("/jobs/:id/events", s.jobEvents)
	g.POST("/jobs/:id/retry", s.requirePost, s.retry)
	g.POST("/jobs/:id/cancel", s.requirePost, s.cancel)
	g.GET("/repos/*repo", s.repo)
	g.GET("/login", s.login)
	g.GET("/login/callback", s.callback)
	g.POST("/logout", s.requirePost, s.logout)
	g.GET("/static/*file", func(c *gin.Context) {
		if strings.HasSuffix(c.Param("file"), "/") { // no directory listings
			s.errorPage(c, http.StatusNotFound, "Not found", "There is no page here.")
			return
		}
		c.Header("Cache-Control", "public, max-age=3600")
		s.static.ServeHTTP(c.Writer, c.Request)
	})
}

// csp allows only the dashboard's own files: no inline script or style, no
// third-party resource, no framing, forms posting only here.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (s *Server) headers(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.Next()
}

// redact removes the bot's secrets from text shown on a page.
func (s *Server) redact(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, "[redacted]")
	}
	return text
}

// holdback is how many bytes at the end of a growing log to keep back: the
// longest tail that is the start of a secret, so that a secret written in
// two pieces is still redacted whole once its end arrives.
func (s *Server) holdback(text string) int {
	n := 0
	for _, v := range s.secrets {
		for k := min(len(v)-1, len(text)); k > n; k-- {
			if strings.HasSuffix(text, v[:k]) {
				n = k
				break
			}
		}
	}
	return n
}
