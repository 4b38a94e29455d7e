package chatops

// Approval of pull requests from authors outside an action's allow rules.
// A `run` action on `pull_request` runs a pull request's code by itself only
// when its author passes the action's rules; otherwise an allowed user
// approves the head by comment, as GitHub Actions asks for first-time
// contributors and Prow's /ok-to-test does. The bot decides whether a job
// needs approval (it knows the pull request's author); this file has the
// command and the rules.

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Approvals records approvals and queues the runs they allow. The bot
// implements it with the job store, so that an approval is never lost nor
// applied twice.
type Approvals interface {
	Approve(ctx context.Context, req ApproveRequest) (Approved, error)
}

// ApproveRequest asks to approve actions on a pull request's head.
type ApproveRequest struct {
	Repo       Repo
	Discussion int
	CommentID  string
	Approver   User
	SHA        string // the head, read from the Hub when the comment is handled
	Actions    []string
}

// Approved is what an approval did, per action.
type Approved struct {
	// SHA is the revision approved: the head when this comment was first
	// handled, which a retried command job keeps.
	SHA string
	// Moved is set when the pull request changed after the comment was
	// posted: its head now. Nothing is approved then.
	Moved string
	// Queued were approved and queued on SHA; Already were approved on
	// SHA before; NotNeeded need no approval (the author passes their
	// rules); Privileged never run on this author's code, approved or not.
	Queued, Already, NotNeeded, Privileged []string
}

// TrustRules are the rules a pull request's author must pass for an
// action to run the pull request's code without approval, and a commenter
// to approve it: the action's own allow list when it has one, else
// [commands] allow (nil for "repo-owner") in which "anyone" stands for the
// repo owner, as for commands that write.
func TrustRules(actionAllow, commandsAllow []string) ([]Rule, error) {
	if actionAllow != nil {
		return ParseRules(actionAllow)
	}
	if commandsAllow == nil {
		commandsAllow = []string{"repo-owner"}
	}
	rules, err := ParseRules(commandsAllow)
	if err != nil {
		return nil, err
	}
	return forWrites(rules), nil
}

// Allowed reports whether rules allow user, on repo, in discussion (where
// the Directory finds the user's name when a rule needs it).
func Allowed(ctx context.Context, dir Directory, repo Repo, discussion int, user User, rules []Rule) (bool, error) {
	return newChecker(dir, Event{Repo: repo, Discussion: discussion, Author: user}).allowed(ctx, rules)
}

// ApproverRules are the rules a commenter must pass to approve action, or to
// start it by command on a pull request whose author does not pass its
// TrustRules: what the approve command checks, else the action's
// TrustRules.
func (r *Registry) ApproverRules(action string) []Rule {
	act, ok := r.lookupAction(action)
	if !ok {
		return []Rule{}
	}
	if cmd, ok := r.byName["approve"]; ok {
		return r.rulesFor(cmd, act)
	}
	if act.allow != nil {
		return act.allow
	}
	return forWrites(r.global)
}

// approveCommand approves the actions waiting for approval on the pull
// request's head, or the ones named.
func (r *Registry) approveCommand() Command {
	return Command{
		Name:     "approve",
		Args:     "[action]...",
		Help:     "Let the actions that wait for approval (or the ones named) run once on the pull request's current head.",
		MaxArgs:  r.max,
		Validate: r.validateApprovable,
		// Approving runs a stranger's code: a global "anyone" does not
		// extend to it.
		Writes: true,
		Targets: func(_ context.Context, c *Call) ([]string, error) {
			if !c.Event.IsPR {
				c.Notef("%s works in a pull request: it approves running actions on its head.", code("approve"))
				return nil, nil
			}
			if len(c.Invocation.Args) > 0 {
				return c.Invocation.Args, nil
			}
			return r.approvable(), nil
		},
		Run: approve,
	}
}

// approvable lists the actions that may wait for approval.
func (r *Registry) approvable() []string {
	var out []string
	for _, a := range r.actions {
		if a.approval {
			out = append(out, a.name)
		}
	}
	return out
}

func (r *Registry) validateApprovable(inv *Invocation) error {
	known := r.approvable()
	var out []string
	for _, arg := range inv.Args {
		a, ok := r.lookupAction(arg)
		if !ok || !a.approval {
			return &usageError{
				msg:     fmt.Sprintf("%s does not wait for approval. Actions that may: %s.", code(arg), codeList(known)),
				suggest: suggest(arg, known),
			}
		}
		if !slices.Contains(out, a.name) {
			out = append(out, a.name)
		}
	}
	inv.Args = out
	return nil
}

// approve records the approval of the call's actions on the head.
func approve(ctx context.Context, c *Call) (string, error) {
	if len(c.Actions) == 0 {
		return "", nil
	}
	if c.Env.Approvals == nil {
		return "", fmt.Errorf("approve: the bot gave no Approvals")
	}
	sha, err := c.Head(ctx)
	if err != nil {
		return "", err
	}
	res, err := c.Env.Approvals.Approve(ctx, ApproveRequest{Repo: c.Event.Repo, Discussion: c.Event.Discussion,
		CommentID: c.Event.CommentID, Approver: c.Event.Author, SHA: sha, Actions: c.Actions})
	if err != nil {
		return "", fmt.Errorf("approve %s at %s: %w", strings.Join(c.Actions, ", "), shortSHA(sha), err)
	}
	return res.text(), nil
}

// text is the reply to an approval.
func (a Approved) text() string {
	if a.Moved != "" {
		return fmt.Sprintf("Not approved: the pull request changed after this comment (its head is now %s). Review the new changes and approve again.",
			code(shortSHA(a.Moved)))
	}
	var lines []string
	if len(a.Queued) > 0 {
		lines = append(lines, fmt.Sprintf("Approved %s: queued %s.", code(shortSHA(a.SHA)), andList(a.Queued)))
	}
	if len(a.Already) > 0 {
		lines = append(lines, fmt.Sprintf("%s %s approved on %s already; %s runs it again.",
			andList(a.Already), isAre(len(a.Already)), code(shortSHA(a.SHA)), code("rerun")))
	}
	if len(a.NotNeeded) > 0 {
		lines = append(lines, fmt.Sprintf("%s %s no approval: the author of this pull request may run %s.",
			andList(a.NotNeeded), needs(len(a.NotNeeded)), itThem(len(a.NotNeeded))))
	}
	if len(a.Privileged) > 0 {
		lines = append(lines, fmt.Sprintf("%s never %s on this pull request: %s privileged (the Hub token, secrets from the bot's environment, or outputs that open a pull request) and its author is not allowed to run %s. Approval does not change that.",
			andList(a.Privileged), runs(len(a.Privileged)), itThey(len(a.Privileged)), itThem(len(a.Privileged))))
	}
	return strings.Join(lines, " ")
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func needs(n int) string {
	if n == 1 {
		return "needs"
	}
	return "need"
}

func runs(n int) string {
	if n == 1 {
		return "runs"
	}
	return "run"
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func itThey(n int) string {
	if n == 1 {
		return "it is"
	}
	return "they are"
}
