package webhook

import (
	"context"
	"fmt"

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
