package bot

// Comment commands posted while the bot was down or asleep. The Hub never
// re-delivers them, so recovery reads the recent comments of each open
// discussion and pull request of the repos it covers, turns each into the
// payload the webhook would have carried, and records it under the same
// delivery key: a command delivered live, or recovered before, is a
// duplicate and never runs twice. How far each discussion was read is kept
// in the store (jobs.Cursor), in the Hub's own times.

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/webhook"
	"github.com/hubbot/hubbot/hubclient"
)

// commentLookback is how far back recovery reads a discussion it has no
// cursor for (a new discussion, or a store that was lost). It stays inside
// the store's dedupe window (a day), so that a command delivered live in
// it is a duplicate; after a loss of the store, the bot's answers tell.
const commentLookback = 23 * time.Hour

// answerPrefix starts the hidden marker that ends every answer to a
// command, naming the comment it answers.
const answerPrefix = "<!-- hubbot:answer:"

// answerMarker is the marker of the answer to comment id.
func answerMarker(id string) string { return answerPrefix + id + " -->" }

// answered returns the comment an answer of the bot names in its marker.
// Only the last line counts: the rest quotes the command, which anyone
// writes.
func answered(content string) (string, bool) {
	content = strings.TrimRight(content, " \n\r\t")
	last := content[strings.LastIndexByte(content, '\n')+1:]
	id, ok := strings.CutPrefix(strings.TrimSpace(last), answerPrefix)
	if !ok {
		return "", false
	}
	id, ok = strings.CutSuffix(id, " -->")
	return id, ok && id != ""
}

// recoverComments queues the commands of comments posted on sc's open
// discussions since they were last read, within sc's budget. It reads the
// discussions read longest ago first, so that a scan the budget cuts short
// is continued by the next one.
func (b *Bot) recoverComments(ctx context.Context, sc *repoScan) (int, error) {
	if b.commands == nil || sc.open == nil {
		return 0, nil
	}
	repo := sc.r.String()
	cursors, err := b.queue.Cursors(ctx, repo)
	if err != nil {
		return 0, err
	}
	open := slices.Clone(sc.open)
	slices.SortFunc(open, func(x, y hubclient.Discussion) int {
		if c := cursors[x.Num].ScannedAt.Compare(cursors[y.Num].ScannedAt); c != 0 {
			return c
		}
		return x.Num - y.Num
	})
	me := ""
	if b.hub.HasToken() {
		u, err := b.me(ctx)
		if err != nil {
			return 0, err
		}
		me = u.Name
	}
	now := time.Now()
	queued := 0
	for _, d := range open {
		if sc.calls >= sc.budget {
			b.log.Info("recovery: Hub call budget used up while reading comments; the next scan goes on", "repo", repo)
			break
		}
		details, err := sc.discussion(ctx, d.Num)
		if hubclient.IsNotFound(err) {
			continue
		}
		if err != nil {
			return queued, err
		}
		cur, known := cursors[d.Num]
		since := now.Add(-commentLookback)
		if known {
			since = cur.SeenAt
		}
		n, newest, err := b.recoverDiscussion(ctx, sc.r, details, since, me)
		queued += n
		if err != nil {
			return queued, err
		}
		if newest.Before(cur.SeenAt) {
			newest = cur.SeenAt
		}
		if err := b.queue.SaveCursor(ctx, jobs.Cursor{Repo: repo, Discussion: d.Num, SeenAt: newest, ScannedAt: now}); err != nil {
			return queued, err
		}
	}
	nums := make([]int, 0, len(sc.open))
	for _, d := range sc.open {
		nums = append(nums, d.Num)
	}
	return queued, b.queue.PruneCursors(ctx, repo, nums)
}

// recoverDiscussion queues the commands of d's comments made after since,
// and returns how many jobs it queued and the time of d's newest comment.
func (b *Bot) recoverDiscussion(ctx context.Context, r hubclient.Repo, d *hubclient.DiscussionDetails, since time.Time, me string) (int, time.Time, error) {
	// Commands the bot answered (their answers name them) were handled,
	// even if the store that knew it was lost.
	done := map[string]bool{}
	var newest time.Time
	for _, e := range d.Events {
		if e.Type != hubclient.EventComment {
			continue
		}
		if e.CreatedAt.After(newest) {
			newest = e.CreatedAt
		}
		if me != "" && strings.EqualFold(e.AuthorName(), me) {
			if id, ok := answered(e.Content()); ok {
				done[id] = true
			}
		}
	}
	first := d.Description()
	queued := 0
	for _, e := range d.Events {
		if e.Type != hubclient.EventComment || !e.CreatedAt.After(since) || done[e.ID] {
			continue
		}
		n, err := b.recoverComment(ctx, r, d, &e, first != nil && first.ID == e.ID)
		if err != nil {
			return queued, newest, err
		}
		queued += n
	}
	return queued, newest, nil
}

// recoverComment routes one comment as its webhook would have been: the
// same payload fields, the same guards, the same delivery key. Only
// commands are taken up; a mention for the reply bot is not answered late.
func (b *Bot) recoverComment(ctx context.Context, r hubclient.Repo, d *hubclient.DiscussionDetails, e *hubclient.Event, first bool) (int, error) {
	p := commentPayload(r, d, e, first)
	if id := b.botID(); id != "" && p.Comment.Author.ID == id {
		return 0, nil // the bot's own comment, as the receiver ignores it
	}
	dec, err := b.onComment(ctx, p)
	if err != nil {
		return 0, err
	}
	var specs []jobs.Spec
	for _, s := range dec.Jobs {
		if s.Kind == jobs.KindCommand {
			s.Event = jobs.TriggerRecovery
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		return 0, nil
	}
	body, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	rec, err := b.queue.Record(ctx, jobs.Delivery{Key: p.Key(), Scope: p.Event.Scope, Action: p.Event.Action,
		Repo: p.RepoPath(), Body: body, Specs: specs})
	if err != nil {
		return 0, err
	}
	if len(rec.Jobs) > 0 {
		b.log.Info("recovery: a comment command posted while hubbot was away", "repo", r.String(), "discussion", d.Num,
			"comment", e.ID, "jobs", rec.Jobs)
	}
	return len(rec.Jobs), nil
}

// commentPayload is the payload the Hub would have delivered for comment e
// of discussion d: discussion.comment create, or discussion create for the
// first message of a discussion.
func commentPayload(r hubclient.Repo, d *hubclient.DiscussionDetails, e *hubclient.Event, first bool) *webhook.Payload {
	p := &webhook.Payload{
		Event: webhook.Event{Scope: "discussion.comment", Action: "create"},
		Repo:  webhook.Repo{Type: string(repoType(r)), Name: r.ID},
		Discussion: &webhook.Discussion{ID: d.ID, Num: d.Num, Title: d.Title, Status: d.Status,
			IsPullRequest: d.IsPullRequest},
		Comment: &webhook.Comment{ID: e.ID, Hidden: e.Hidden()},
		Webhook: webhook.WebhookInfo{Version: webhook.SupportedVersion},
	}
	if first {
		p.Event.Scope = "discussion"
	}
	if d.Author != nil {
		p.Discussion.Author.ID = d.Author.ID
	}
	if e.Author != nil {
		p.Comment.Author.ID = e.Author.ID
		if e.Author.IsOwner {
			// The list API names no owner; the author's badge tells when
			// it is the commenter, which is what the owner rule asks.
			p.Repo.Owner.ID = e.Author.ID
		}
	}
	if !e.Hidden() {
		text := e.Content()
		p.Comment.Content = &text
	}
	return p
}
