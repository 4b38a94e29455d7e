package webhook

import (
	"context"
	"fmt"
	"strings"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
)

// Decision is what a route makes of an event: jobs to enqueue, or a reason
// to ignore it.
type Decision struct {
	Jobs   []jobs.Spec
	Ignore string // why nothing is done; empty when there are jobs
}

// Ignored is a Decision to do nothing, for a reason.
func Ignored(format string, args ...any) Decision {
	return Decision{Ignore: fmt.Sprintf(format, args...)}
}

// HandlerFunc turns one event into a Decision. It must be fast and must not
// call the Hub: it runs while the Hub waits for the answer.
type HandlerFunc func(ctx context.Context, p *Payload) (Decision, error)

// Router maps "scope action" pairs to handlers.
type Router struct {
	routes map[string]HandlerFunc
	scopes map[string]bool
}

// NewRouter returns an empty routing table.
func NewRouter() *Router {
	return &Router{routes: map[string]HandlerFunc{}, scopes: map[string]bool{}}
}

// Handle routes events of scope and action to h.
func (r *Router) Handle(scope, action string, h HandlerFunc) {
	r.routes[scope+" "+action] = h
	r.scopes[scope] = true
}

// Decide routes p. An unknown narrower scope is treated as an update of the
// broader one; an event with no route is ignored with a reason.
func (r *Router) Decide(ctx context.Context, p *Payload) (Decision, error) {
	scope, action := p.Route(func(s string) bool { return r.scopes[s] })
	h := r.routes[scope+" "+action]
	if h == nil {
		return Ignored("no route for %s %s", p.Event.Scope, p.Event.Action), nil
	}
	return h(ctx, p)
}

// ContentRoute turns a repo.content event into one run job per updated ref
// and matching action: `push` for refs/heads/*, `pull_request` for
// refs/pr/N, `tag` for refs/tags/*. Deleted refs are ignored.
func ContentRoute(cfg *config.Config) HandlerFunc {
	return func(ctx context.Context, p *Payload) (Decision, error) {
		if len(p.UpdatedRefs) == 0 {
			return Ignored("repo.content event without updatedRefs"), nil
		}
		var specs []jobs.Spec
		var skipped []string
		for _, u := range p.UpdatedRefs {
			if u.New() == "" {
				skipped = append(skipped, u.Ref+" deleted")
				continue
			}
			matched := false
			for _, a := range cfg.Actions {
				trigger, ok := refTrigger(&a, u.Ref)
				if !ok {
					continue
				}
				matched = true
				specs = append(specs, jobs.Spec{
					Kind: jobs.KindRun, Action: a.Name, Trigger: trigger,
					Repo: p.HubRepo(), Ref: u.Ref, SHA: u.New(), OldSHA: u.Old(),
					Discussion: prNumber(u.Ref),
				})
			}
			if !matched {
				skipped = append(skipped, u.Ref+" matches no action")
			}
		}
		if len(specs) == 0 {
			return Ignored("%s", strings.Join(skipped, "; ")), nil
		}
		return Decision{Jobs: specs}, nil
	}
}

// refTrigger reports which trigger of a fires for an update of ref.
func refTrigger(a *config.Action, ref string) (string, bool) {
	switch {
	case strings.HasPrefix(ref, "refs/heads/"):
		return config.OnPush, a.Has(config.OnPush) && a.MatchesBranch(strings.TrimPrefix(ref, "refs/heads/"))
	case strings.HasPrefix(ref, "refs/pr/"):
		return config.OnPullRequest, a.Has(config.OnPullRequest) && prNumber(ref) > 0
	case strings.HasPrefix(ref, "refs/tags/"):
		return config.OnTag, a.Has(config.OnTag) && a.MatchesTag(strings.TrimPrefix(ref, "refs/tags/"))
	}
	return "", false // refs/convert/* and anything else the Hub may add
}

// prNumber returns N for "refs/pr/N", else 0.
func prNumber(ref string) int {
	n := 0
	rest, ok := strings.CutPrefix(ref, "refs/pr/")
	if !ok || rest == "" || len(rest) > 9 {
		return 0
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
