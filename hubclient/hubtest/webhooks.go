package hubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Webhook is a webhook configuration, as set in the Hub's settings.
type Webhook struct {
	// URL receives the POSTs.
	URL string
	// Secret is sent in X-Webhook-Secret when not empty.
	Secret string
	// Domains selects "repo" (repo, repo.content, repo.config) and/or
	// "discussion" (discussion, discussion.comment) events; empty means both.
	Domains []string
	// Watched selects the repos, as on the Hub: {Type: "user" or "org",
	// Name: namespace} for every repo of a namespace, {Type: "model",
	// "dataset" or "space", Name: "ns/name"} for one repo. Empty means every
	// repo on the server.
	Watched []Watch
}

// Watch is one entry of Webhook.Watched.
type Watch struct {
	Type string
	Name string
}

// Delivery is one webhook POST made by the server.
type Delivery struct {
	WebhookID string
	URL       string
	Scope     string // event.scope, e.g. "repo.content"
	Action    string // event.action, e.g. "update"
	RepoType  string
	RepoName  string
	// Payload is the exact body sent.
	Payload []byte
	// Status is the status the receiver answered, 0 when it did not answer;
	// Response holds the first 4 KiB of its body; Err says why it failed.
	Status   int
	Response []byte
	Err      error
}

// Event decodes the payload of d into v, for assertions on its fields.
func (d Delivery) Event(v any) error {
	if err := json.Unmarshal(d.Payload, v); err != nil {
		return fmt.Errorf("decode delivery %s/%s: %w", d.Scope, d.Action, err)
	}
	return nil
}

// The v3 payload, field for field as the Hub sends it.
type payload struct {
	Event       payloadEvent       `json:"event"`
	Repo        payloadRepo        `json:"repo"`
	Discussion  *payloadDiscussion `json:"discussion,omitempty"`
	Comment     *payloadComment    `json:"comment,omitempty"`
	UpdatedRefs []payloadRef       `json:"updatedRefs,omitempty"`
	Webhook     payloadWebhook     `json:"webhook"`
}

type payloadEvent struct {
	Action string `json:"action"`
	Scope  string `json:"scope"`
}

type payloadURL struct {
	Web string `json:"web"`
	API string `json:"api,omitempty"`
}

type payloadID struct {
	ID string `json:"id"`
}

type payloadRepo struct {
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	ID        string     `json:"id"`
	Private   bool       `json:"private"`
	Subdomain string     `json:"subdomain,omitempty"`
	URL       payloadURL `json:"url"`
	HeadSha   string     `json:"headSha,omitempty"`
	Owner     payloadID  `json:"owner"`
}

type payloadDiscussion struct {
	ID            string          `json:"id"`
	Title         string          `json:"title"`
	URL           payloadURL      `json:"url"`
	Status        string          `json:"status"`
	Author        payloadID       `json:"author"`
	Num           int             `json:"num"`
	IsPullRequest bool            `json:"isPullRequest"`
	Changes       *payloadChanges `json:"changes,omitempty"`
}

type payloadChanges struct {
	Base          string `json:"base"`
	MergeCommitID string `json:"mergeCommitId,omitempty"`
}

type payloadComment struct {
	ID      string     `json:"id"`
	Author  payloadID  `json:"author"`
	Content *string    `json:"content,omitempty"`
	Hidden  bool       `json:"hidden"`
	URL     payloadURL `json:"url"`
}

type payloadRef struct {
	Ref    string  `json:"ref"`
	OldSha *string `json:"oldSha"`
	NewSha *string `json:"newSha"`
}

type payloadWebhook struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// hookEvent is an event before it is addressed to a webhook.
type hookEvent struct {
	kind, name, namespace string
	payload               payload
}

type webhookHub struct {
	ctx     context.Context
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger

	mu         sync.Mutex
	senders    []*hookSender
	deliveries []Delivery
	pending    int           // events queued or being sent
	changed    chan struct{} // closed and replaced when deliveries or pending change
	wg         sync.WaitGroup
}

type hookSender struct {
	id     string
	owner  *user // nil for webhooks added by AddWebhook
	signal chan struct{}

	mu       sync.Mutex // guards what follows: the settings API changes them
	cfg      Webhook
	disabled bool
	queue    []queuedDelivery
}

// settings returns the webhook's configuration and whether it is disabled.
func (hs *hookSender) settings() (Webhook, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.cfg, hs.disabled
}

type queuedDelivery struct {
	scope, action, kind, name string
	body                      []byte
}

func newWebhookHub(ctx context.Context, timeout time.Duration, log *slog.Logger) *webhookHub {
	return &webhookHub{
		ctx: ctx, timeout: timeout, log: log, changed: make(chan struct{}),
		client: &http.Client{}, // each delivery carries its own deadline
	}
}

// AddWebhook registers a webhook and returns its id. Events are delivered in
// order by one sender per webhook, after the API call that caused them has
// been answered or at least processed, as on the Hub.
func (s *Server) AddWebhook(h Webhook) (string, error) {
	hs, err := s.addWebhook(nil, h)
	if err != nil {
		return "", err
	}
	return hs.id, nil
}

func (s *Server) addWebhook(owner *user, h Webhook) (*hookSender, error) {
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("add webhook: %w", err)
	}
	hs := &hookSender{id: s.ids.next(), owner: owner, cfg: h, signal: make(chan struct{}, 1)}
	hub := s.hooks
	hub.mu.Lock()
	hub.senders = append(hub.senders, hs)
	hub.mu.Unlock()
	hub.wg.Add(1)
	go hub.run(hs)
	return hs, nil
}

// validate checks a webhook as the settings API does.
func (h Webhook) validate() error {
	if !strings.HasPrefix(h.URL, "http://") && !strings.HasPrefix(h.URL, "https://") {
		return fmt.Errorf("url %q is not http(s)", h.URL)
	}
	for _, d := range h.Domains {
		if d != "repo" && d != "discussion" {
			return fmt.Errorf("domain %q is not repo or discussion", d)
		}
	}
	for _, w := range h.Watched {
		switch w.Type {
		case "user", "org", TypeModel, TypeDataset, TypeSpace:
		default:
			return fmt.Errorf("watched type %q is not user, org, model, dataset or space", w.Type)
		}
		if w.Name == "" {
			return fmt.Errorf("watched %s has no name", w.Type)
		}
	}
	for _, c := range h.Secret {
		if c > 127 {
			return fmt.Errorf("the secret must be ASCII")
		}
	}
	return nil
}

func (h Webhook) matches(ev hookEvent) bool {
	if len(h.Domains) > 0 {
		domain := strings.SplitN(ev.payload.Event.Scope, ".", 2)[0]
		found := false
		for _, d := range h.Domains {
			found = found || d == domain
		}
		if !found {
			return false
		}
	}
	if len(h.Watched) == 0 {
		return true
	}
	for _, w := range h.Watched {
		switch w.Type {
		case "user", "org":
			if w.Name == ev.namespace {
				return true
			}
		default:
			if w.Type == ev.kind && w.Name == ev.name {
				return true
			}
		}
	}
	return false
}

// emit queues ev for every webhook that watches it.
func (hub *webhookHub) emit(ev hookEvent) {
	hub.mu.Lock()
	senders := append([]*hookSender(nil), hub.senders...)
	hub.mu.Unlock()
	for _, hs := range senders {
		cfg, disabled := hs.settings()
		if disabled || !cfg.matches(ev) {
			continue
		}
		p := ev.payload
		p.Webhook = payloadWebhook{ID: hs.id, Version: 3}
		body, err := json.Marshal(p)
		if err != nil {
			hub.log.Error("hubtest: encode webhook payload", "err", err)
			continue
		}
		hub.mu.Lock()
		hub.pending++
		hub.mu.Unlock()
		hs.mu.Lock()
		hs.queue = append(hs.queue, queuedDelivery{
			scope: p.Event.Scope, action: p.Event.Action, kind: ev.kind, name: ev.name, body: body,
		})
		hs.mu.Unlock()
		select {
		case hs.signal <- struct{}{}:
		default:
		}
	}
}

func (hub *webhookHub) run(hs *hookSender) {
	defer hub.wg.Done()
	for {
		select {
		case <-hub.ctx.Done():
			return
		case <-hs.signal:
		}
		for {
			hs.mu.Lock()
			if len(hs.queue) == 0 {
				hs.mu.Unlock()
				break
			}
			next := hs.queue[0]
			hs.queue = hs.queue[1:]
			hs.mu.Unlock()
			d := hub.deliver(hs, next)
			hub.mu.Lock()
			hub.deliveries = append(hub.deliveries, d)
			hub.pending--
			close(hub.changed)
			hub.changed = make(chan struct{})
			hub.mu.Unlock()
			if hub.ctx.Err() != nil {
				return
			}
		}
	}
}

func (hub *webhookHub) deliver(hs *hookSender, q queuedDelivery) Delivery {
	// A delivery goes to the URL and secret of the moment it is sent, as
	// the Hub's replays do after an update.
	cfg, _ := hs.settings()
	d := Delivery{
		WebhookID: hs.id, URL: cfg.URL, Scope: q.scope, Action: q.action,
		RepoType: q.kind, RepoName: q.name, Payload: q.body,
	}
	ctx, cancel := context.WithTimeout(hub.ctx, hub.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(q.body))
	if err != nil {
		d.Err = fmt.Errorf("deliver webhook: %w", err)
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	if cfg.Secret != "" {
		req.Header.Set("X-Webhook-Secret", cfg.Secret)
	}
	resp, err := hub.client.Do(req)
	if err != nil {
		d.Err = fmt.Errorf("deliver webhook %s %s: %w", q.scope, q.action, err)
		hub.log.Warn("hubtest: webhook delivery failed", "url", cfg.URL, "err", err)
		return d
	}
	defer resp.Body.Close()
	d.Status = resp.StatusCode
	d.Response, _ = io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return d
}

func (hub *webhookHub) close() {
	hub.wg.Wait()
}

// Deliveries returns every webhook delivery made so far, in the order they
// completed (which is the order of events for each webhook).
func (s *Server) Deliveries() []Delivery {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return append([]Delivery(nil), s.hooks.deliveries...)
}

// WaitDeliveries waits until at least n deliveries have completed and
// returns them all, or returns the context's error.
func (s *Server) WaitDeliveries(ctx context.Context, n int) ([]Delivery, error) {
	hub := s.hooks
	for {
		hub.mu.Lock()
		if len(hub.deliveries) >= n {
			out := append([]Delivery(nil), hub.deliveries...)
			hub.mu.Unlock()
			return out, nil
		}
		changed := hub.changed
		have := len(hub.deliveries)
		hub.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %d webhook deliveries (have %d): %w", n, have, ctx.Err())
		case <-changed:
		}
	}
}

// WaitIdle waits until every event queued so far has been delivered, and
// returns all deliveries. Events are queued before the API call that caused
// them answers, so after a client call returns WaitIdle sees its events.
func (s *Server) WaitIdle(ctx context.Context) ([]Delivery, error) {
	hub := s.hooks
	for {
		hub.mu.Lock()
		if hub.pending == 0 {
			out := append([]Delivery(nil), hub.deliveries...)
			hub.mu.Unlock()
			return out, nil
		}
		changed := hub.changed
		pending := hub.pending
		hub.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %d pending webhook deliveries: %w", pending, ctx.Err())
		case <-changed:
		}
	}
}

// payloadRepo describes rp in a payload; withHead adds what only repo
// scopes carry: headSha (the head of main) and a Space's subdomain.
func (s *Server) payloadRepo(ctx context.Context, rp *repo, withHead bool) payloadRepo {
	s.mu.Lock()
	pr := payloadRepo{
		Type: rp.kind, Name: rp.name, ID: rp.id, Private: rp.private,
		URL:   payloadURL{Web: s.webURL(rp), API: s.apiURL(rp)},
		Owner: payloadID{ID: rp.ownerID},
	}
	s.mu.Unlock()
	// The Hub sends a Space's subdomain, like headSha, with repo scopes only.
	if withHead {
		pr.HeadSha, _ = s.refSHA(ctx, rp, "refs/heads/main")
		if rp.kind == TypeSpace {
			pr.Subdomain = subdomain(rp.name)
		}
	}
	return pr
}

func (s *Server) emit(rp *repo, p payload) {
	s.hooks.emit(hookEvent{kind: rp.kind, name: rp.name, namespace: rp.namespace, payload: p})
}

// refUpdate is one ref changed by a write; an empty sha means absent.
type refUpdate struct {
	ref            string
	oldSHA, newSHA string
}

// emitRefUpdates sends repo.content for ref changes, as one payload.
func (s *Server) emitRefUpdates(ctx context.Context, rp *repo, updates []refUpdate) {
	if len(updates) == 0 {
		return
	}
	refs := make([]payloadRef, 0, len(updates))
	for _, u := range updates {
		pr := payloadRef{Ref: u.ref}
		if u.oldSHA != "" && u.oldSHA != zeroSHA {
			pr.OldSha = &u.oldSHA
		}
		if u.newSHA != "" && u.newSHA != zeroSHA {
			pr.NewSha = &u.newSHA
		}
		refs = append(refs, pr)
	}
	s.emit(rp, payload{
		Event:       payloadEvent{Action: "update", Scope: "repo.content"},
		Repo:        s.payloadRepo(ctx, rp, true),
		UpdatedRefs: refs,
	})
}
