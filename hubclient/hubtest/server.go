package hubtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Server made by New. The zero value is ready to use.
type Options struct {
	// Addr and CDNAddr are the listen addresses of the Hub and of the fake
	// CDN. Empty means a free loopback port.
	Addr    string
	CDNAddr string

	// Dir holds the bare git repositories and the LFS objects. Empty means a
	// temporary directory removed by Close; a given Dir is kept and must be
	// empty or absent (users, tokens and discussions live in memory only).
	Dir string

	// Clock gives the time of commits, discussions and ids. Nil means
	// time.Now. A fixed clock makes commit shas reproducible.
	Clock func() time.Time

	// WebhookTimeout bounds each webhook delivery, like the Hub's ~30 s.
	// Zero means 30 s.
	WebhookTimeout time.Duration

	// MaxRecordedBody caps the request body bytes kept by Requests. Zero
	// means 64 KiB; the size of the whole body is always counted.
	MaxRecordedBody int
	// MaxRecordedRequests keeps only the last requests of each listener, for
	// a long-running sandbox. Zero keeps them all.
	MaxRecordedRequests int

	// MultipartThreshold is the size from which LFS uploads get the Hub's
	// multipart transfer when the client offers it; MultipartChunkSize is the
	// size of each part. Zero means 20 MiB and 8 MiB.
	MultipartThreshold int64
	MultipartChunkSize int64

	// DiscussionsPageSize is the number of discussions per page of the
	// discussions list. Zero means 50, the Hub's page size.
	DiscussionsPageSize int

	// Logger receives the server's own errors (failed git commands, webhook
	// failures). Nil discards them.
	Logger *slog.Logger
}

// Server is a fake Hub listening on two loopback ports: URL for the Hub and
// CDNURL for the presigned LFS storage URLs.
type Server struct {
	// URL is the base URL of the Hub, "http://127.0.0.1:port", with no
	// trailing slash. Clients use it as their endpoint (HF_ENDPOINT).
	URL string
	// CDNURL is the base URL of the fake CDN/S3 host.
	CDNURL string

	opts    Options
	dir     string
	tempDir bool // dir is ours to remove
	git     *gitRunner
	log     *slog.Logger
	secret  []byte // signs presigned URLs

	hub, cdn   *http.Server
	serveWG    sync.WaitGroup
	closeOnce  sync.Once
	baseCtx    context.Context // cancelled by Close
	cancelBase context.CancelFunc

	hooks  *webhookHub
	rec    *recorder
	faults armed[Fault]
	// storageFaults change how the storage serves LFS downloads.
	storageFaults armed[StorageFault]
	uploads       *uploadSet
	ids           *idSource

	mu         sync.Mutex          // guards the fields below and the in-memory state of repos
	users      map[string]*user    // by name
	tokens     map[string]*token   // by token string
	orgs       map[string]*org     // by name
	repos      map[string]*repo    // by repoKey
	repoOrder  []*repo             // creation order, for lists
	namespaces map[string]struct{} // user and org names
	oauthSt    *oauthState         // the OAuth provider, made on first use
}

// NewServer starts a Server with default options on loopback ports, like
// httptest.NewServer. It panics if the server cannot start; call Close when
// done.
func NewServer() *Server {
	s, err := New(Options{})
	if err != nil {
		panic(fmt.Sprintf("hubtest: %v", err))
	}
	return s
}

// New starts a Server with opts. Use it outside tests (a local sandbox) or to
// set options; call Close when done.
func New(opts Options) (*Server, error) {
	if _, err := gitVersion(); err != nil {
		return nil, fmt.Errorf("start fake hub: git is required on PATH: %w", err)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = 30 * time.Second
	}
	if opts.MaxRecordedBody <= 0 {
		opts.MaxRecordedBody = 64 << 10
	}
	if opts.MultipartThreshold <= 0 {
		opts.MultipartThreshold = 20 << 20
	}
	if opts.MultipartChunkSize <= 0 {
		opts.MultipartChunkSize = 8 << 20
	}
	if opts.DiscussionsPageSize <= 0 {
		opts.DiscussionsPageSize = 50
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	s := &Server{
		opts:       opts,
		log:        log,
		users:      map[string]*user{},
		tokens:     map[string]*token{},
		orgs:       map[string]*org{},
		repos:      map[string]*repo{},
		namespaces: map[string]struct{}{},
	}
	s.ids = newIDSource(opts.Clock)
	s.secret = make([]byte, 32)
	if _, err := rand.Read(s.secret); err != nil {
		return nil, fmt.Errorf("start fake hub: make url signing key: %w", err)
	}

	if err := s.prepareDir(opts.Dir); err != nil {
		return nil, err
	}
	s.git = newGitRunner(s.dir)
	for _, sub := range []string{"repos", "lfs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(s.dir, sub), 0o755); err != nil {
			s.removeDir()
			return nil, fmt.Errorf("start fake hub: %w", err)
		}
	}

	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.rec = newRecorder(opts.MaxRecordedBody, opts.MaxRecordedRequests)
	s.uploads = newUploadSet()
	s.hooks = newWebhookHub(s.baseCtx, opts.WebhookTimeout, log)

	if err := s.listen(); err != nil {
		s.cancelBase()
		s.removeDir()
		return nil, err
	}
	return s, nil
}

func (s *Server) prepareDir(dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "hubtest-")
		if err != nil {
			return fmt.Errorf("start fake hub: make temp dir: %w", err)
		}
		s.dir, s.tempDir = d, true
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("start fake hub: dir %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return fmt.Errorf("start fake hub: create dir: %w", err)
		}
	case err != nil:
		return fmt.Errorf("start fake hub: read dir: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("start fake hub: dir %s is not empty (state is not reloaded from disk)", abs)
	}
	s.dir = abs
	return nil
}

func (s *Server) removeDir() {
	if s.tempDir {
		_ = os.RemoveAll(s.dir)
	}
}

func (s *Server) listen() error {
	hubAddr, cdnAddr := s.opts.Addr, s.opts.CDNAddr
	if hubAddr == "" {
		hubAddr = "127.0.0.1:0"
	}
	if cdnAddr == "" {
		cdnAddr = "127.0.0.1:0"
	}
	hubLn, err := net.Listen("tcp", hubAddr)
	if err != nil {
		return fmt.Errorf("start fake hub: listen on %s: %w", hubAddr, err)
	}
	cdnLn, err := net.Listen("tcp", cdnAddr)
	if err != nil {
		hubLn.Close()
		return fmt.Errorf("start fake hub: listen on %s for the cdn: %w", cdnAddr, err)
	}
	s.URL = "http://" + dialAddr(hubLn.Addr())
	s.CDNURL = "http://" + dialAddr(cdnLn.Addr())

	baseCtx := func(net.Listener) context.Context { return s.baseCtx }
	s.hub = &http.Server{
		Handler:           s.middleware(listenerHub, http.HandlerFunc(s.routeHub)),
		BaseContext:       baseCtx,
		ReadHeaderTimeout: 30 * time.Second,
	}
	s.cdn = &http.Server{
		Handler:           s.middleware(listenerCDN, http.HandlerFunc(s.routeCDN)),
		BaseContext:       baseCtx,
		ReadHeaderTimeout: 30 * time.Second,
	}
	for _, p := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{s.hub, hubLn}, {s.cdn, cdnLn}} {
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			if err := p.srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("hubtest: serve", "err", err)
			}
		}()
	}
	return nil
}

// dialAddr is an address clients can dial: a listener on all interfaces
// (":7860") is reached on loopback.
func dialAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	// Go's wildcard listeners are dual-stack, so IPv4 loopback reaches them.
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
}

// Close stops both listeners, cancels pending webhook deliveries, and removes
// the temporary directory. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.hub.Shutdown(ctx)
		_ = s.cdn.Shutdown(ctx)
		s.cancelBase()
		_ = s.hub.Close()
		_ = s.cdn.Close()
		s.serveWG.Wait()
		s.hooks.close()
		s.removeDir()
	})
}

// Dir returns the directory holding the bare repositories and LFS objects.
func (s *Server) Dir() string { return s.dir }

const (
	listenerHub = "hub"
	listenerCDN = "cdn"
)

// routeHub dispatches a request on the Hub listener.
func (s *Server) routeHub(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		s.routeAPI(w, r)
	case p == "/.well-known/openid-configuration" || strings.HasPrefix(p, "/oauth/"):
		s.routeOAuth(w, r)
	case strings.Contains(p, ".git/info/lfs/"):
		s.routeLFS(w, r)
	default:
		if s.routeGitOrFiles(w, r) {
			return
		}
		writeError(w, http.StatusNotFound, "", "Not Found")
	}
}
