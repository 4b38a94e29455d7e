package chatops

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGuard(t *testing.T) {
	ok := Facts{
		Scope: "discussion.comment", Action: "create",
		BotID: "id-bot", AuthorID: "id-alice", HasContent: true,
		Status: "open", RepoAllowed: true,
	}
	with := func(change func(*Facts)) Facts {
		f := ok
		change(&f)
		return f
	}
	cases := []struct {
		name   string
		facts  Facts
		reason string // empty: not ignored
	}{
		{"new comment on an open PR", ok, ""},
		{"draft PR", with(func(f *Facts) { f.Status = "draft" }), ""},
		{"first message of a new discussion", with(func(f *Facts) { f.Scope = "discussion" }), ""},
		{"dry run without an id", with(func(f *Facts) { f.BotID, f.DryRun = "", true }), ""},
		{"edit", with(func(f *Facts) { f.Action = "update" }), "comment was edited or hidden, not created"},
		{"delete", with(func(f *Facts) { f.Action = "delete" }), `action "delete" is not a new comment`},
		{"narrower scope", with(func(f *Facts) { f.Scope = "discussion.comment.reaction" }), `scope "discussion.comment.reaction" is not a comment`},
		{"repo event", with(func(f *Facts) { f.Scope = "repo.content" }), `scope "repo.content" is not a comment`},
		{"repo not allowed", with(func(f *Facts) { f.RepoAllowed = false }), "repo is not allowed"},
		{"own comment", with(func(f *Facts) { f.AuthorID = "id-bot" }), "comment is by the bot itself"},
		{"own comment, other case", with(func(f *Facts) { f.AuthorID = "ID-BOT" }), "comment is by the bot itself"},
		{"bot id unknown", with(func(f *Facts) { f.BotID = "" }), "the bot's own id is unknown, so its own comments cannot be told apart"},
		{"no author", with(func(f *Facts) { f.AuthorID = "" }), "comment has no author"},
		{"hidden", with(func(f *Facts) { f.Hidden, f.HasContent = true, false }), "comment is hidden"},
		{"no content", with(func(f *Facts) { f.HasContent = false }), "comment has no content"},
		{"closed", with(func(f *Facts) { f.Status = "closed" }), "discussion is closed"},
		{"merged", with(func(f *Facts) { f.Status = "merged" }), "discussion is merged"},
		{"unknown status", with(func(f *Facts) { f.Status = "" }), `discussion status "" is unknown`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := Guard(tc.facts)
			assert.Equal(t, tc.reason != "", v.Ignore)
			assert.Equal(t, tc.reason, v.Reason)
		})
	}
}
