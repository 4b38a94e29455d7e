package chatops

import (
	"fmt"
	"strings"
)

// Facts are what a comment webhook says about the comment, for Guard.
type Facts struct {
	Scope  string // event.scope: "discussion.comment", or "discussion" for a new discussion's first message
	Action string // event.action: "create", "update", ...

	BotID  string // the bot's own user id (whoami, cached)
	DryRun bool   // no Hub token: the bot writes nothing, so it has no id to guard

	AuthorID   string // comment.author.id
	Hidden     bool   // comment.hidden
	HasContent bool   // comment.content is present (it is absent when hidden)

	Status      string // discussion.status: open, draft, closed or merged
	RepoAllowed bool   // the repo passes [repos] allow and deny
}

// Verdict is Guard's answer.
type Verdict struct {
	Ignore bool
	Reason string // why, for the webhook answer and the log; empty when not ignored
}

// Guard decides whether a comment event may be read at all, before any
// parsing: only new, visible comments by someone other than the bot, on an
// open (or draft) discussion of an allowed repo. Edits are ignored: acting on
// them would run a command again each time its comment is touched. Anything
// unexpected is ignored too (fail closed).
func Guard(f Facts) Verdict {
	ignore := func(format string, args ...any) Verdict {
		return Verdict{Ignore: true, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case f.Scope != "discussion.comment" && f.Scope != "discussion":
		return ignore("scope %q is not a comment", f.Scope)
	case f.Action != "create":
		if f.Action == "update" {
			return ignore("comment was edited or hidden, not created")
		}
		return ignore("action %q is not a new comment", f.Action)
	case !f.RepoAllowed:
		return ignore("repo is not allowed")
	case f.BotID == "" && !f.DryRun:
		return ignore("the bot's own id is unknown, so its own comments cannot be told apart")
	case f.AuthorID == "":
		return ignore("comment has no author")
	case f.BotID != "" && strings.EqualFold(f.AuthorID, f.BotID):
		return ignore("comment is by the bot itself")
	case f.Hidden:
		return ignore("comment is hidden")
	case !f.HasContent:
		return ignore("comment has no content")
	}
	switch f.Status {
	case "open", "draft":
		return Verdict{}
	case "closed", "merged":
		return ignore("discussion is %s", f.Status)
	}
	return ignore("discussion status %q is unknown", f.Status)
}
