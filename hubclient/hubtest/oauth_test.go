package hubtest_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// oauthWorld is a fake Hub with an app, a user in an org, and a private repo
// of that org.
type oauthWorld struct {
	srv   *hubtest.Server
	app   hubtest.OAuthApp
	alice hubtest.User
	conf  *oauth2.Config
}

func newOAuthWorld(t *testing.T, scopes ...string) *oauthWorld {
	t.Helper()
	srv := hubtest.NewServer()
	t.Cleanup(srv.Close)
	alice := srv.AddUser("alice")
	srv.AddOrg("acme", alice)
	_, err := srv.CreateRepo(alice, hubtest.RepoSpec{ID: "acme/secret-model", Private: true})
	require.NoError(t, err)
	app := srv.AddOAuthApp("http://127.0.0.1:1/login/callback")
	conf := &oauth2.Config{ClientID: app.ClientID, ClientSecret: app.ClientSecret, Scopes: scopes,
		RedirectURL: "http://127.0.0.1:1/login/callback",
		Endpoint:    oauth2.Endpoint{AuthURL: srv.URL + "/oauth/authorize", TokenURL: srv.URL + "/oauth/token"}}
	return &oauthWorld{srv: srv, app: app, alice: alice, conf: conf}
}

// authorize signs in on the fake Hub's form as name with password and
// returns where the Hub redirected the browser.
func (w *oauthWorld) authorize(t *testing.T, authURL, name, password string) *url.URL {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the login form")
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	form := u.Query()
	form.Set("username", name)
	form.Set("password", password)
	resp, err = c.PostForm(w.srv.URL+"/oauth/authorize", form)
	require.NoError(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	// Signed in now: a second authorization needs no form.
	resp, err = c.Get(authURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "a signed-in user is not asked again")
	return loc
}

func TestOAuthCodeFlowWithPKCE(t *testing.T) {
	w := newOAuthWorld(t, "openid", "profile", "read-repos")
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, w.srv.URL)
	require.NoError(t, err, "discovery")
	assert.Equal(t, w.srv.URL+"/oauth/userinfo", provider.UserInfoEndpoint())

	verifier := oauth2.GenerateVerifier()
	loc := w.authorize(t, w.conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n0nce")),
		"alice", w.alice.Token)
	require.NotNil(t, loc)
	assert.Equal(t, "st4te", loc.Query().Get("state"))
	code := loc.Query().Get("code")
	require.NotEmpty(t, code)

	_, err = w.conf.Exchange(ctx, code, oauth2.VerifierOption("wrong-verifier-wrong-verifier-wrong-verifier"))
	require.Error(t, err, "a wrong verifier is refused")
	assert.Contains(t, err.Error(), "invalid_grant")

	// A fresh code, since a refused exchange burns it like a used one.
	loc = w.authorize(t, w.conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n0nce")), "alice", w.alice.Token)
	tok, err := w.conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(tok.AccessToken, "hf_oauth_"))
	_, err = w.conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.Error(t, err, "a code is good once")

	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: w.app.ClientID}).Verify(ctx, raw)
	require.NoError(t, err, "the id token verifies against the JWKS")
	assert.Equal(t, "n0nce", idt.Nonce)
	assert.Equal(t, w.alice.ID, idt.Subject)
	var claims struct {
		Username string `json:"preferred_username"`
	}
	require.NoError(t, idt.Claims(&claims))
	assert.Equal(t, "alice", claims.Username)

	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	require.NoError(t, err)
	var ui struct {
		Orgs []struct {
			Name string `json:"preferred_username"`
			Role string `json:"roleInOrg"`
		} `json:"orgs"`
	}
	require.NoError(t, info.Claims(&ui))
	require.Len(t, ui.Orgs, 1)
	assert.Equal(t, "acme", ui.Orgs[0].Name)
	assert.Equal(t, "admin", ui.Orgs[0].Role)

	resp := call(t, http.MethodGet, w.srv.URL+"/api/models/acme/secret-model", tok.AccessToken, nil)
	assert.Equal(t, http.StatusOK, resp.status, "read-repos opens the org's private repo: %s", resp.body)
}

func TestOAuthScopesLimitTheToken(t *testing.T) {
	w := newOAuthWorld(t, "openid", "profile")
	verifier := oauth2.GenerateVerifier()
	loc := w.authorize(t, w.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", w.alice.Token)
	require.NotNil(t, loc)
	tok, err := w.conf.Exchange(t.Context(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	resp := call(t, http.MethodGet, w.srv.URL+"/api/models/acme/secret-model", tok.AccessToken, nil)
	assert.Equal(t, http.StatusNotFound, resp.status, "without read-repos a private repo stays hidden")
	resp = call(t, http.MethodGet, w.srv.URL+"/api/whoami-v2", tok.AccessToken, nil)
	assert.Equal(t, http.StatusOK, resp.status)
}

func TestOAuthAuthorizeRefusals(t *testing.T) {
	w := newOAuthWorld(t, "openid")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name   string
		mutate func(q url.Values)
		status int
		errCod string
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }, http.StatusBadRequest, ""},
		{"foreign redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, http.StatusBadRequest, ""},
		{"loopback with another port", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9/login/callback") }, http.StatusOK, ""},
		{"unknown scope", func(q url.Values) { q.Set("scope", "openid admin") }, http.StatusSeeOther, "invalid_scope"},
		{"plain pkce", func(q url.Values) { q.Set("code_challenge", "x"); q.Set("code_challenge_method", "plain") }, http.StatusSeeOther, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(w.conf.AuthCodeURL("s"))
			require.NoError(t, err)
			q := u.Query()
			tt.mutate(q)
			u.RawQuery = q.Encode()
			resp, err := noRedirect.Get(u.String())
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tt.status, resp.StatusCode)
			if tt.errCod != "" {
				loc, err := url.Parse(resp.Header.Get("Location"))
				require.NoError(t, err)
				assert.Equal(t, tt.errCod, loc.Query().Get("error"))
				assert.Equal(t, "s", loc.Query().Get("state"))
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		assert.Nil(t, w.authorize(t, w.conf.AuthCodeURL("s"), "alice", "hf_not_hers"))
	})
}
