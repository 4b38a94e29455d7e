package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Dashboard configures the web pages: who sees what, and Sign in with
// Hugging Face. On a Space with `hf_oauth: true` the sign-in values come
// from OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_SCOPES and
// OPENID_PROVIDER_URL, which override these keys.
type Dashboard struct {
	// Public shows the pages of public repos to anyone; false limits every
	// page to signed-in users who can read the repo.
	Public bool `toml:"public"`
	// Admins are operators once signed in: "user:NAME" or "org:NAME".
	Admins []string `toml:"admins"`
	// OAuthClientID turns sign-in on. The secret comes from OAUTH_CLIENT_SECRET.
	OAuthClientID string `toml:"oauth_client_id"`
	// OAuthScopes are space-separated; read-repos lets the dashboard check
	// that a signed-in user can read a private repo.
	OAuthScopes string `toml:"oauth_scopes"`
	// OpenIDProviderURL is the issuer; default hub.endpoint.
	OpenIDProviderURL string `toml:"openid_provider_url"`
}

// SignIn reports whether Sign in with Hugging Face is configured.
func (d Dashboard) SignIn() bool { return d.OAuthClientID != "" }

func (d *Dashboard) applyEnv(getenv func(string) string, hubEndpoint string) {
	for _, e := range []struct {
		dst *string
		env string
	}{{&d.OAuthClientID, "OAUTH_CLIENT_ID"}, {&d.OAuthScopes, "OAUTH_SCOPES"}, {&d.OpenIDProviderURL, "OPENID_PROVIDER_URL"}} {
		if v := strings.TrimSpace(getenv(e.env)); v != "" {
			*e.dst = v
		}
	}
	if d.OpenIDProviderURL == "" {
		d.OpenIDProviderURL = hubEndpoint
	}
}

// validate checks the [dashboard] table, reporting each problem with add.
func (d Dashboard) validate(add func(key, format string, args ...any), webhookPath string) {
	for _, p := range []string{"/jobs", "/deliveries", "/repos", "/login", "/logout", "/static"} {
		if webhookPath == p || strings.HasPrefix(webhookPath, p+"/") {
			add("server.webhook_path", "%s is a dashboard page; choose another path", p)
		}
	}
	for j, rule := range d.Admins {
		if !strings.HasPrefix(rule, "user:") && !strings.HasPrefix(rule, "org:") || CheckRule(rule) != nil {
			add(fmt.Sprintf("dashboard.admins.%d", j), "want user:NAME or org:NAME, got %q", rule)
		}
	}
	if u, err := url.Parse(d.OpenIDProviderURL); d.OpenIDProviderURL != "" && (err != nil || u.Host == "" ||
		u.Scheme != "http" && u.Scheme != "https") {
		add("dashboard.openid_provider_url", "must be an http(s) URL, got %q", d.OpenIDProviderURL)
	}
}
