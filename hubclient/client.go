// Package hubclient is a typed client for the Hugging Face Hub HTTP API: repo
// info, trees, commits, downloads, discussions and pull requests, and the
// commit API with LFS uploads.
//
// Every call takes a context first. Revisions are escaped in one place
// (repoPath), so `refs/pr/3` always travels as `refs%2Fpr%2F3` in a path.
// Idempotent calls retry on 408, 429, 5xx and connection errors with backoff
// and jitter, honouring Retry-After and the RateLimit header; calls that
// create something (commits, comments, discussions) are never retried: when
// their outcome is unknown the error says so (IsAmbiguous) and the caller can
// look for the result first (FindPullRequest, RefSHA) before trying again.
// The token is never part of an error, a log line or a formatted Client.
package hubclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultEndpoint is the Hub's base URL, as huggingface_hub names it.
const DefaultEndpoint = "https://huggingface.co"

// Options configure a Client. The zero value talks anonymously to the Hub.
type Options struct {
	Endpoint   string       // base URL; default DefaultEndpoint (HF_ENDPOINT semantics)
	Token      string       // Hub token, sent as a bearer token; empty for anonymous calls
	HTTPClient *http.Client // default: a client with connection timeouts and no overall timeout
	UserAgent  string       // default "hubbot/<Version>; go/<version>"
	Version    string       // hubbot's version, for the default User-Agent

	MaxRetries     int           // attempts after the first for idempotent calls; default 5, negative disables
	RetryBaseDelay time.Duration // first backoff; doubled each time; default 1s
	RetryMaxDelay  time.Duration // cap of one backoff and of a server-requested wait; default 8s and 60s
	WhoAmITTL      time.Duration // how long whoami is cached; default 1h

	Logger *slog.Logger // retries and warnings; default discards
	// Observe, when set, is called after every HTTP exchange with the
	// endpoint's name (for example "commit"), the status (0 for a transport
	// error) and how long it took. Metrics hang here.
	Observe func(endpoint string, status int, took time.Duration)
}

// Client talks to one Hub endpoint with one token. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     *secret      // a pointer, so printing a Client shows an address, not the token
	http      *http.Client // follows redirects, dropping the token on another host
	direct    *http.Client // never follows redirects
	userAgent string
	opts      Options
	log       *slog.Logger

	whoamiMu  sync.Mutex
	whoami    *User
	whoamiAt  time.Time
	warnedMu  sync.Mutex
	warnedFor map[string]bool
}

// secret hides the token from fmt, slog and JSON when printed on its own.
type secret string

func (secret) String() string               { return "[redacted]" }
func (secret) GoString() string             { return "[redacted]" }
func (secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// New returns a client for opts.Endpoint.
func New(opts Options) (*Client, error) {
	endpoint := strings.TrimRight(opts.Endpoint, "/")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	base, err := url.Parse(endpoint)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("hub endpoint %q is not an http(s) URL", endpoint)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = defaultHTTPClient()
	}
	follow, direct := *opts.HTTPClient, *opts.HTTPClient
	follow.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		// net/http keeps the header for another port of the same host name;
		// a presigned storage URL must never see the token.
		if req.URL.Host != via[0].URL.Host {
			req.Header.Del("Authorization")
		}
		return nil
	}
	direct.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 5
	}
	if opts.RetryBaseDelay <= 0 {
		opts.RetryBaseDelay = time.Second
	}
	if opts.RetryMaxDelay <= 0 {
		opts.RetryMaxDelay = 8 * time.Second
	}
	if opts.WhoAmITTL <= 0 {
		opts.WhoAmITTL = time.Hour
	}
	ua := opts.UserAgent
	if ua == "" {
		v := opts.Version
		if v == "" {
			v = "devel"
		}
		ua = fmt.Sprintf("hubbot/%s; go/%s", v, strings.TrimPrefix(runtime.Version(), "go"))
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token := secret(opts.Token)
	opts.Token = "" // kept only behind the pointer
	return &Client{
		base:      base,
		token:     &token,
		http:      &follow,
		direct:    &direct,
		userAgent: ua,
		opts:      opts,
		log:       log,
		warnedFor: map[string]bool{},
	}, nil
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 2 * time.Minute // the Hub's commit call may take a minute
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t}
}

// Endpoint returns the base URL the client talks to, without a trailing slash.
func (c *Client) Endpoint() string { return c.base.String() }

// HasToken reports whether the client authenticates its calls.
func (c *Client) HasToken() bool { return *c.token != "" }

// Token returns the token, for the one place that needs it outside HTTP
// headers: git's credentials. Never log it.
func (c *Client) Token() string { return string(*c.token) }

// call describes one HTTP exchange.
type call struct {
	endpoint   string // name for metrics and logs
	method     string
	url        string            // absolute, already escaped
	header     map[string]string // extra headers
	body       func() (io.Reader, error)
	length     int64 // body length when known, else -1
	idempotent bool
	noAuth     bool // presigned URLs: never send the token
	noRedirect bool // hand 3xx answers back to the caller
}

// jsonBody makes a re-readable JSON body for a call.
func jsonBody(v any) (func() (io.Reader, error), int64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, 0, err
	}
	return func() (io.Reader, error) { return bytes.NewReader(data), nil }, int64(len(data)), nil
}

// do runs a call with retries when it is idempotent, and returns a response
// with a 2xx or 3xx status; the caller closes its body. Any other status is
// an *Error.
func (c *Client) do(ctx context.Context, cl call) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, cl)
		if err == nil {
			return resp, nil
		}
		if !cl.idempotent || attempt >= c.opts.MaxRetries || !retryable(err) {
			return nil, err
		}
		wait := c.backoff(attempt, err)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, err // the caller's deadline wins: do not sleep past it
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "hub call failed, retrying",
			slog.String("endpoint", cl.endpoint), slog.String("method", cl.method),
			slog.String("url", redactURL(cl.url)), slog.Int("attempt", attempt+1),
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, errors.Join(err, ctx.Err())
		case <-timer.C:
		}
	}
}

// once runs one HTTP exchange.
func (c *Client) once(ctx context.Context, cl call) (*http.Response, error) {
	var body io.Reader
	if cl.body != nil {
		b, err := cl.body()
		if err != nil {
			return nil, fmt.Errorf("%s %s: prepare body: %w", cl.method, redactURL(cl.url), err)
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", cl.method, redactURL(cl.url), err)
	}
	if cl.body != nil && cl.length >= 0 {
		req.ContentLength = cl.length
		if cl.length == 0 {
			req.Body = http.NoBody
		}
	}
	req.Header.Set("User-Agent", c.userAgent)
	if *c.token != "" && !cl.noAuth {
		req.Header.Set("Authorization", "Bearer "+string(*c.token))
	}
	for k, v := range cl.header {
		req.Header.Set(k, v)
	}
	hc := c.http
	if cl.noRedirect {
		hc = c.direct
	}
	start := time.Now()
	resp, err := hc.Do(req)
	took := time.Since(start)
	if err != nil {
		c.observe(cl.endpoint, 0, took)
		return nil, &TransportError{Method: cl.method, URL: redactURL(cl.url), Err: scrubURLError(err),
			sent: !isDialError(err)}
	}
	c.observe(cl.endpoint, resp.StatusCode, took)
	c.warnOnce(resp)
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, newError(cl.method, cl.url, resp)
	}
	return resp, nil
}

func (c *Client) observe(endpoint string, status int, took time.Duration) {
	if c.opts.Observe != nil {
		c.opts.Observe(endpoint, status, took)
	}
}

// warnOnce logs the Hub's X-HF-Warning headers once per topic.
func (c *Client) warnOnce(resp *http.Response) {
	for _, w := range resp.Header.Values("X-HF-Warning") {
		topic, msg, _ := strings.Cut(w, ";")
		c.warnedMu.Lock()
		seen := c.warnedFor[topic]
		c.warnedFor[topic] = true
		c.warnedMu.Unlock()
		if !seen {
			c.log.Warn("hub warning", slog.String("topic", strings.TrimSpace(topic)), slog.String("message", strings.TrimSpace(msg)))
		}
	}
}

// backoff returns how long to wait before the next attempt: what the server
// asked for when it said so, else an exponential delay with jitter.
func (c *Client) backoff(attempt int, err error) time.Duration {
	var he *Error
	if errors.As(err, &he) && he.RetryAfter > 0 {
		return min(he.RetryAfter, max(c.opts.RetryMaxDelay, 60*time.Second))
	}
	d := c.opts.RetryBaseDelay << min(attempt, 10)
	d = min(d, c.opts.RetryMaxDelay)
	// Full jitter on the upper half keeps retries of many workers apart.
	return d/2 + rand.N(d/2+1)
}

// retryable reports whether an idempotent call may be tried again.
func retryable(err error) bool {
	var he *Error
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return !errors.Is(te.Err, context.Canceled) && !errors.Is(te.Err, context.DeadlineExceeded)
	}
	return false
}

// retryAfter reads how long the server asks us to wait: the RateLimit header
// when the quota is exhausted (r=0; one second more, since t is rounded down),
// else an integer or HTTP-date Retry-After.
func retryAfter(h http.Header) time.Duration {
	if rl := h.Get("RateLimit"); rl != "" {
		if r, t, ok := parseRateLimit(rl); ok && r == 0 {
			return time.Duration(t+1) * time.Second
		}
	}
	ra := strings.TrimSpace(h.Get("Retry-After"))
	if ra == "" {
		return 0
	}
	if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(ra); err == nil {
		return max(time.Until(at), 0)
	}
	return 0
}

// parseRateLimit reads `"api";r=0;t=42` (IETF draft ratelimit headers v9).
func parseRateLimit(v string) (remaining, reset int, ok bool) {
	remaining, reset = -1, -1
	for _, part := range strings.Split(v, ";") {
		key, val, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			continue
		}
		switch strings.TrimSpace(key) {
		case "r":
			remaining = n
		case "t":
			reset = n
		}
	}
	return remaining, reset, remaining >= 0 && reset >= 0
}

// decodeJSON reads a JSON response body into v and closes it.
func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v); err != nil {
		return fmt.Errorf("decode %s response from %s: %w", resp.Request.Method, redactURL(resp.Request.URL.String()), err)
	}
	return nil
}

// getJSON is an idempotent GET decoded into v.
func (c *Client) getJSON(ctx context.Context, endpoint, u string, v any) (*http.Response, error) {
	resp, err := c.do(ctx, call{endpoint: endpoint, method: http.MethodGet, url: u, idempotent: true,
		header: map[string]string{"Accept": "application/json"}})
	if err != nil {
		return nil, err
	}
	return resp, decodeJSON(resp, v)
}

// sendJSON sends a JSON body and decodes the JSON answer into out (when not nil).
func (c *Client) sendJSON(ctx context.Context, endpoint, method, u string, in, out any, idempotent bool) error {
	cl := call{endpoint: endpoint, method: method, url: u, idempotent: idempotent,
		header: map[string]string{"Accept": "application/json"}}
	if in != nil {
		body, n, err := jsonBody(in)
		if err != nil {
			return fmt.Errorf("%s: encode request: %w", endpoint, err)
		}
		cl.body, cl.length = body, n
		cl.header["Content-Type"] = "application/json"
	}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	if out == nil {
		resp.Body.Close()
		return nil
	}
	return decodeJSON(resp, out)
}

// nextLink returns the rel="next" URL of a GitHub-style Link header.
func nextLink(h http.Header) string {
	for _, link := range h.Values("Link") {
		for _, part := range strings.Split(link, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok {
				continue
			}
			if !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
				continue
			}
			return strings.Trim(strings.TrimSpace(target), "<>")
		}
	}
	return ""
}

// resolveLink makes a possibly relative Link target absolute against the endpoint.
func (c *Client) resolveLink(target string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("bad pagination link: %w", err)
	}
	abs := c.base.ResolveReference(u)
	if abs.Host != c.base.Host {
		return "", fmt.Errorf("pagination link points to another host %q", abs.Host)
	}
	return abs.String(), nil
}
