package hubclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Webhook domains: "repo" for repo changes (repo, repo.content, repo.config),
// "discussion" for discussions, pull requests and their comments.
const (
	DomainRepo       = "repo"
	DomainDiscussion = "discussion"
)

// WatchedItem is one thing a webhook watches: Type "user" or "org" with the
// account name (every repo of it), or "model", "dataset" or "space" with a
// repo id "ns/name".
type WatchedItem struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

func (w WatchedItem) String() string { return w.Type + ":" + w.Name }

// Webhook is a webhook as the Hub's settings API describes it. Webhooks
// belong to the token's user.
type Webhook struct {
	ID       string        `json:"id"`
	URL      string        `json:"url,omitempty"` // absent for webhooks that trigger a Job
	Watched  []WatchedItem `json:"watched"`
	Domains  []string      `json:"domains"`
	Secret   string        `json:"secret,omitempty"` // the Hub may leave it out; never print it
	Disabled bool          `json:"disabled"`
}

// WebhookSpec is what CreateWebhook and UpdateWebhook send. Empty Domains
// means every domain; an empty Secret sends none.
type WebhookSpec struct {
	URL     string
	Watched []WatchedItem
	Domains []string
	Secret  string
}

// webhookBody is the request body, field for field as huggingface_hub's
// create_webhook and update_webhook send it: watched always, the others
// only when given.
type webhookBody struct {
	Watched []WatchedItem `json:"watched"`
	Domains []string      `json:"domains,omitempty"`
	Secret  string        `json:"secret,omitempty"`
	URL     string        `json:"url,omitempty"`
}

type webhookAnswer struct {
	Webhook Webhook `json:"webhook"`
}

func (s WebhookSpec) body() webhookBody {
	watched := s.Watched
	if watched == nil {
		watched = []WatchedItem{}
	}
	return webhookBody{Watched: watched, Domains: s.Domains, Secret: s.Secret, URL: s.URL}
}

func (c *Client) webhooksURL(segments ...string) string {
	u := c.Endpoint() + "/api/settings/webhooks"
	for _, s := range segments {
		u += "/" + url.PathEscape(s)
	}
	return u
}

// ListWebhooks returns every webhook of the token's user.
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	if _, err := c.getJSON(ctx, "list_webhooks", c.webhooksURL(), &out); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// GetWebhook returns one webhook by id.
func (c *Client) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	if id == "" {
		return nil, fmt.Errorf("get webhook: empty id")
	}
	var out webhookAnswer
	if _, err := c.getJSON(ctx, "get_webhook", c.webhooksURL(id), &out); err != nil {
		return nil, fmt.Errorf("get webhook %s: %w", id, err)
	}
	return &out.Webhook, nil
}

// CreateWebhook creates a webhook that POSTs to spec.URL. It is never
// retried: a lost answer could otherwise leave two webhooks; list them to
// find out.
func (c *Client) CreateWebhook(ctx context.Context, spec WebhookSpec) (*Webhook, error) {
	if spec.URL == "" {
		return nil, fmt.Errorf("create webhook: empty url")
	}
	var out webhookAnswer
	if err := c.sendJSON(ctx, "create_webhook", http.MethodPost, c.webhooksURL(), spec.body(), &out, false); err != nil {
		return nil, fmt.Errorf("create webhook for %s: %w", spec.URL, err)
	}
	return &out.Webhook, nil
}

// UpdateWebhook replaces a webhook's watched items, and its URL, domains and
// secret when given. Sending the same update twice gives the same webhook,
// so it is retried like a read.
func (c *Client) UpdateWebhook(ctx context.Context, id string, spec WebhookSpec) (*Webhook, error) {
	if id == "" {
		return nil, fmt.Errorf("update webhook: empty id")
	}
	var out webhookAnswer
	if err := c.sendJSON(ctx, "update_webhook", http.MethodPost, c.webhooksURL(id), spec.body(), &out, true); err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", id, err)
	}
	return &out.Webhook, nil
}

// EnableWebhook turns a disabled webhook back on.
func (c *Client) EnableWebhook(ctx context.Context, id string) (*Webhook, error) {
	return c.toggleWebhook(ctx, id, "enable")
}

// DisableWebhook stops a webhook's deliveries without deleting it.
func (c *Client) DisableWebhook(ctx context.Context, id string) (*Webhook, error) {
	return c.toggleWebhook(ctx, id, "disable")
}

func (c *Client) toggleWebhook(ctx context.Context, id, verb string) (*Webhook, error) {
	if id == "" {
		return nil, fmt.Errorf("%s webhook: empty id", verb)
	}
	var out webhookAnswer
	if err := c.sendJSON(ctx, verb+"_webhook", http.MethodPost, c.webhooksURL(id, verb), nil, &out, true); err != nil {
		return nil, fmt.Errorf("%s webhook %s: %w", verb, id, err)
	}
	return &out.Webhook, nil
}

// DeleteWebhook deletes a webhook for good.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("delete webhook: empty id")
	}
	if err := c.sendJSON(ctx, "delete_webhook", http.MethodDelete, c.webhooksURL(id), nil, nil, false); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// OrgOverview is what the Hub shows about an organization.
type OrgOverview struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Fullname string `json:"fullname"`
	Type     string `json:"type"` // "org"
}

// GetOrgOverview returns an organization's overview; IsNotFound tells that
// no organization has that name.
func (c *Client) GetOrgOverview(ctx context.Context, name string) (*OrgOverview, error) {
	if !validAccountName(name) {
		return nil, fmt.Errorf("organization overview: invalid name %q", name)
	}
	var out OrgOverview
	if _, err := c.getJSON(ctx, "org_overview", c.Endpoint()+"/api/organizations/"+url.PathEscape(name)+"/overview", &out); err != nil {
		return nil, fmt.Errorf("organization overview of %s: %w", name, err)
	}
	return &out, nil
}

func validAccountName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r == '/' || r == '?' || r == '#' || r == '&' {
			return false
		}
	}
	return true
}
