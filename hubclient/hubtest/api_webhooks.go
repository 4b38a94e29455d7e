package hubtest

import (
	"net/http"
	"slices"
)

// The webhook settings API under /api/settings/webhooks, as huggingface_hub's
// webhook methods use it. Webhooks belong to the token's user, who alone
// sees and changes them. Where the Hub's answers are not documented, the fake
// chooses: create and delete answer 200; an empty watched list, a missing
// url or an unknown domain or type answers 400; another user's webhook
// answers 404, like a missing one.

// webhookRequest is the body of create and update.
type webhookRequest struct {
	Watched     *[]Watch  `json:"watched"`
	Domains     *[]string `json:"domains"`
	Secret      *string   `json:"secret"`
	URL         *string   `json:"url"`
	JobSourceID *string   `json:"jobSourceId"`
}

// webhookJSON is a webhook as the API answers it.
type webhookJSON struct {
	ID       string      `json:"id"`
	URL      string      `json:"url"`
	Watched  []watchJSON `json:"watched"`
	Domains  []string    `json:"domains"`
	Secret   string      `json:"secret,omitempty"`
	Disabled bool        `json:"disabled"`
}

type watchJSON struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

func (hs *hookSender) json() webhookJSON {
	cfg, disabled := hs.settings()
	out := webhookJSON{ID: hs.id, URL: cfg.URL, Secret: cfg.Secret, Disabled: disabled,
		Watched: []watchJSON{}, Domains: slices.Clone(cfg.Domains)}
	for _, w := range cfg.Watched {
		out.Watched = append(out.Watched, watchJSON(w))
	}
	if len(out.Domains) == 0 {
		out.Domains = []string{"repo", "discussion"}
	}
	return out
}

func (s *Server) routeSettingsAPI(w http.ResponseWriter, r *http.Request, p principal, segs []string) {
	if len(segs) == 0 || segs[0] != "webhooks" {
		writeError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	if p.anonymous() {
		writeError(w, http.StatusUnauthorized, "", "You must be authenticated to manage webhooks")
		return
	}
	segs = segs[1:]
	if len(segs) == 0 {
		switch r.Method {
		case http.MethodGet:
			s.handleListWebhooks(w, p)
		case http.MethodPost:
			s.handleCreateWebhook(w, r, p)
		default:
			methodNotAllowed(w, http.MethodGet, http.MethodPost)
		}
		return
	}
	id, err := unescapeAll(segs[:1])
	if err != nil {
		writeAPIError(w, err)
		return
	}
	hs := s.ownWebhook(p, id)
	if hs == nil || len(segs) > 2 {
		writeError(w, http.StatusNotFound, "", "Webhook not found")
		return
	}
	if len(segs) == 2 {
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		switch segs[1] {
		case "enable", "disable":
			if p.role != RoleWrite {
				writeError(w, http.StatusForbidden, "", "A write token is needed to manage webhooks")
				return
			}
			hs.mu.Lock()
			hs.disabled = segs[1] == "disable"
			hs.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{"webhook": hs.json()})
		default:
			writeError(w, http.StatusNotFound, "", "Not Found")
		}
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"webhook": hs.json()})
	case http.MethodPost:
		s.handleUpdateWebhook(w, r, p, hs)
	case http.MethodDelete:
		if p.role != RoleWrite {
			writeError(w, http.StatusForbidden, "", "A write token is needed to manage webhooks")
			return
		}
		s.removeWebhook(hs)
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPost, http.MethodDelete)
	}
}

// ownWebhook returns p's webhook with that id, or nil.
func (s *Server) ownWebhook(p principal, id string) *hookSender {
	hub := s.hooks
	hub.mu.Lock()
	defer hub.mu.Unlock()
	for _, hs := range hub.senders {
		if hs.id == id && hs.owner == p.user {
			return hs
		}
	}
	return nil
}

func (s *Server) removeWebhook(hs *hookSender) {
	hs.mu.Lock()
	hs.disabled = true // deliveries already queued still go out; new events do not
	hs.mu.Unlock()
	hub := s.hooks
	hub.mu.Lock()
	hub.senders = slices.DeleteFunc(hub.senders, func(x *hookSender) bool { return x == hs })
	hub.mu.Unlock()
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, p principal) {
	hub := s.hooks
	hub.mu.Lock()
	senders := slices.Clone(hub.senders)
	hub.mu.Unlock()
	out := []webhookJSON{}
	for _, hs := range senders {
		if hs.owner == p.user {
			out = append(out, hs.json())
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// readWebhookRequest decodes and checks a create or update body on top of
// the current configuration (zero for create).
func readWebhookRequest(r *http.Request, cur Webhook) (Webhook, error) {
	var req webhookRequest
	if err := decodeJSONBody(r, &req); err != nil {
		return cur, err
	}
	if req.JobSourceID != nil {
		return cur, errBadRequest("the fake hub does not run Jobs: give a url instead of jobSourceId")
	}
	if req.Watched == nil || len(*req.Watched) == 0 {
		return cur, errBadRequest("watched must name at least one user, org or repo")
	}
	cur.Watched = slices.Clone(*req.Watched)
	if req.Domains != nil {
		cur.Domains = slices.Clone(*req.Domains)
	}
	if req.Secret != nil {
		cur.Secret = *req.Secret
	}
	if req.URL != nil {
		cur.URL = *req.URL
	}
	if cur.URL == "" {
		return cur, errBadRequest("url is required")
	}
	if err := cur.validate(); err != nil {
		return cur, errBadRequest(err.Error())
	}
	return cur, nil
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request, p principal) {
	if p.role != RoleWrite {
		writeError(w, http.StatusForbidden, "", "A write token is needed to manage webhooks")
		return
	}
	h, err := readWebhookRequest(r, Webhook{})
	if err != nil {
		writeAPIError(w, err)
		return
	}
	hs, err := s.addWebhook(p.user, h)
	if err != nil {
		writeAPIError(w, errBadRequest(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook": hs.json()})
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request, p principal, hs *hookSender) {
	if p.role != RoleWrite {
		writeError(w, http.StatusForbidden, "", "A write token is needed to manage webhooks")
		return
	}
	cur, _ := hs.settings()
	h, err := readWebhookRequest(r, cur)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	hs.mu.Lock()
	hs.cfg = h
	hs.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"webhook": hs.json()})
}

// Webhooks returns the configuration of every webhook, for assertions.
func (s *Server) Webhooks() []Webhook {
	hub := s.hooks
	hub.mu.Lock()
	senders := slices.Clone(hub.senders)
	hub.mu.Unlock()
	out := make([]Webhook, 0, len(senders))
	for _, hs := range senders {
		cfg, _ := hs.settings()
		out = append(out, cfg)
	}
	return out
}
