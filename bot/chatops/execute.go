package chatops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hubbot/hubbot/bot/refs"
)

// Repo is the repository a comment was made on, from the webhook payload.
type Repo struct {
	ID      string // "namespace/name"
	Type    string // "model", "dataset" or "space"
	OwnerID string // repo.owner.id: a user's or an organization's id
}

// User is a Hub account.
type User struct {
	ID   string
	Name string // may be empty: resolved through the Directory when a rule needs it
}

// Event is where a comment's commands come from. The webhook layer fills it
// from the payload, never from the comment's text.
type Event struct {
	Repo       Repo
	Discussion int  // discussion.num
	IsPR       bool // discussion.isPullRequest
	CommentID  string
	Author     User // comment.author.id, and the name when already known
}

// Ref is the ref commands run on: the pull request's head ref, or main in a
// plain discussion.
func (e Event) Ref() string {
	if e.IsPR {
		return refs.PR(e.Discussion)
	}
	return refs.Main
}

// Heads reads the current commit of a ref from the Hub. Commands resolve it
// when they run, not from the payload, so they act on what the pull request
// holds now.
type Heads interface {
	Head(ctx context.Context, repo Repo, ref string) (sha string, err error)
}

// Queue is what commands need from the job queue.
type Queue interface {
	// Enqueue queues one run of an action. A run of the same repo, ref,
	// sha and action that is queued or running already makes it a
	// duplicate (not an error); a finished one does not, since asking
	// again is how a user re-runs.
	Enqueue(ctx context.Context, req RunRequest) (Enqueued, error)
	// LastRuns lists, per action, the latest job run for repo at ref and
	// sha, whatever started it.
	LastRuns(ctx context.Context, repo Repo, ref, sha string) ([]PastRun, error)
	// Cancel cancels the queued and running jobs for repo at ref (any
	// sha), only those of actions when it is not empty, and says how many
	// it cancelled.
	Cancel(ctx context.Context, repo Repo, ref string, actions []string) (int, error)
}

// Replier posts a comment on a discussion.
type Replier interface {
	Reply(ctx context.Context, repo Repo, discussion int, markdown string) error
}

// Env is the rest of the bot, as commands see it. The lead wires hubclient
// (Directory, Heads, Replier) and the job queue (Queue) in here.
type Env struct {
	Directory Directory
	Heads     Heads
	Queue     Queue
	Replier   Replier
	// Approvals is needed by the approve command only.
	Approvals Approvals
}

// RunRequest asks for one run of an action on behalf of a command.
type RunRequest struct {
	Repo       Repo
	Ref        string
	SHA        string
	Action     string
	Discussion int
	CommentID  string
	Requester  User
	Command    string // the command line, for the report ("requested with ...")
}

// Enqueued is the answer to Enqueue.
type Enqueued struct {
	ID        string
	Duplicate bool // an identical run is queued or running already
}

// PastRun is the latest job of one action at one commit. State is a job
// state: queued, running, succeeded, failed, cancelled or skipped.
type PastRun struct {
	Action string
	State  string
}

// Call is one invocation being executed: what a handler gets.
type Call struct {
	Event      Event
	Invocation Invocation
	// Actions are the actions the commenter may run with this command,
	// for commands with Actions or Targets.
	Actions []string
	Env     Env

	x     *execution
	notes []string
}

// Head returns the current commit of the ref the command runs on, asking
// the Hub once per comment.
func (c *Call) Head(ctx context.Context) (string, error) { return c.x.head(ctx) }

// Notef adds a line to the reply, for handlers and Targets that skip
// something and should say so.
func (c *Call) Notef(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// Report is what Execute did, for the job log.
type Report struct {
	Reply  string   // the comment posted; empty when nothing was posted
	Ran    []string // the command lines whose handler ran
	Denied []string // the command lines refused, entirely or in part
}

// execution is the state shared by the commands of one comment.
type execution struct {
	r        *Registry
	env      Env
	ev       Event
	chk      *checker
	sha      string
	resolved bool
}

func (x *execution) head(ctx context.Context) (string, error) {
	if !x.resolved {
		ref := x.ev.Ref()
		sha, err := x.env.Heads.Head(ctx, x.ev.Repo, ref)
		if err != nil {
			return "", fmt.Errorf("read the head of %s %s: %w", x.ev.Repo.ID, ref, err)
		}
		if sha == "" {
			return "", fmt.Errorf("read the head of %s %s: no commit", x.ev.Repo.ID, ref)
		}
		x.sha, x.resolved = sha, true
	}
	return x.sha, nil
}

// Execute runs the invocations of one comment (from Parse, possibly stored
// in a job since): it authorizes each, runs the handlers that are allowed,
// and posts one reply that gathers their answers and the refusals.
//
// An error means the Hub or the queue failed: nothing was posted and the
// caller should retry the whole comment later; handlers are written to be
// run again (Enqueue reports duplicates).
func (r *Registry) Execute(ctx context.Context, env Env, ev Event, invs []Invocation) (Report, error) {
	if env.Directory == nil || env.Heads == nil || env.Queue == nil || env.Replier == nil {
		return Report{}, errors.New("chatops: Env needs a Directory, Heads, a Queue and a Replier")
	}
	x := &execution{r: r, env: env, ev: ev, chk: newChecker(env.Directory, ev)}
	var (
		rep   Report
		parts []string
	)
	if len(invs) > r.max {
		// Parse never gives more; a job stored under a larger limit does.
		parts = append(parts, fmt.Sprintf("Only the first %d commands were read.", r.max))
		invs = invs[:r.max]
	}
	for _, inv := range invs {
		msg, ran, denied, err := x.run(ctx, inv)
		if err != nil {
			return Report{}, fmt.Errorf("run %q for %s#%d: %w", inv.Line, ev.Repo.ID, ev.Discussion, err)
		}
		if ran {
			rep.Ran = append(rep.Ran, inv.Line)
		}
		if denied {
			rep.Denied = append(rep.Denied, inv.Line)
		}
		if msg != "" {
			parts = append(parts, quoted(inv.Line)+msg)
		}
	}
	if len(parts) == 0 {
		return rep, nil
	}
	reply := r.Safe(strings.Join(parts, "\n\n"))
	if err := env.Replier.Reply(ctx, ev.Repo, ev.Discussion, reply); err != nil {
		return Report{}, fmt.Errorf("reply on %s#%d: %w", ev.Repo.ID, ev.Discussion, err)
	}
	rep.Reply = reply
	return rep, nil
}

// run authorizes and runs one invocation, returning the text to reply.
func (x *execution) run(ctx context.Context, inv Invocation) (msg string, ran, denied bool, err error) {
	cmd, ok := x.r.byName[inv.Command]
	if !ok || cmd.Name != inv.Command {
		return fmt.Sprintf("%s is not a command any more.", code(inv.Command)), false, false, nil
	}
	// Stored invocations are checked again: the configuration may have
	// changed since the comment was parsed. Validate may rewrite the
	// arguments, so it works on a copy of the caller's.
	inv.Args = slices.Clone(inv.Args)
	if ue := x.r.check(cmd, &inv); ue != nil {
		return ue.text(), false, false, nil
	}
	for name := range inv.Flags {
		if cmd.flag(name) == nil {
			return fmt.Sprintf("%s has no flag %s any more.", code(cmd.Name), code("--"+name)), false, false, nil
		}
	}
	call := &Call{Event: x.ev, Invocation: inv, Env: x.env, x: x}

	var refusals []string
	if cmd.Actions != nil || cmd.Targets != nil {
		targets := cmd.Actions
		if cmd.Targets != nil {
			if targets, err = cmd.Targets(ctx, call); err != nil {
				return "", false, false, err
			}
		}
		for _, name := range targets {
			act, ok := x.r.lookupAction(name)
			if !ok {
				call.Notef("%s is not a configured action any more.", code(name))
				continue
			}
			rules := x.r.rulesFor(cmd, act)
			ok, err := x.chk.allowed(ctx, rules)
			if err != nil {
				return "", false, false, err
			}
			if ok {
				call.Actions = append(call.Actions, act.name)
			} else {
				refusals = append(refusals, denial(code(act.name), rules))
			}
		}
		if len(call.Actions) == 0 && len(refusals) > 0 {
			return strings.Join(append(call.notes, refusals...), "\n\n"), false, true, nil
		}
	} else {
		rules := x.r.rulesFor(cmd, nil)
		ok, err := x.chk.allowed(ctx, rules)
		if err != nil {
			return "", false, false, err
		}
		if !ok {
			return denial(code(cmd.Name), rules), false, true, nil
		}
	}

	out, err := cmd.Run(ctx, call)
	if err != nil {
		return "", false, false, err
	}
	lines := append(call.notes, refusals...)
	if out != "" {
		lines = append([]string{out}, lines...)
	}
	return strings.Join(lines, "\n\n"), true, len(refusals) > 0, nil
}
