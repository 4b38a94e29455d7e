package bot

// The LLM reply bot, wired to the webhook routes (Decide, quick) and to the
// queue (a reply job per comment, deduplicated in the store's ledger).

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/reply"
	"github.com/hubbot/hubbot/bot/webhook"
)

type replies struct {
	bot *reply.Bot
}

func (b *Bot) newReplies(hc *http.Client) (*replies, error) {
	if !b.cfg.Reply.Enabled {
		return nil, nil
	}
	rb, err := reply.New(b.cfg.Reply, reply.KeysFrom(b.cfg.Secrets), reply.Options{
		Hub: b.hub, Poster: b.hub, Ledger: b.queue, DryRun: b.dryRun,
		CommandPrefix: b.cfg.Commands.Prefix, HTTPClient: hc, Logger: b.log.With("component", "reply"),
	})
	if err != nil {
		return nil, b.cfg.At("reply", "%v", err)
	}
	b.log.Info("reply bot enabled", "model", b.cfg.Reply.Model, "base_url", b.cfg.Reply.BaseURL, "key", rb.KeySource())
	return &replies{bot: rb}, nil
}

// replyDecision decides, from the payload alone, whether a comment that is
// not a command gets an LLM reply.
func (b *Bot) replyDecision(p *webhook.Payload, base jobs.Spec) (jobs.Spec, bool, string) {
	if b.replies == nil {
		return jobs.Spec{}, false, ""
	}
	ok, reason := reply.Decide(reply.TriggerOf(b.cfg.Reply), reply.EventFacts{
		Scope: p.Event.Scope, Action: p.Event.Action, IsPullRequest: p.Discussion.IsPullRequest, Status: p.Discussion.Status,
		Text: p.Comment.Text(), Hidden: p.Comment.Hidden, AuthorID: p.Comment.Author.ID,
		BotID: b.botID(), BotName: b.botName(), DryRun: b.dryRun,
	})
	if !ok {
		return jobs.Spec{}, false, reason
	}
	s := base
	s.Kind = jobs.KindReply
	return s, true, ""
}

// replyJob answers one comment.
func (b *Bot) replyJob(ctx context.Context, job *jobs.Job, log *jobs.Log) (jobs.Outcome, error) {
	if b.replies == nil {
		return jobs.Outcome{State: jobs.StateSkipped, Summary: "the reply bot is not enabled"}, nil
	}
	me, err := b.me(ctx)
	if err != nil {
		return jobs.Outcome{}, err
	}
	s := job.Spec
	res, err := b.replies.bot.Reply(ctx, reply.Request{Repo: s.Repo, Discussion: s.Discussion, CommentID: s.CommentID,
		BotID: me.ID, BotName: me.Name, Owner: fmt.Sprint(job.ID), Logf: log.Printf})
	if err != nil {
		return jobs.Outcome{}, jobs.Temporary(err)
	}
	log.Printf("%s", res.String())
	out := jobs.Outcome{Conclusion: string(res.Status), Summary: res.Reason}
	switch res.Status {
	case reply.Posted, reply.DryRun:
		out.State = jobs.StateSucceeded
		if res.Status == reply.DryRun {
			log.Printf("dry-run: would reply:\n%s", res.Text)
		}
		if out.Summary == "" {
			out.Summary = "replied"
		}
	case reply.Skipped:
		out.State = jobs.StateSkipped
	default:
		out.State = jobs.StateFailed
	}
	return out, nil
}
