package chatops

import (
	"context"
	"fmt"
	"strings"
)

// RuleKind is what an allow rule checks.
type RuleKind uint8

// Rule kinds, as written in config.toml.
const (
	// RepoOwner allows the repo's owner: the user whose id is the payload's
	// repo.owner.id, or a member of the organization that owns the repo.
	RepoOwner RuleKind = iota + 1
	// UserRule ("user:NAME") allows one Hub user.
	UserRule
	// OrgRule ("org:NAME") allows the members of one Hub organization.
	OrgRule
	// Anyone allows everybody.
	Anyone
)

// Rule is one entry of an allow list.
type Rule struct {
	Kind RuleKind
	Name string // the user or organization of UserRule and OrgRule
}

// ParseRule parses "repo-owner", "user:NAME", "org:NAME" or "anyone".
func ParseRule(s string) (Rule, error) {
	t := strings.TrimSpace(s)
	switch {
	case strings.EqualFold(t, "repo-owner"):
		return Rule{Kind: RepoOwner}, nil
	case strings.EqualFold(t, "anyone"):
		return Rule{Kind: Anyone}, nil
	}
	kind, name, ok := strings.Cut(t, ":")
	if ok && validUserName(name) {
		switch strings.ToLower(kind) {
		case "user":
			return Rule{Kind: UserRule, Name: name}, nil
		case "org":
			return Rule{Kind: OrgRule, Name: name}, nil
		}
	}
	return Rule{}, fmt.Errorf("unknown allow rule %q (want repo-owner, user:NAME, org:NAME or anyone)", s)
}

// ParseRules parses an allow list. A nil list stays nil (not configured); an
// empty one allows nobody.
func ParseRules(list []string) ([]Rule, error) {
	if list == nil {
		return nil, nil
	}
	rules := make([]Rule, 0, len(list))
	for i, s := range list {
		r, err := ParseRule(s)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// String writes the rule as config.toml does.
func (r Rule) String() string {
	switch r.Kind {
	case RepoOwner:
		return "repo-owner"
	case UserRule:
		return "user:" + r.Name
	case OrgRule:
		return "org:" + r.Name
	case Anyone:
		return "anyone"
	}
	return "invalid"
}

// Directory is what authorization needs from the Hub. hubclient satisfies it
// through the discussion details, a user's overview and organization
// members; tests hand in a map.
type Directory interface {
	// UserName returns the username of userID, read from the events of
	// the discussion the comment is on (webhook payloads carry only ids).
	UserName(ctx context.Context, repo Repo, discussion int, userID string) (string, error)
	// IsMember reports whether user is a member of org. It is false, not
	// an error, when org is a user or does not exist.
	IsMember(ctx context.Context, org, user string) (bool, error)
}

// forWrites adapts the global allow list to a command that writes to the
// repo: "anyone" there is meant for read-only commands, so for a write it
// stands for the repo owner. Only an allow list of the command or action
// itself can open a write to anyone.
func forWrites(rules []Rule) []Rule {
	out := make([]Rule, 0, len(rules)+1)
	owner, anyone := false, false
	for _, r := range rules {
		switch r.Kind {
		case Anyone:
			anyone = true
			continue
		case RepoOwner:
			owner = true
		}
		out = append(out, r)
	}
	if anyone && !owner {
		out = append(out, Rule{Kind: RepoOwner})
	}
	return out
}

// describe says who rules allow without naming anyone, for help and denial
// texts: the configuration itself is never shown.
func describe(rules []Rule) string {
	var has [Anyone + 1]bool
	for _, r := range rules {
		has[r.Kind] = true
	}
	if has[Anyone] {
		return "anyone"
	}
	var parts []string
	if has[RepoOwner] {
		parts = append(parts, "repo-owner")
	}
	if has[OrgRule] {
		parts = append(parts, "a member of an allowed org")
	}
	if has[UserRule] {
		parts = append(parts, "an allowed user")
	}
	if len(parts) == 0 {
		return "no one"
	}
	return strings.Join(parts, " or ")
}

// denial is the reply when rules do not allow the commenter.
func denial(what string, rules []Rule) string {
	d := describe(rules)
	if d == "no one" {
		return fmt.Sprintf("Not run: %s is not enabled for anyone on this repo.", what)
	}
	return fmt.Sprintf("Not run: %s needs %s.", what, d)
}

// checker evaluates rules for one commenter, asking the Directory at most
// once per question.
type checker struct {
	dir      Directory
	ev       Event
	name     string
	resolved bool
	member   map[string]bool
}

func newChecker(dir Directory, ev Event) *checker {
	return &checker{dir: dir, ev: ev, name: ev.Author.Name, resolved: ev.Author.Name != "", member: map[string]bool{}}
}

// allowed reports whether any rule allows the commenter. Rules that need no
// Hub call are tried first.
func (c *checker) allowed(ctx context.Context, rules []Rule) (bool, error) {
	for _, r := range rules {
		switch r.Kind {
		case Anyone:
			return true, nil
		case RepoOwner:
			if c.ev.Author.ID != "" && c.ev.Author.ID == c.ev.Repo.OwnerID {
				return true, nil
			}
		}
	}
	for _, r := range rules {
		var (
			ok  bool
			err error
		)
		switch r.Kind {
		case UserRule:
			var name string
			name, err = c.userName(ctx)
			ok = name != "" && strings.EqualFold(name, r.Name)
		case OrgRule:
			ok, err = c.isMember(ctx, r.Name)
		case RepoOwner:
			// The payload gives the owner's id only (and a job made
			// from a push not even that): a user owns the namespace of
			// their name, since users and organizations share names;
			// an org-owned repo's namespace is the org's name.
			if ns, _, found := strings.Cut(c.ev.Repo.ID, "/"); found && ns != "" {
				var name string
				if name, err = c.userName(ctx); err == nil && name != "" && strings.EqualFold(name, ns) {
					return true, nil
				}
				if err == nil {
					ok, err = c.isMember(ctx, ns)
				}
			}
		}
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func (c *checker) userName(ctx context.Context) (string, error) {
	if !c.resolved {
		if c.ev.Author.ID == "" {
			return "", nil
		}
		name, err := c.dir.UserName(ctx, c.ev.Repo, c.ev.Discussion, c.ev.Author.ID)
		if err != nil {
			return "", fmt.Errorf("find the username of %s: %w", c.ev.Author.ID, err)
		}
		c.name, c.resolved = name, true
	}
	return c.name, nil
}

func (c *checker) isMember(ctx context.Context, org string) (bool, error) {
	key := strings.ToLower(org)
	if ok, seen := c.member[key]; seen {
		return ok, nil
	}
	name, err := c.userName(ctx)
	if err != nil || name == "" {
		return false, err
	}
	ok, err := c.dir.IsMember(ctx, org, name)
	if err != nil {
		return false, fmt.Errorf("check whether %s is a member of %s: %w", name, org, err)
	}
	c.member[key] = ok
	return ok, nil
}
