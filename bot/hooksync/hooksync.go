// Package hooksync keeps the bot's one Hub webhook as the configuration
// wants it: Wanted derives the webhook from the configuration (URL, secret,
// watched users, orgs and repos, domains), and Sync finds the bot's webhook
// by its URL and creates, updates or re-enables it, saying what changed.
package hooksync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/hubclient"
)

// Client is what Sync needs from the Hub; *hubclient.Client satisfies it.
type Client interface {
	WhoAmI(ctx context.Context) (*hubclient.User, error)
	GetOrgOverview(ctx context.Context, name string) (*hubclient.OrgOverview, error)
	ListWebhooks(ctx context.Context) ([]hubclient.Webhook, error)
	CreateWebhook(ctx context.Context, spec hubclient.WebhookSpec) (*hubclient.Webhook, error)
	UpdateWebhook(ctx context.Context, id string, spec hubclient.WebhookSpec) (*hubclient.Webhook, error)
	EnableWebhook(ctx context.Context, id string) (*hubclient.Webhook, error)
}

// Want is the webhook the configuration asks for.
type Want struct {
	URL    string
	Secret string
	// Namespaces are users or orgs whose every repo is watched; the Hub
	// wants to know which of the two each is, which Sync asks.
	Namespaces []string
	// Repos are single repos, with their type.
	Repos   []hubclient.WatchedItem
	Domains []string
}

// URL returns where the Hub must send deliveries: server.public_url (on a
// Space, https://$SPACE_HOST) followed by server.webhook_path.
func URL(cfg *config.Config) (string, error) {
	base := strings.TrimRight(cfg.Server.PublicURL, "/")
	if base == "" {
		return "", cfg.At("server.public_url", "is empty and SPACE_HOST is not set: hubbot does not know the URL the Hub should post to")
	}
	return base + cfg.Server.WebhookPath, nil
}

// Wanted derives the webhook from cfg: what [hub] watch lists, else what
// [repos] allow names ("org/*" watches the org or user, "ns/name" the model,
// "datasets/ns/name" the dataset, "spaces/ns/name" the Space), with both
// domains and the first WEBHOOK_SECRET. A bare "*" cannot be watched.
// Deny globs need no webhook change: the receiver drops those deliveries.
func Wanted(cfg *config.Config) (Want, error) {
	var errs []error
	url, err := URL(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	want := Want{URL: url, Domains: []string{hubclient.DomainRepo, hubclient.DomainDiscussion}}
	if len(cfg.Secrets.WebhookSecrets) == 0 {
		errs = append(errs, errors.New("WEBHOOK_SECRET is not set: the webhook needs the secret the bot checks"))
	} else {
		want.Secret = cfg.Secrets.WebhookSecrets[0]
	}

	key, globs := "hub.watch", cfg.Hub.Watch
	if len(globs) == 0 {
		key, globs = "repos.allow", cfg.Repos.Allow
	}
	namespaces := map[string]bool{}
	repos := map[hubclient.WatchedItem]bool{}
	for i, g := range globs {
		ns, item, err := watchOf(g)
		if err != nil {
			errs = append(errs, cfg.At(fmt.Sprintf("%s.%d", key, i), "%v", err))
			continue
		}
		if ns != "" {
			namespaces[ns] = true
		} else {
			repos[item] = true
		}
	}
	if len(globs) == 0 && len(errs) == 0 {
		errs = append(errs, cfg.At("hub.watch", `names nothing to watch: list users, orgs or repos, as in watch = ["my-org/*", "me/my-model"]`))
	}
	for ns := range namespaces {
		want.Namespaces = append(want.Namespaces, ns)
	}
	slices.Sort(want.Namespaces)
	for item := range repos {
		owner, _, _ := strings.Cut(item.Name, "/")
		if !namespaces[owner] { // already covered by its namespace
			want.Repos = append(want.Repos, item)
		}
	}
	sortItems(want.Repos)
	return want, errors.Join(errs...)
}

// watchOf reads one glob: a namespace to watch whole, or one repo.
func watchOf(g string) (namespace string, repo hubclient.WatchedItem, err error) {
	if g == "*" {
		return "", repo, errors.New(`"*" names every repo on the Hub, which a webhook cannot watch: ` +
			`list the users, orgs or repos to watch in [hub] watch = ["my-org/*", "me/my-model"]`)
	}
	kind, rest := "model", g
	if r, ok := strings.CutPrefix(g, "datasets/"); ok {
		kind, rest = "dataset", r
	} else if r, ok := strings.CutPrefix(g, "spaces/"); ok {
		kind, rest = "space", r
	}
	ns, name, ok := strings.Cut(rest, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", repo, fmt.Errorf("want org/*, ns/name, datasets/ns/name or spaces/ns/name, got %q", g)
	}
	if strings.ContainsAny(ns, "*?[\\") {
		return "", repo, fmt.Errorf("cannot watch %q: the user or org part is a pattern; name it", g)
	}
	if strings.ContainsAny(name, "*?[\\") {
		// The Hub watches whole accounts or single repos: a pattern inside
		// one account watches the account, and the receiver's allow and
		// deny checks drop the rest.
		return ns, repo, nil
	}
	return "", hubclient.WatchedItem{Type: kind, Name: ns + "/" + name}, nil
}

func sortItems(items []hubclient.WatchedItem) {
	slices.SortFunc(items, func(a, b hubclient.WatchedItem) int { return strings.Compare(a.String(), b.String()) })
}

// Plan is what Sync would do.
type Plan struct {
	// Current is the bot's webhook as the Hub has it; nil when there is none.
	Current *hubclient.Webhook
	// Spec is the webhook wanted, with namespaces resolved to users or orgs.
	Spec hubclient.WebhookSpec
	// Changes says what differs, one line each; empty when nothing does.
	Changes []string
	// Notes are things worth saying that need no change.
	Notes []string

	update, enable bool
}

// Unchanged reports a webhook that already is as wanted.
func (p *Plan) Unchanged() bool { return p.Current != nil && len(p.Changes) == 0 }

// MakePlan resolves want against the Hub and compares it with the bot's
// webhook, found by URL.
func MakePlan(ctx context.Context, c Client, want Want) (*Plan, error) {
	watched, err := resolve(ctx, c, want)
	if err != nil {
		return nil, err
	}
	p := &Plan{Spec: hubclient.WebhookSpec{URL: want.URL, Secret: want.Secret, Watched: watched, Domains: want.Domains}}
	hooks, err := c.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	var mine []hubclient.Webhook
	for _, h := range hooks {
		if h.URL == want.URL {
			mine = append(mine, h)
		}
	}
	if len(mine) == 0 {
		p.Changes = append(p.Changes, fmt.Sprintf("create a webhook for %s watching %s (domains %s)",
			want.URL, itemList(watched), strings.Join(want.Domains, ", ")))
		return p, nil
	}
	p.Current = &mine[0]
	if len(mine) > 1 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d other webhooks also post to %s; only %s is managed: delete the others on the Hub",
			len(mine)-1, want.URL, p.Current.ID))
	}
	cur := p.Current
	if added, removed := diffItems(cur.Watched, watched); len(added)+len(removed) > 0 {
		p.update = true
		p.Changes = append(p.Changes, "watched: "+signed(added, removed))
	}
	if have := domainsOf(cur.Domains); !sameSet(have, want.Domains) {
		p.update = true
		p.Changes = append(p.Changes, fmt.Sprintf("domains: %s -> %s", strings.Join(have, ", "), strings.Join(want.Domains, ", ")))
	}
	switch {
	case cur.Secret == "":
		// The Hub may keep the secret to itself; sending it anyway would
		// make every sync a change. It goes along with any other update.
		p.Notes = append(p.Notes, "secret: not shown by the Hub; sent again only with another change")
	case cur.Secret != want.Secret:
		p.update = true
		p.Changes = append(p.Changes, "secret: replaced by the first WEBHOOK_SECRET")
	}
	if cur.Disabled {
		p.enable = true
		p.Changes = append(p.Changes, "enable: the webhook was disabled")
	}
	return p, nil
}

// Apply carries out a plan and returns the webhook as the Hub has it after.
func Apply(ctx context.Context, c Client, p *Plan) (*hubclient.Webhook, error) {
	if p.Current == nil {
		return c.CreateWebhook(ctx, p.Spec)
	}
	hook := p.Current
	var err error
	if p.update {
		if hook, err = c.UpdateWebhook(ctx, hook.ID, p.Spec); err != nil {
			return nil, err
		}
	}
	if p.enable {
		if hook, err = c.EnableWebhook(ctx, p.Current.ID); err != nil {
			return nil, err
		}
	}
	return hook, nil
}

// Sync makes the bot's webhook what want says: exactly one webhook per URL
// is created, and later calls update it in place. It returns the plan it
// carried out and the webhook as the Hub has it after.
func Sync(ctx context.Context, c Client, want Want) (*Plan, *hubclient.Webhook, error) {
	p, err := MakePlan(ctx, c, want)
	if err != nil {
		return nil, nil, fmt.Errorf("sync webhook for %s: %w", want.URL, err)
	}
	hook, err := Apply(ctx, c, p)
	if err != nil {
		return p, nil, fmt.Errorf("sync webhook for %s: %w", want.URL, err)
	}
	return p, hook, nil
}

// resolve turns namespaces into user or org items: the bot's own account
// and orgs are known from whoami; any other name is an org if the Hub has
// an org of that name, else a user.
func resolve(ctx context.Context, c Client, want Want) ([]hubclient.WatchedItem, error) {
	items := slices.Clone(want.Repos)
	var me *hubclient.User
	if len(want.Namespaces) > 0 {
		u, err := c.WhoAmI(ctx)
		if err != nil {
			return nil, err
		}
		me = u
	}
	for _, ns := range want.Namespaces {
		kind := ""
		switch {
		case strings.EqualFold(ns, me.Name):
			kind = "user"
		case slices.ContainsFunc(me.Orgs, func(o hubclient.Org) bool { return strings.EqualFold(o.Name, ns) }):
			kind = "org"
		default:
			_, err := c.GetOrgOverview(ctx, ns)
			switch {
			case err == nil:
				kind = "org"
			case hubclient.IsNotFound(err):
				kind = "user"
			default:
				return nil, fmt.Errorf("is %s a user or an org: %w", ns, err)
			}
		}
		items = append(items, hubclient.WatchedItem{Type: kind, Name: ns})
	}
	sortItems(items)
	return items, nil
}

func domainsOf(d []string) []string {
	if len(d) == 0 { // the Hub's default: every domain
		return []string{hubclient.DomainRepo, hubclient.DomainDiscussion}
	}
	return d
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func diffItems(have, want []hubclient.WatchedItem) (added, removed []hubclient.WatchedItem) {
	for _, w := range want {
		if !slices.Contains(have, w) {
			added = append(added, w)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			removed = append(removed, h)
		}
	}
	return added, removed
}

func signed(added, removed []hubclient.WatchedItem) string {
	var parts []string
	for _, a := range added {
		parts = append(parts, "+"+a.String())
	}
	for _, r := range removed {
		parts = append(parts, "-"+r.String())
	}
	return strings.Join(parts, " ")
}

func itemList(items []hubclient.WatchedItem) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.String()
	}
	return strings.Join(parts, ", ")
}

// Describe renders a webhook for people, without its secret; secrets are
// the configured ones, to say whether the Hub's matches.
func Describe(h *hubclient.Webhook, secrets []string) string {
	state := "enabled"
	if h.Disabled {
		state = "disabled"
	}
	var secret string
	switch {
	case h.Secret == "":
		secret = "not shown by the Hub"
	case slices.Contains(secrets, h.Secret):
		secret = "matches WEBHOOK_SECRET"
	default:
		secret = "differs from WEBHOOK_SECRET"
	}
	return fmt.Sprintf("webhook %s\n  url:     %s\n  state:   %s\n  watched: %s\n  domains: %s\n  secret:  %s\n",
		h.ID, h.URL, state, itemList(h.Watched), strings.Join(domainsOf(h.Domains), ", "), secret)
}
