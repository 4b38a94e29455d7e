package web

// Sessions, operators, CSRF and Sign in with Hugging Face (OAuth 2.0
// authorization code with PKCE and state, OpenID Connect ID token with a
// nonce).

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"github.com/hubbot/hubbot/bot/config"
)

const (
	sessionCookie = "hubbot_session"
	loginCookie   = "hubbot_login"
	sessionTTL    = 8 * time.Hour // the Hub's default OAuth token lifetime
	loginTTL      = 10 * time.Minute
)

// session is a signed-in user, kept in an encrypted, signed cookie: it
// carries the user's Hub token, which the dashboard uses to check that the
// user can read a private repo.
type session struct {
	Sub     string
	Name    string
	Orgs    []string
	Token   string
	Nonce   string // seeds the CSRF token
	Expires int64
}

// loginState is what a sign-in keeps between the redirect to the Hub and
// the way back.
type loginState struct {
	State, Verifier, Nonce, Next string
}

// viewer is who is asking.
type viewer struct {
	user     *session // nil: anonymous or bearer
	operator bool
	bearer   bool // the admin token, not a browser session
}

func (v viewer) signedIn() bool { return v.user != nil }

const viewerKey = "hubbot.viewer"

// identify works out the viewer of every page: a bearer admin token, or a
// session cookie.
func (s *Server) identify(c *gin.Context) {
	var v viewer
	if tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok {
		if s.cfg.Secrets.AdminToken == "" || !equalSecret(tok, s.cfg.Secrets.AdminToken) {
			s.errorPage(c, http.StatusUnauthorized, "Wrong token", "The bearer token is not HUBBOT_ADMIN_TOKEN.")
			c.Abort()
			return
		}
		v.operator, v.bearer = true, true
	} else if sess := s.readSession(c.Request); sess != nil {
		v.user = sess
		v.operator = s.isAdmin(sess)
	}
	c.Set(viewerKey, v)
	c.Next()
}

func viewerOf(c *gin.Context) viewer {
	v, _ := c.Get(viewerKey)
	vv, _ := v.(viewer)
	return vv
}

func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func (s *Server) readSession(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	var sess session
	if err := s.cookies.Decode(sessionCookie, ck.Value, &sess); err != nil || time.Now().Unix() > sess.Expires {
		return nil
	}
	return &sess
}

// isAdmin matches a signed-in user against [dashboard] admins.
func (s *Server) isAdmin(sess *session) bool {
	for _, rule := range s.cfg.Dashboard.Admins {
		kind, name, _ := strings.Cut(rule, ":")
		switch kind {
		case "user":
			if strings.EqualFold(name, sess.Name) {
				return true
			}
		case "org":
			for _, o := range sess.Orgs {
				if strings.EqualFold(name, o) {
					return true
				}
			}
		}
	}
	return false
}

// csrfToken is the token every form of a session carries.
func (s *Server) csrfToken(sess *session) string {
	if sess == nil {
		return ""
	}
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(sess.Nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// requirePost guards every POST: a bearer admin token needs nothing more; a
// browser needs a session, a request from this origin, and the form's CSRF
// token.
func (s *Server) requirePost(c *gin.Context) {
	v := viewerOf(c)
	if v.bearer {
		c.Next()
		return
	}
	if origin := c.GetHeader("Origin"); origin != "" && origin != "null" {
		if u, err := url.Parse(origin); err != nil || u.Host != c.Request.Host {
			s.errorPage(c, http.StatusForbidden, "Refused", "This form was sent from another site.")
			c.Abort()
			return
		}
	}
	want := s.csrfToken(v.user)
	if want == "" || !hmac.Equal([]byte(c.PostForm("csrf")), []byte(want)) {
		s.errorPage(c, http.StatusForbidden, "Refused", "The form's security token is missing or stale. Go back, reload the page and try again.")
		c.Abort()
		return
	}
	c.Next()
}

func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") ||
		strings.HasPrefix(s.cfg.Server.PublicURL, "https://")
}

func (s *Server) setCookie(c *gin.Context, name, value, path string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: s.secure(c.Request), SameSite: http.SameSiteLaxMode})
}

// signIn is the OAuth client; the provider's discovery document is fetched
// on the first sign-in, so an unreachable Hub does not stop the bot.
type signIn struct {
	cfg    *config.Config
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

func newSignIn(cfg *config.Config, client *http.Client) *signIn {
	return &signIn{cfg: cfg, client: client}
}

func (si *signIn) issuer() string {
	if u := si.cfg.Dashboard.OpenIDProviderURL; u != "" {
		return strings.TrimRight(u, "/")
	}
	return strings.TrimRight(si.cfg.Hub.Endpoint, "/")
}

func (si *signIn) setup(c *gin.Context) (*oauth2.Config, *oidc.Provider, error) {
	si.mu.Lock()
	defer si.mu.Unlock()
	if si.provider == nil {
		p, err := oidc.NewProvider(oidc.ClientContext(c.Request.Context(), si.client), si.issuer())
		if err != nil {
			return nil, nil, fmt.Errorf("read the sign-in provider %s: %w", si.issuer(), err)
		}
		si.provider = p
	}
	d := si.cfg.Dashboard
	return &oauth2.Config{ClientID: d.OAuthClientID, ClientSecret: si.cfg.Secrets.OAuthClientSecret,
		Endpoint: si.provider.Endpoint(), RedirectURL: si.redirectURL(c.Request), Scopes: strings.Fields(d.OAuthScopes)}, si.provider, nil
}

// redirectURL is /login/callback on server.public_url, or on the host the
// browser used when that is not set (a laptop).
func (si *signIn) redirectURL(r *http.Request) string {
	base := strings.TrimRight(si.cfg.Server.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/login/callback"
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// localPath keeps a post-sign-in destination on this site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

func (s *Server) login(c *gin.Context) {
	if s.oidc == nil {
		s.errorPage(c, http.StatusNotFound, "Sign-in is off",
			"This bot has no Sign in with Hugging Face app. On a Space, add hf_oauth: true to its README metadata; elsewhere set [dashboard] oauth_client_id and OAUTH_CLIENT_SECRET.")
		return
	}
	conf, _, err := s.oidc.setup(c)
	if err != nil {
		s.log.Warn("sign-in", "error", err)
		s.errorPage(c, http.StatusBadGateway, "Sign-in is unavailable", "The Hub's sign-in service did not answer. Try again in a minute.")
		return
	}
	st := loginState{State: randomToken(), Verifier: oauth2.GenerateVerifier(), Nonce: randomToken(), Next: localPath(c.Query("next"))}
	enc, err := s.cookies.Encode(loginCookie, st)
	if err != nil {
		s.fail(c, fmt.Errorf("encode sign-in state: %w", err))
		return
	}
	s.setCookie(c, loginCookie, enc, "/login", int(loginTTL.Seconds()))
	c.Redirect(http.StatusSeeOther, conf.AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier), oidc.Nonce(st.Nonce)))
}

func (s *Server) callback(c *gin.Context) {
	if s.oidc == nil {
		s.errorPage(c, http.StatusNotFound, "Sign-in is off", "This bot has no Sign in with Hugging Face app.")
		return
	}
	var st loginState
	ck, err := c.Request.Cookie(loginCookie)
	if err == nil {
		err = s.cookies.Decode(loginCookie, ck.Value, &st)
	}
	s.setCookie(c, loginCookie, "", "/login", -1)
	if err != nil || st.State == "" || !hmac.Equal([]byte(c.Query("state")), []byte(st.State)) {
		s.errorPage(c, http.StatusBadRequest, "Sign-in expired", "This sign-in was not started here or took too long. Sign in again.")
		return
	}
	if e := c.Query("error"); e != "" {
		s.errorPage(c, http.StatusForbidden, "Sign-in refused", "The Hub answered: "+e+" "+c.Query("error_description"))
		return
	}
	sess, err := s.finishSignIn(c, st, c.Query("code"))
	if err != nil {
		s.log.Warn("sign-in", "error", err)
		s.errorPage(c, http.StatusBadGateway, "Sign-in failed", "The Hub did not confirm who you are. Sign in again.")
		return
	}
	enc, err := s.cookies.Encode(sessionCookie, sess)
	if err != nil {
		s.fail(c, fmt.Errorf("encode session: %w", err))
		return
	}
	s.setCookie(c, sessionCookie, enc, "/", int(sessionTTL.Seconds()))
	s.log.Info("signed in", "user", sess.Name)
	c.Redirect(http.StatusSeeOther, st.Next)
}

// finishSignIn exchanges the code (with the PKCE verifier), verifies the ID
// token and its nonce, and reads the user's orgs from userinfo.
func (s *Server) finishSignIn(c *gin.Context, st loginState, code string) (*session, error) {
	conf, provider, err := s.oidc.setup(c)
	if err != nil {
		return nil, err
	}
	ctx := oidc.ClientContext(c.Request.Context(), s.opts.HTTPClient)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, fmt.Errorf("exchange the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("no id_token: add openid to the OAuth scopes")
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: conf.ClientID}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("verify the id token: %w", err)
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(st.Nonce)) {
		return nil, errors.New("the id token's nonce is not this sign-in's")
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	var claims struct {
		Username string `json:"preferred_username"`
		Orgs     []struct {
			Name string `json:"preferred_username"`
		} `json:"orgs"`
	}
	if err := info.Claims(&claims); err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	if claims.Username == "" {
		return nil, errors.New("userinfo has no preferred_username: add profile to the OAuth scopes")
	}
	sess := &session{Sub: idt.Subject, Name: claims.Username, Token: tok.AccessToken, Nonce: randomToken(),
		Expires: time.Now().Add(sessionTTL).Unix()}
	if !tok.Expiry.IsZero() && tok.Expiry.Before(time.Now().Add(sessionTTL)) {
		sess.Expires = tok.Expiry.Unix()
	}
	for _, o := range claims.Orgs {
		sess.Orgs = append(sess.Orgs, o.Name)
	}
	return sess, nil
}

func (s *Server) logout(c *gin.Context) {
	s.setCookie(c, sessionCookie, "", "/", -1)
	c.Redirect(http.StatusSeeOther, "/")
}
