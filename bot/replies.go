package bot

import (
	"context"
	"errors"
	"net/http"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/webhook"
)

// replies wires the LLM reply bot. (Being written: see bot/reply.)
type replies struct{ ledger *replyLedger }

type replyLedger struct{ db *jobs.Queue }

func (b *Bot) newReplies(hc *http.Client) (*replies, error) {
	if !b.cfg.Reply.Enabled {
		return nil, nil
	}
	return nil, errors.New("reply.enabled: the reply bot is not available in this build")
}

func (b *Bot) replyDecision(p *webhook.Payload, base jobs.Spec) (jobs.Spec, bool, string) {
	return jobs.Spec{}, false, ""
}

func (b *Bot) replyJob(ctx context.Context, job *jobs.Job, log *jobs.Log) (jobs.Outcome, error) {
	return jobs.Outcome{State: jobs.StateSkipped, Summary: "the reply bot is not enabled"}, nil
}
