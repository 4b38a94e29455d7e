package hubtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// User is a Hub account. Token is a write token for it.
type User struct {
	ID    string // 24-hex ObjectId, stable, as webhooks and whoami give it
	Name  string
	Token string
}

// Org is an organization account.
type Org struct {
	ID   string
	Name string
}

// Organization member roles, as the Hub names them.
const (
	RoleAdmin = "admin"
	RoleWrite = "write"
	RoleRead  = "read"
)

type user struct {
	id        string
	name      string
	fullname  string
	createdAt time.Time
}

type token struct {
	value     string
	user      *user
	role      string // "write" or "read"
	name      string
	createdAt time.Time
	scopes    []string  // OAuth scopes; nil for an access token, which has its role only
	expires   time.Time // zero: never
}

// allows reports whether the token's scopes include one of want; access
// tokens (no scopes) allow everything their role does.
func (t *token) allows(want ...string) bool {
	if t == nil || t.scopes == nil {
		return true
	}
	for _, w := range want {
		if slices.Contains(t.scopes, w) {
			return true
		}
	}
	return false
}

type org struct {
	id        string
	name      string
	fullname  string
	createdAt time.Time
	members   []orgMember
}

type orgMember struct {
	user *user
	role string
}

// namePattern is what the fake accepts as a user, org or repo name: the
// Hub's letters, digits, "-", "_" and ".", not starting with "." or "-".
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}$`)

// AddUser creates a user with a fresh write token. It panics when name is
// not a valid Hub name or is already taken by a user or an org, since that
// is a mistake in the test itself.
func (s *Server) AddUser(name string) User {
	if !namePattern.MatchString(name) || strings.Contains(name, "..") {
		panic(fmt.Sprintf("hubtest: AddUser(%q): not a valid Hub name", name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.namespaces[name]; taken {
		panic(fmt.Sprintf("hubtest: AddUser(%q): name already taken", name))
	}
	now := s.opts.Clock()
	u := &user{id: s.ids.next(), name: name, fullname: name, createdAt: now}
	s.users[name] = u
	s.namespaces[name] = struct{}{}
	tok := &token{value: "hf_" + randomHex(17), user: u, role: RoleWrite, name: "hubtest", createdAt: now}
	s.tokens[tok.value] = tok
	return User{ID: u.id, Name: u.name, Token: tok.value}
}

// AddToken gives user another token with role "write" or "read", for tests
// that need a known token value or a read-only one. It returns an error
// when the user is unknown, the role invalid or the token already used.
func (s *Server) AddToken(u User, value, role string) error {
	if role != RoleWrite && role != RoleRead {
		return fmt.Errorf("add token: role %q is not %q or %q", role, RoleWrite, RoleRead)
	}
	if value == "" {
		return fmt.Errorf("add token: empty token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, ok := s.users[u.Name]
	if !ok {
		return fmt.Errorf("add token: no user %q", u.Name)
	}
	if _, used := s.tokens[value]; used {
		return fmt.Errorf("add token: token already in use")
	}
	s.tokens[value] = &token{value: value, user: owner, role: role, name: "hubtest-" + role, createdAt: s.opts.Clock()}
	return nil
}

// AddOrg creates an organization whose members are admins. It panics when
// name is invalid or taken, or a member is unknown.
func (s *Server) AddOrg(name string, admins ...User) Org {
	if !namePattern.MatchString(name) || strings.Contains(name, "..") {
		panic(fmt.Sprintf("hubtest: AddOrg(%q): not a valid Hub name", name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.namespaces[name]; taken {
		panic(fmt.Sprintf("hubtest: AddOrg(%q): name already taken", name))
	}
	o := &org{id: s.ids.next(), name: name, fullname: name, createdAt: s.opts.Clock()}
	for _, a := range admins {
		u, ok := s.users[a.Name]
		if !ok {
			panic(fmt.Sprintf("hubtest: AddOrg(%q): no user %q", name, a.Name))
		}
		o.members = append(o.members, orgMember{user: u, role: RoleAdmin})
	}
	s.orgs[name] = o
	s.namespaces[name] = struct{}{}
	return Org{ID: o.id, Name: o.name}
}

// AddOrgMember adds u to org with role RoleAdmin, RoleWrite or RoleRead, or
// changes the role of a member.
func (s *Server) AddOrgMember(orgName string, u User, role string) error {
	if role != RoleAdmin && role != RoleWrite && role != RoleRead {
		return fmt.Errorf("add member to %s: invalid role %q", orgName, role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgName]
	if !ok {
		return fmt.Errorf("add member to %s: no such org", orgName)
	}
	member, ok := s.users[u.Name]
	if !ok {
		return fmt.Errorf("add member to %s: no user %q", orgName, u.Name)
	}
	for i := range o.members {
		if o.members[i].user == member {
			o.members[i].role = role
			return nil
		}
	}
	o.members = append(o.members, orgMember{user: member, role: role})
	return nil
}

// principal is who sent a request.
type principal struct {
	user *user // nil: anonymous
	role string
	tok  *token // nil for helpers acting as a user
}

func (p principal) anonymous() bool { return p.user == nil }

func (p principal) name() string {
	if p.user == nil {
		return ""
	}
	return p.user.name
}

// credentials extracts the token of a request: "Authorization: Bearer T" or
// HTTP Basic with the token as password (any username), as git sends it.
func credentials(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		return strings.TrimSpace(rest), true
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return "", true
		}
		_, pass, _ := strings.Cut(string(raw), ":")
		return pass, true
	}
	return "", true
}

// authenticate returns the principal of r; ok is false when a token was
// sent but is not valid.
func (s *Server) authenticate(r *http.Request) (principal, bool) {
	value, sent := credentials(r)
	if !sent {
		return principal{}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[value]
	if !ok || !tok.expires.IsZero() && s.opts.Clock().After(tok.expires) {
		return principal{}, false
	}
	return principal{user: tok.user, role: tok.role, tok: tok}, true
}

// tokenUserName names the user behind a request's token, for the request log.
func (s *Server) tokenUserName(r *http.Request) string {
	p, _ := s.authenticate(r)
	return p.name()
}

// memberRoleLocked returns the role of user in org namespace ns ("" when not
// a member). Callers hold s.mu.
func (s *Server) memberRoleLocked(ns string, u *user) string {
	o, ok := s.orgs[ns]
	if !ok || u == nil {
		return ""
	}
	for _, m := range o.members {
		if m.user == u {
			return m.role
		}
	}
	return ""
}

// canReadLocked reports whether p may see repo rp. Callers hold s.mu.
func (s *Server) canReadLocked(p principal, rp *repo) bool {
	if !rp.private {
		return true
	}
	if p.user == nil || !p.tok.allows("read-repos", "write-repos", "manage-repos") {
		return false
	}
	return p.user.name == rp.namespace || s.memberRoleLocked(rp.namespace, p.user) != ""
}

// canWriteLocked reports whether p may push to the branches of rp. Callers
// hold s.mu.
func (s *Server) canWriteLocked(p principal, rp *repo) bool {
	if p.user == nil || p.role != RoleWrite || !p.tok.allows("write-repos", "manage-repos") {
		return false
	}
	if p.user.name == rp.namespace {
		return true
	}
	role := s.memberRoleLocked(rp.namespace, p.user)
	return role == RoleAdmin || role == RoleWrite
}

func (s *Server) canRead(p principal, rp *repo) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.canReadLocked(p, rp)
}

func (s *Server) canWrite(p principal, rp *repo) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.canWriteLocked(p, rp)
}

// userByName returns the user named name.
func (s *Server) userByName(name string) (*user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	return u, ok
}

// principalOf is the principal a helper acts as: u with a write token.
func (s *Server) principalOf(u User) (principal, error) {
	real, ok := s.userByName(u.Name)
	if !ok || real.id != u.ID {
		return principal{}, fmt.Errorf("no user %q on this server", u.Name)
	}
	return principal{user: real, role: RoleWrite}, nil
}

// orgsOfLocked lists the orgs user belongs to, by name. Callers hold s.mu.
func (s *Server) orgsOfLocked(u *user) []*org {
	var orgs []*org
	for _, o := range s.orgs {
		for _, m := range o.members {
			if m.user == u {
				orgs = append(orgs, o)
				break
			}
		}
	}
	slices.SortFunc(orgs, func(a, b *org) int { return strings.Compare(a.name, b.name) })
	return orgs
}
