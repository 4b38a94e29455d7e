package hubtest

// The fake Hub's OAuth / OpenID Connect provider, as "Sign in with Hugging
// Face" works on huggingface.co: discovery, authorize (authorization code,
// PKCE S256, state, nonce), token, userinfo with orgs, and JWKS. Access
// tokens it issues work on the fake's API within their scopes.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// OAuthApp is an OAuth application registered on the fake Hub, as a Space
// with `hf_oauth: true` gets one.
type OAuthApp struct {
	ClientID     string
	ClientSecret string
	RedirectURIs []string
}

// OAuth scopes the Hub documents; others are refused with invalid_scope.
var oauthScopes = []string{"openid", "profile", "email", "read-billing", "read-memberships", "read-repos",
	"gated-repos", "contribute-repos", "write-repos", "manage-repos", "read-collections", "write-collections",
	"inference-api", "read-endpoints", "write-endpoints", "jobs", "webhooks", "write-discussions"}

const (
	oauthCodeTTL  = 10 * time.Minute
	oauthTokenTTL = 8 * time.Hour // the Hub's default hf_oauth_expiration_minutes
	hubSession    = "hubtest-session"
)

type oauthCode struct {
	app       *OAuthApp
	user      *user
	redirect  string
	scopes    []string
	challenge string
	nonce     string
	expires   time.Time
}

// oauthState is the provider's state, made on first use.
type oauthState struct {
	mu       sync.Mutex
	apps     map[string]*OAuthApp
	codes    map[string]*oauthCode
	sessions map[string]*user // hub browser sessions, by cookie value
	keyOnce  sync.Once
	key      *rsa.PrivateKey
	keyID    string
	keyErr   error
}

func (s *Server) oauth() *oauthState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauthSt == nil {
		s.oauthSt = &oauthState{apps: map[string]*OAuthApp{}, codes: map[string]*oauthCode{}, sessions: map[string]*user{}}
	}
	return s.oauthSt
}

// AddOAuthApp registers an OAuth application that may redirect to the given
// URIs. As on the Hub, an http loopback URI matches with any port.
func (s *Server) AddOAuthApp(redirectURIs ...string) OAuthApp {
	app := &OAuthApp{ClientID: newUUID(), ClientSecret: randomHex(16), RedirectURIs: slices.Clone(redirectURIs)}
	st := s.oauth()
	st.mu.Lock()
	st.apps[app.ClientID] = app
	st.mu.Unlock()
	return *app
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// redirectAllowed follows the Hub's rule: an exact match, except that http
// loopback URIs may differ in the port (RFC 8252 §7.3).
func (a *OAuthApp) redirectAllowed(uri string) bool {
	if slices.Contains(a.RedirectURIs, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !isLoopbackHost(u.Hostname()) {
		return false
	}
	for _, r := range a.RedirectURIs {
		ru, err := url.Parse(r)
		if err == nil && ru.Scheme == "http" && ru.Hostname() == u.Hostname() && ru.Path == u.Path && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (st *oauthState) signingKey() (*rsa.PrivateKey, string, error) {
	st.keyOnce.Do(func() {
		st.key, st.keyErr = rsa.GenerateKey(rand.Reader, 2048)
		st.keyID = randomHex(8)
	})
	return st.key, st.keyID, st.keyErr
}

// routeOAuth serves /.well-known/openid-configuration and /oauth/*.
func (s *Server) routeOAuth(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		s.handleDiscovery(w)
	case "/oauth/authorize":
		s.handleAuthorize(w, r)
	case "/oauth/token":
		s.handleToken(w, r)
	case "/oauth/userinfo":
		s.handleUserinfo(w, r)
	case "/oauth/jwks":
		s.handleJWKS(w)
	default:
		writeError(w, http.StatusNotFound, "", "Not Found")
	}
}

func (s *Server) handleDiscovery(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.URL,
		"authorization_endpoint":                s.URL + "/oauth/authorize",
		"token_endpoint":                        s.URL + "/oauth/token",
		"userinfo_endpoint":                     s.URL + "/oauth/userinfo",
		"jwks_uri":                              s.URL + "/oauth/jwks",
		"device_authorization_endpoint":         s.URL + "/oauth/device",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
	})
}

func (s *Server) handleJWKS(w http.ResponseWriter) {
	key, kid, err := s.oauth().signingKey()
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}})
}

// loginPage is the fake Hub's sign-in form: the user's name and one of their
// tokens as the password, since the fake has no passwords.
var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in - fake Hub</title></head>
<body><h1>Sign in to the fake Hub</h1>
{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
<form method="post" action="/oauth/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<label>Username <input id="username" name="username" autocomplete="username"></label>
<label>Token <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="authorize" type="submit">Authorize</button>
</form></body></html>`))

// handleAuthorize checks the request, signs the user in with the login form
// when the browser has no Hub session, and redirects back with a code. A
// user who approved once is not asked again.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.Form
	st := s.oauth()
	st.mu.Lock()
	app := st.apps[q.Get("client_id")]
	st.mu.Unlock()
	redirect := q.Get("redirect_uri")
	// Errors that cannot be sent back to the app are shown here.
	if app == nil {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	if !app.redirectAllowed(redirect) {
		http.Error(w, "redirect_uri is not registered for this app", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		params.Set("state", q.Get("state"))
		sep := "?"
		if strings.Contains(redirect, "?") {
			sep = "&"
		}
		http.Redirect(w, r, redirect+sep+params.Encode(), http.StatusSeeOther)
	}
	fail := func(code, desc string) { back(url.Values{"error": {code}, "error_description": {desc}}) }
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile"}
	}
	for _, sc := range scopes {
		if !slices.Contains(oauthScopes, sc) {
			fail("invalid_scope", "unknown scope "+sc)
			return
		}
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge != "" && method != "S256" {
		fail("invalid_request", "code_challenge_method must be S256")
		return
	}

	u := s.sessionUser(r)
	if r.Method == http.MethodPost {
		name, tok := r.PostForm.Get("username"), r.PostForm.Get("password")
		s.mu.Lock()
		t, ok := s.tokens[tok]
		s.mu.Unlock()
		if !ok || t.user.name != name {
			params := map[string]string{}
			for k := range q {
				if k != "username" && k != "password" {
					params[k] = q.Get(k)
				}
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_ = loginPage.Execute(w, map[string]any{"Params": params, "Error": "Wrong username or token."})
			return
		}
		u = t.user
		sid := randomHex(16)
		st.mu.Lock()
		st.sessions[sid] = u
		st.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: hubSession, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	if u == nil {
		params := map[string]string{}
		for k := range q {
			params[k] = q.Get(k)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = loginPage.Execute(w, map[string]any{"Params": params})
		return
	}
	code := randomHex(20)
	st.mu.Lock()
	st.codes[code] = &oauthCode{app: app, user: u, redirect: redirect, scopes: scopes, challenge: challenge,
		nonce: q.Get("nonce"), expires: s.opts.Clock().Add(oauthCodeTTL)}
	st.mu.Unlock()
	back(url.Values{"code": {code}})
}

// sessionUser is the user signed in to the fake Hub in this browser, or nil.
func (s *Server) sessionUser(r *http.Request) *user {
	c, err := r.Cookie(hubSession)
	if err != nil {
		return nil
	}
	st := s.oauth()
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sessions[c.Value]
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// handleToken exchanges a code for tokens. The client authenticates with
// HTTP Basic, with client_id and client_secret in the form, or (a public
// client, as huggingface.js does it) with the PKCE verifier alone.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported by the fake")
		return
	}
	st := s.oauth()
	st.mu.Lock()
	c := st.codes[f.Get("code")]
	delete(st.codes, f.Get("code")) // a code is good once
	st.mu.Unlock()
	if c == nil || s.opts.Clock().After(c.expires) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	}
	if f.Get("redirect_uri") != c.redirect {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id != "" && id != c.app.ClientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "the code was issued to another client")
		return
	}
	verifier := f.Get("code_verifier")
	switch {
	case c.challenge != "":
		sum := sha256.Sum256([]byte(verifier))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
			return
		}
	case subtle.ConstantTimeCompare([]byte(secret), []byte(c.app.ClientSecret)) != 1:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(c.app.ClientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}

	now := s.opts.Clock()
	role := RoleRead
	if slices.Contains(c.scopes, "write-repos") || slices.Contains(c.scopes, "manage-repos") {
		role = RoleWrite
	}
	tok := &token{value: "hf_oauth_" + randomHex(17), user: c.user, role: role, createdAt: now,
		scopes: slices.Clone(c.scopes), expires: now.Add(oauthTokenTTL)}
	s.mu.Lock()
	s.tokens[tok.value] = tok
	s.mu.Unlock()
	out := map[string]any{"access_token": tok.value, "token_type": "bearer", "expires_in": int(oauthTokenTTL.Seconds()),
		"scope": strings.Join(c.scopes, " ")}
	if slices.Contains(c.scopes, "openid") {
		idToken, err := s.idToken(c, now)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		out["id_token"] = idToken
	}
	writeJSON(w, http.StatusOK, out)
}

// idToken signs the ID token: RS256, with the profile claims the Hub puts
// there (no orgs).
func (s *Server) idToken(c *oauthCode, now time.Time) (string, error) {
	key, kid, err := s.oauth().signingKey()
	if err != nil {
		return "", err
	}
	claims := map[string]any{"iss": s.URL, "sub": c.user.id, "aud": c.app.ClientID, "iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "auth_time": now.Unix()}
	if c.nonce != "" {
		claims["nonce"] = c.nonce
	}
	if slices.Contains(c.scopes, "profile") {
		maps := s.profileClaims(c.user)
		for k, v := range maps {
			claims[k] = v
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("id token: %w", err)
	}
	sig, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("id token: %w", err)
	}
	return sig.CompactSerialize()
}

func (s *Server) profileClaims(u *user) map[string]any {
	return map[string]any{"name": u.fullname, "preferred_username": u.name, "picture": s.URL + avatarURL(u.id),
		"profile": s.URL + "/" + u.name}
}

// handleUserinfo answers the claims of the token's user, with the orgs it
// belongs to.
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authenticate(r)
	if !ok || p.anonymous() {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "send a valid access token")
		return
	}
	out := map[string]any{"sub": p.user.id, "isPro": false}
	if p.tok == nil || p.tok.scopes == nil || slices.Contains(p.tok.scopes, "profile") {
		for k, v := range s.profileClaims(p.user) {
			out[k] = v
		}
	}
	if p.tok == nil || p.tok.scopes == nil || slices.Contains(p.tok.scopes, "email") {
		out["email"], out["email_verified"] = p.user.name+"@example.com", true
	}
	s.mu.Lock()
	orgs := []map[string]any{}
	for _, o := range s.orgsOfLocked(p.user) {
		orgs = append(orgs, map[string]any{"sub": o.id, "name": o.fullname, "preferred_username": o.name,
			"picture": s.URL + avatarURL(o.id), "isEnterprise": false, "roleInOrg": s.memberRoleLocked(o.name, p.user)})
	}
	s.mu.Unlock()
	out["orgs"] = orgs
	writeJSON(w, http.StatusOK, out)
}
