package bot

// Trust: whether a run job may run a pull request's code. A `run` action
// runs what the pull request holds, so on a pull request it runs by itself
// only when the pull request's author passes the action's allow rules;
// otherwise it waits until an allowed user approves the head by comment
// (/hubbot approve, or starts the action by command). A privileged action
// (the token, secrets passed through, outputs that open a pull request)
// never runs on an outsider's code, approved or not. Model card checks and
// conversions never execute repo content and are not concerned.

import (
	"context"
	"fmt"
	"slices"

	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/hubclient"
)

// verdict is what trust decides for a run job.
type verdict int

const (
	runCode         verdict = iota // run it
	waitForApproval                // not yet: an allowed user must approve this head
	neverRun                       // never on this author's code
)

// trustFacts are what the verdict depends on.
type trustFacts struct {
	authorAllowed bool // the pull request's author passes the action's rules
	privileged    bool // the action gets the token or secrets, or opens a pull request
	approved      bool // an allowed user approved this revision, or asked for this run
}

// decide is the rule of trust, in one place: an allowed author's code
// runs; a privileged action runs nothing else; an approval lets the rest
// run.
func decide(f trustFacts) verdict {
	switch {
	case f.authorAllowed:
		return runCode
	case f.privileged:
		return neverRun
	case f.approved:
		return runCode
	}
	return waitForApproval
}

// Conclusions of the jobs trust stops.
const (
	conclusionApproval   = "approval-required"
	conclusionNotAllowed = "not-allowed"
)

// runsPRCode reports whether the configured action named action executes
// repo content: only `run` actions do.
func (b *Bot) runsPRCode(action string) bool {
	a := b.cfg.Action(action)
	return a != nil && a.Uses == "run"
}

// privileged reports whether the action named action is privileged.
func (b *Bot) privileged(action string) bool {
	p, ok := b.actions[action].(interface{ IsPrivileged() bool })
	return ok && p.IsPrivileged()
}

// authorAllowed reports whether the author of pull request d passes the
// trust rules of action.
func (b *Bot) authorAllowed(ctx context.Context, repo chatops.Repo, d *hubclient.DiscussionDetails, action string) (bool, error) {
	a := b.cfg.Action(action)
	if a == nil || d.Author == nil || d.Author.ID == "" {
		return false, nil
	}
	rules, err := chatops.TrustRules(a.Allow, b.cfg.Commands.Allow)
	if err != nil {
		return false, err // config validation refuses this first
	}
	author := chatops.User{ID: d.Author.ID, Name: d.Author.Name}
	ok, err := chatops.Allowed(ctx, &directory{b: b}, repo, d.Num, author, rules)
	if err != nil {
		return false, fmt.Errorf("check the author of %s#%d against the rules of %s: %w", repo.ID, d.Num, action, err)
	}
	return ok, nil
}

// approvedBy reports whether the job was approved: by an approve command
// (recorded with the job, and checked when the comment was handled), or by
// an allowed user who started it by command.
func (b *Bot) approvedBy(ctx context.Context, s jobs.Spec) (bool, error) {
	if s.Approval != "" {
		return true, nil
	}
	if s.CommentID == "" || s.AuthorID == "" || b.commands == nil {
		return false, nil
	}
	rules := b.commands.reg.ApproverRules(s.Action)
	ok, err := chatops.Allowed(ctx, &directory{b: b}, chatopsRepo(s), s.Discussion, chatops.User{ID: s.AuthorID}, rules)
	if err != nil {
		return false, fmt.Errorf("check who asked for %s: %w", s.Action, err)
	}
	return ok, nil
}

// trust decides whether the run job of s may run the code of pull request
// d. done means the job ends here, with out.
func (b *Bot) trust(ctx context.Context, s jobs.Spec, d *hubclient.DiscussionDetails, log *jobs.Log) (out jobs.Outcome, done bool, err error) {
	if !refs.IsPR(s.Ref) || !b.runsPRCode(s.Action) {
		return jobs.Outcome{}, false, nil
	}
	var f trustFacts
	if f.authorAllowed, err = b.authorAllowed(ctx, chatopsRepo(s), d, s.Action); err != nil {
		return jobs.Outcome{}, true, jobs.Temporary(err)
	}
	f.privileged = b.privileged(s.Action)
	if !f.authorAllowed && !f.privileged {
		if f.approved, err = b.approvedBy(ctx, s); err != nil {
			return jobs.Outcome{}, true, jobs.Temporary(err)
		}
	}
	author := "the author"
	if d.Author != nil && d.Author.Name != "" {
		author = d.Author.Name
	}
	switch decide(f) {
	case neverRun:
		log.Printf("%s is privileged and %s is not in its allow rules: not run", s.Action, author)
		return skippedOutcome(conclusionNotAllowed, fmt.Sprintf("not run: it is privileged (the Hub token, secrets from the bot's environment, or outputs that open a pull request) and %s is not in its allow rules; approval does not change that",
			author)), true, nil
	case waitForApproval:
		log.Printf("%s is not in the allow rules of %s: waiting for approval", author, s.Action)
		return skippedOutcome(conclusionApproval, b.waitingSummary(author, s)), true, nil
	}
	switch {
	case f.authorAllowed:
		log.Printf("%s is in the allow rules of %s", author, s.Action)
	case s.Approval != "":
		log.Printf("approved by comment %s for %s", s.Approval, shortSHA(s.SHA))
	default:
		log.Printf("started by an allowed user's command for %s", shortSHA(s.SHA))
	}
	return jobs.Outcome{}, false, nil
}

// waitingSummary says what a job waiting for approval waits for, and the
// exact comment that approves it.
func (b *Bot) waitingSummary(author string, s jobs.Spec) string {
	head := fmt.Sprintf("waiting for approval: %s is not in the allow rules of `%s`.", author, s.Action)
	if b.commands == nil {
		return head + " Commands are disabled, so nobody can approve it."
	}
	if _, ok := b.commands.reg.Lookup("approve"); !ok {
		return head
	}
	prefix := b.cfg.Commands.Prefix
	if prefix == "" {
		prefix = chatops.DefaultPrefix
	}
	return fmt.Sprintf("%s To run it once on `%s`, someone allowed comments `%s approve`.", head, shortSHA(s.SHA), prefix)
}

// approvals records approvals in the job store (chatops.Approvals).
type approvals struct{ b *Bot }

// Approve approves the actions of req on the head read when the comment
// was handled, unless the pull request changed after the comment was
// posted. A comment handled again keeps what it approved the first time.
func (a *approvals) Approve(ctx context.Context, req chatops.ApproveRequest) (chatops.Approved, error) {
	b := a.b
	repo := hubRepo(req.Repo)
	prev, err := b.queue.CommentApprovals(ctx, repo.String(), req.CommentID)
	if err != nil {
		return chatops.Approved{}, err
	}
	if len(prev) > 0 {
		res := chatops.Approved{SHA: prev[0].SHA}
		for _, p := range prev {
			res.Queued = append(res.Queued, p.Action)
		}
		return res, nil
	}
	d, err := b.hub.GetDiscussion(ctx, repo, req.Discussion)
	if err != nil {
		return chatops.Approved{}, fmt.Errorf("read %s#%d: %w", repo, req.Discussion, err)
	}
	if pushedAfter(d, req.CommentID) {
		return chatops.Approved{Moved: req.SHA}, nil
	}
	res := chatops.Approved{SHA: req.SHA}
	var specs []jobs.Spec
	for _, action := range req.Actions {
		if !b.runsPRCode(action) {
			continue // the configuration changed since the comment was parsed
		}
		allowed, err := b.authorAllowed(ctx, req.Repo, d, action)
		if err != nil {
			return chatops.Approved{}, err
		}
		switch {
		case allowed:
			res.NotNeeded = append(res.NotNeeded, action)
		case b.privileged(action):
			res.Privileged = append(res.Privileged, action)
		default:
			specs = append(specs, jobs.Spec{Kind: jobs.KindRun, Action: action, Trigger: config.OnPullRequest, Repo: repo,
				Ref: refs.PR(req.Discussion), SHA: req.SHA, Discussion: req.Discussion, OwnerID: req.Repo.OwnerID})
		}
	}
	if len(specs) == 0 {
		return res, nil
	}
	made, existing, err := b.queue.Approve(ctx, req.CommentID, req.Approver.ID, specs)
	if err != nil {
		return chatops.Approved{}, err
	}
	for _, m := range made {
		res.Queued = append(res.Queued, m.Action)
	}
	for _, e := range existing {
		res.Already = append(res.Already, e.Action)
	}
	return res, nil
}

// pushedAfter reports whether commits were pushed to pull request d after
// the comment commentID: then the head the comment's author saw is gone,
// and approving the current one would approve what nobody looked at. A
// comment not in the timeline (hidden since, or not listed) proves nothing.
func pushedAfter(d *hubclient.DiscussionDetails, commentID string) bool {
	i := slices.IndexFunc(d.Events, func(e hubclient.Event) bool { return e.ID == commentID })
	if i < 0 {
		return false
	}
	return slices.ContainsFunc(d.Events[i+1:], func(e hubclient.Event) bool { return e.Type == hubclient.EventCommit })
}
