package reply

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient"
)

func TestDecide(t *testing.T) {
	mention := Trigger{Enabled: true, Mode: TriggerMention}
	newOnly := Trigger{Enabled: true, Mode: TriggerNewDiscussion}
	both := Trigger{Enabled: true, Mode: TriggerBoth}
	// comment is a new comment by carol that mentions the bot.
	comment := func(change func(*EventFacts)) EventFacts {
		ev := EventFacts{Scope: "discussion.comment", Action: "create", Status: "open",
			Text: "@hubbot-bot how do I load this?", AuthorID: carolUID, BotID: botID, BotName: botName}
		if change != nil {
			change(&ev)
		}
		return ev
	}
	opened := func(change func(*EventFacts)) EventFacts {
		return comment(func(ev *EventFacts) {
			ev.Scope, ev.Text = "discussion", "How do I load this in 8-bit?"
			if change != nil {
				change(ev)
			}
		})
	}
	tests := []struct {
		name    string
		trigger Trigger
		ev      EventFacts
		want    bool
		reason  string
	}{
		{"mention", mention, comment(nil), true, "mentions @hubbot-bot"},
		{"mention in any case", mention, comment(func(e *EventFacts) { e.Text = "thanks @HubBot-Bot!" }), true, "mentions"},
		{"mention in a new discussion's first message", mention, opened(func(e *EventFacts) { e.Text = "@hubbot-bot hi" }), true, "mentions"},
		{"no mention", mention, comment(func(e *EventFacts) { e.Text = "how do I load this?" }), false, "does not mention"},
		{"mention only in a quote", mention, comment(func(e *EventFacts) { e.Text = "> @hubbot-bot said so\n\nreally?" }), false, "does not mention"},
		{"mention only in code", mention, comment(func(e *EventFacts) { e.Text = "`@hubbot-bot` is the bot" }), false, "does not mention"},
		{"another bot's name", mention, comment(func(e *EventFacts) { e.Text = "@hubbot-bot2 hi" }), false, "does not mention"},
		{"an e-mail address", mention, comment(func(e *EventFacts) { e.Text = "write to me@hubbot-bot.org" }), false, "does not mention"},
		{"new discussion", newOnly, opened(nil), true, "a new discussion"},
		{"new discussion, mention mode", mention, opened(nil), false, "does not mention"},
		{"comment, new-discussion mode", newOnly, comment(nil), false, "only new discussions"},
		{"both: comment", both, comment(nil), true, "mentions"},
		{"both: new discussion", both, opened(nil), true, "new discussion"},
		{"both: neither", both, comment(func(e *EventFacts) { e.Text = "a remark" }), false, "neither"},

		{"disabled", Trigger{Mode: TriggerBoth}, comment(nil), false, "disabled"},
		{"unknown mode", Trigger{Enabled: true, Mode: "always"}, comment(nil), false, "unknown reply.trigger"},
		{"edited", mention, comment(func(e *EventFacts) { e.Action = "update" }), false, "only new comments"},
		{"other scope", mention, comment(func(e *EventFacts) { e.Scope = "repo.content" }), false, "not a comment"},
		{"no author", mention, comment(func(e *EventFacts) { e.AuthorID = "" }), false, "no author"},
		{"own comment", both, comment(func(e *EventFacts) { e.AuthorID = strings.ToUpper(botID) }), false, "the bot's own"},
		{"bot id unknown", mention, comment(func(e *EventFacts) { e.BotID = "" }), false, "id is unknown"},
		{"bot id unknown in a dry run", mention, comment(func(e *EventFacts) { e.BotID, e.DryRun = "", true }), true, "mentions"},
		{"own marker", both, comment(func(e *EventFacts) { e.Text += "\n" + Marker(askID) }), false, "marker"},
		{"a report's marker", both, comment(func(e *EventFacts) { e.Text = "<!--hubbot:report:model-card-->\n@hubbot-bot" }), false, "marker"},
		{"hidden", mention, comment(func(e *EventFacts) { e.Hidden, e.Text = true, "" }), false, "hidden"},
		{"empty", mention, comment(func(e *EventFacts) { e.Text = " \n" }), false, "empty"},
		{"a command", mention, comment(func(e *EventFacts) { e.Text, e.IsCommand = "@hubbot-bot rerun", true }), false, "command"},
		{"closed", mention, comment(func(e *EventFacts) { e.Status = "closed" }), false, "is closed"},
		{"merged", mention, comment(func(e *EventFacts) { e.Status = "merged" }), false, "is merged"},
		{"no status", mention, comment(func(e *EventFacts) { e.Status = "" }), false, "unknown state"},
		{"pull request", both, comment(func(e *EventFacts) { e.IsPullRequest = true }), false, "reply.pull_requests"},
		{"new pull request", newOnly, opened(func(e *EventFacts) { e.IsPullRequest, e.Status = true, "draft" }), false, "reply.pull_requests"},
		{"pull request allowed", Trigger{Enabled: true, Mode: TriggerMention, PullRequests: true},
			comment(func(e *EventFacts) { e.IsPullRequest, e.Status = true, "draft" }), true, "mentions"},
		{"bot name unknown", mention, comment(func(e *EventFacts) { e.BotName = "" }), false, "name is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := Decide(tt.trigger, tt.ev)
			assert.Equal(t, tt.want, got, reason)
			assert.Contains(t, reason, tt.reason)
		})
	}
}

func TestTriggerOf(t *testing.T) {
	got := TriggerOf(config.Reply{Enabled: true, Trigger: "both", PullRequests: true, Model: "m"})
	assert.Equal(t, Trigger{Enabled: true, Mode: TriggerBoth, PullRequests: true}, got)
	def := TriggerOf(config.Default().Reply)
	assert.Equal(t, Trigger{Mode: TriggerMention}, def, "off by default, mentions when on")
}

func TestMarkerAndKey(t *testing.T) {
	assert.Equal(t, "<!-- hubbot:reply:65f0abc -->", Marker("65F0ABC"))
	assert.True(t, HasMarker(Marker("x")))
	assert.True(t, HasMarker("<!--HUBBOT:report:x-->"))
	assert.False(t, HasMarker("hubbot:reply"))
	repo := hubclient.Repo{Type: hubclient.Dataset, ID: "org/data"}
	assert.Equal(t, "reply:datasets/org/data:3:65f0", Key(repo, 3, "65f0"))
	spec := jobs.Spec{Kind: jobs.KindReply, Repo: repo, Discussion: 3, CommentID: "65f0"}
	assert.Equal(t, spec.DedupeKey(), Key(repo, 3, "65f0"), "the ledger's key is the job's dedupe key")
}
