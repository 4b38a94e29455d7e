package bot

// Chat-ops: comments in pull requests and discussions that address the bot.
// The webhook route only parses (fast, no Hub call) and queues a command
// job; the job authorizes and runs the commands through chatops.Execute.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hubbot/hubbot/actions/builtin"
	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/bot/webhook"
	"github.com/hubbot/hubbot/hubclient"
)

// commands holds the chat-ops registry of this configuration.
type commands struct {
	reg *chatops.Registry
}

func (b *Bot) newCommands() (*commands, error) {
	c := b.cfg.Commands
	if !c.Enabled {
		return nil, nil
	}
	cc := chatops.Config{Prefix: c.Prefix, BotName: b.botName(), MaxCommands: c.MaxPerComment, Allow: c.Allow,
		CommandAllow: c.Permissions, MentionsAreChat: b.cfg.Reply.Enabled && b.cfg.Reply.Trigger != "new-discussion"}
	for _, k := range builtin.Kinds() {
		if k.Shortcut.Command != "" {
			cc.Shortcuts = append(cc.Shortcuts, k.Shortcut.Command)
		}
	}
	for _, a := range b.cfg.Actions {
		k, _ := builtin.Lookup(a.Uses) // config validation checked it
		cc.Actions = append(cc.Actions, chatops.ActionConfig{Name: a.Name, Command: a.Has(config.OnCommand),
			Writes: k.Writes != nil && k.Writes(a.With), Shortcut: k.Shortcut.Command, ShortcutHelp: k.Shortcut.Help, Allow: a.Allow,
			Approval: a.Uses == "run" && a.Has(config.OnPullRequest)})
	}
	reg, err := chatops.New(cc)
	if err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	return &commands{reg: reg}, nil
}

// onComment decides what a new comment asks for. It runs while the Hub
// waits, so it only parses.
func (b *Bot) onComment(ctx context.Context, p *webhook.Payload) (webhook.Decision, error) {
	if p.Discussion == nil || p.Comment == nil {
		return webhook.Ignored("no discussion or comment in the payload"), nil
	}
	d, cm := p.Discussion, p.Comment
	facts := chatops.Facts{Scope: p.Event.Scope, Action: p.Event.Action, BotID: b.botID(), DryRun: b.dryRun,
		AuthorID: cm.Author.ID, Hidden: cm.Hidden, HasContent: cm.Content != nil, Status: d.Status,
		RepoAllowed: true} // the receiver already applied repos.allow
	if v := chatops.Guard(facts); v.Ignore {
		return webhook.Ignored("%s", v.Reason), nil
	}
	base := jobs.Spec{Repo: p.HubRepo(), Discussion: d.Num, CommentID: cm.ID, AuthorID: cm.Author.ID,
		OwnerID: p.Repo.Owner.ID, Ref: refs.Main, Event: p.Event.Scope}
	if d.IsPullRequest {
		base.Ref = refs.PR(d.Num)
	}
	if b.commands != nil {
		res := b.commands.reg.Parse(cm.Text())
		switch res.Kind {
		case chatops.Run:
			data, err := json.Marshal(res.Invocations)
			if err != nil {
				return webhook.Decision{}, err
			}
			s := base
			s.Kind, s.Data = jobs.KindCommand, data
			return webhook.Decision{Jobs: []jobs.Spec{s}}, nil
		case chatops.Reply:
			s := base
			s.Kind, s.Text = jobs.KindCommand, res.Reply
			return webhook.Decision{Jobs: []jobs.Spec{s}}, nil
		}
	}
	if spec, ok, reason := b.replyDecision(p, base); ok {
		return webhook.Decision{Jobs: []jobs.Spec{spec}}, nil
	} else if reason != "" {
		return webhook.Ignored("%s", reason), nil
	}
	return webhook.Ignored("not addressed to hubbot"), nil
}

// commandJob authorizes and runs the commands of one comment, or posts the
// prepared answer to a comment that could not run.
func (b *Bot) commandJob(ctx context.Context, job *jobs.Job, log *jobs.Log) (jobs.Outcome, error) {
	s := job.Spec
	if b.commands == nil {
		return jobs.Outcome{State: jobs.StateSkipped, Summary: "commands are disabled"}, nil
	}
	env := chatops.Env{Directory: &directory{b: b}, Heads: &heads{b: b}, Queue: &commandQueue{b: b},
		Replier: &replier{b: b, log: log, answers: s.CommentID}, Approvals: &approvals{b: b}}
	if len(s.Data) == 0 {
		if err := env.Replier.Reply(ctx, chatopsRepo(s), s.Discussion, s.Text); err != nil {
			return jobs.Outcome{}, jobs.Temporary(err)
		}
		return jobs.Outcome{State: jobs.StateSucceeded, Summary: "answered a comment that could not run"}, nil
	}
	var invs []chatops.Invocation
	if err := json.Unmarshal(s.Data, &invs); err != nil {
		return jobs.Outcome{State: jobs.StateFailed, Summary: "stored command is unreadable: " + err.Error()}, nil
	}
	ev := chatops.Event{Repo: chatopsRepo(s), Discussion: s.Discussion, IsPR: refs.IsPR(s.Ref),
		CommentID: s.CommentID, Author: chatops.User{ID: s.AuthorID}}
	rep, err := b.commands.reg.Execute(ctx, env, ev, invs)
	if err != nil {
		return jobs.Outcome{}, jobs.Temporary(err)
	}
	log.Printf("ran %v; denied %v", rep.Ran, rep.Denied)
	summary := fmt.Sprintf("ran %d command(s)", len(rep.Ran))
	if len(rep.Denied) > 0 {
		summary += fmt.Sprintf(", denied %d", len(rep.Denied))
	}
	return jobs.Outcome{State: jobs.StateSucceeded, Conclusion: "success", Summary: summary, Details: rep.Reply}, nil
}

func chatopsRepo(s jobs.Spec) chatops.Repo {
	return chatops.Repo{ID: s.Repo.ID, Type: string(repoType(s.Repo)), OwnerID: s.OwnerID}
}

func hubRepo(r chatops.Repo) hubclient.Repo {
	t, _ := hubclient.ParseRepoType(r.Type)
	return hubclient.Repo{Type: t, ID: r.ID}
}

// directory resolves usernames and org membership through the Hub.
type directory struct{ b *Bot }

func (d *directory) UserName(ctx context.Context, repo chatops.Repo, num int, userID string) (string, error) {
	details, err := d.b.hub.GetDiscussion(ctx, hubRepo(repo), num)
	if err != nil {
		return "", err
	}
	for i := len(details.Events) - 1; i >= 0; i-- {
		if a := details.Events[i].Author; a != nil && a.ID == userID {
			return a.Name, nil
		}
	}
	return "", nil
}

func (d *directory) IsMember(ctx context.Context, org, user string) (bool, error) {
	ov, err := d.b.hub.GetUserOverview(ctx, user)
	if hubclient.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ov.Orgs, func(o hubclient.Org) bool { return strings.EqualFold(o.Name, org) }), nil
}

// heads reads the current commit of a ref.
type heads struct{ b *Bot }

func (h *heads) Head(ctx context.Context, repo chatops.Repo, ref string) (string, error) {
	return h.b.hub.RefSHA(ctx, hubRepo(repo), ref)
}

// commandQueue queues the runs commands ask for.
type commandQueue struct{ b *Bot }

func (q *commandQueue) Enqueue(ctx context.Context, req chatops.RunRequest) (chatops.Enqueued, error) {
	s := jobs.Spec{Kind: jobs.KindRun, Action: req.Action, Trigger: config.OnCommand, Repo: hubRepo(req.Repo),
		Ref: req.Ref, SHA: req.SHA, CommentID: req.CommentID, AuthorID: req.Requester.ID, OwnerID: req.Repo.OwnerID}
	if refs.IsPR(req.Ref) {
		s.Discussion = req.Discussion
	}
	id, dup, err := q.b.queue.EnqueueAgain(ctx, "command:"+req.CommentID, s)
	if err != nil {
		return chatops.Enqueued{}, err
	}
	return chatops.Enqueued{ID: fmt.Sprint(id), Duplicate: dup}, nil
}

func (q *commandQueue) LastRuns(ctx context.Context, repo chatops.Repo, ref, sha string) ([]chatops.PastRun, error) {
	list, err := q.b.queue.LastRuns(ctx, hubRepo(repo).String(), ref, sha)
	if err != nil {
		return nil, err
	}
	out := make([]chatops.PastRun, 0, len(list))
	for _, j := range list {
		out = append(out, chatops.PastRun{Action: j.Spec.Action, State: string(j.State)})
	}
	return out, nil
}

func (q *commandQueue) Cancel(ctx context.Context, repo chatops.Repo, ref string, actions []string) (int, error) {
	n, err := q.b.queue.Cancel(ctx, hubRepo(repo).String(), ref, actions)
	if err != nil || n == 0 {
		return n, err
	}
	q.b.showCancelled(ctx, hubRepo(repo), ref, actions)
	return n, nil
}

// replier posts a command's answer (or logs it in dry-run).
type replier struct {
	b       *Bot
	log     *jobs.Log
	answers string // the comment answered, named in a marker for recovery
}

func (r *replier) Reply(ctx context.Context, repo chatops.Repo, num int, markdown string) error {
	if r.answers != "" {
		markdown += "\n\n" + answerMarker(r.answers)
	}
	_, err := r.b.pub.postComment(ctx, hubRepo(repo), num, markdown, r.log)
	return err
}
