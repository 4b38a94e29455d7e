package reply

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/hubclient"
)

// Values of [reply] trigger.
const (
	TriggerMention       = "mention"        // a comment that mentions the bot
	TriggerNewDiscussion = "new-discussion" // the first message of a new discussion
	TriggerBoth          = "both"           // either
)

// Trigger is the part of [reply] that decides which events get an answer.
type Trigger struct {
	Enabled      bool
	Mode         string // TriggerMention, TriggerNewDiscussion or TriggerBoth
	PullRequests bool   // also answer in pull requests
}

// TriggerOf takes the Trigger out of the [reply] configuration.
func TriggerOf(cfg config.Reply) Trigger {
	return Trigger{Enabled: cfg.Enabled, Mode: cfg.Trigger, PullRequests: cfg.PullRequests}
}

// EventFacts are what a webhook says about a comment, plus what the caller
// already knows about it, for Decide.
type EventFacts struct {
	// Scope is event.scope: "discussion.comment" for a comment, or
	// "discussion" for a new discussion, whose first message arrives as the
	// payload's comment.
	Scope string
	// Action is event.action; only "create" is answered, since answering
	// edits would answer the same question again each time it is touched.
	Action string

	IsPullRequest bool   // discussion.isPullRequest
	Status        string // discussion.status: open, draft, closed or merged

	Text     string // comment.content
	Hidden   bool   // comment.hidden
	AuthorID string // comment.author.id

	BotID   string // the bot's own user id (whoami, cached)
	BotName string // the bot's Hub username, for mentions
	// DryRun is set when the bot has no Hub token: it then has no id to
	// compare with, and relies on the reply marker alone.
	DryRun bool

	// IsCommand is set when chat-ops answers this comment (its Parse said
	// Run or Reply): a command is not also answered by the LLM.
	IsCommand bool
}

// Decide reports whether a reply job should be queued for an event, and why
// (or why not), for the webhook answer and the log. It is pure and cheap, so
// the webhook handler can call it while the Hub waits.
//
// The bot's own comments never trigger a reply: their author id is the
// bot's, and, in case the id is unknown or wrong, they carry hubbot's hidden
// marker. Anything unexpected is refused (fail closed).
func Decide(t Trigger, ev EventFacts) (bool, string) {
	if !t.Enabled {
		return false, "the reply bot is disabled"
	}
	var newDiscussion bool
	switch ev.Scope {
	case "discussion":
		newDiscussion = true
	case "discussion.comment":
	default:
		return false, fmt.Sprintf("scope %q is not a comment", ev.Scope)
	}
	switch {
	case ev.Action != "create":
		return false, fmt.Sprintf("only new comments are answered, not action %q", ev.Action)
	case ev.AuthorID == "":
		return false, "the comment has no author"
	case ev.BotID == "" && !ev.DryRun:
		return false, "the bot's own id is unknown, so its own comments cannot be told apart"
	case ev.BotID != "" && strings.EqualFold(ev.AuthorID, ev.BotID):
		return false, "the comment is the bot's own"
	case ev.Hidden:
		return false, "the comment is hidden"
	case strings.TrimSpace(ev.Text) == "":
		return false, "the comment is empty"
	case HasMarker(ev.Text):
		return false, "the comment carries hubbot's marker, so it is the bot's own output"
	case ev.IsCommand:
		return false, "the comment is a command, which chat-ops answers"
	case ev.Status != "open" && ev.Status != "draft":
		return false, fmt.Sprintf("the discussion is %s", orUnknown(ev.Status))
	case ev.IsPullRequest && !t.PullRequests:
		return false, "pull requests are not answered (reply.pull_requests = false)"
	}

	mentioned := ev.BotName != "" && chatops.Mentions(ev.Text, ev.BotName)
	wantMention := t.Mode == TriggerMention || t.Mode == TriggerBoth
	wantNew := t.Mode == TriggerNewDiscussion || t.Mode == TriggerBoth
	switch {
	case !wantMention && !wantNew:
		return false, fmt.Sprintf("unknown reply.trigger %q", t.Mode)
	case wantMention && mentioned:
		return true, "the comment mentions @" + ev.BotName
	case wantNew && newDiscussion:
		return true, "a new discussion was opened"
	case wantMention && ev.BotName == "":
		return false, "the bot's name is unknown, so mentions cannot be seen"
	case wantMention && !wantNew:
		return false, "the comment does not mention @" + ev.BotName
	case wantNew && !wantMention:
		return false, "only new discussions are answered (reply.trigger = new-discussion)"
	}
	return false, "neither a mention of @" + ev.BotName + " nor a new discussion"
}

func orUnknown(s string) string {
	if s == "" {
		return "in an unknown state"
	}
	return s
}

// markerRE finds any of hubbot's hidden markers (replies, reports), however
// spaced or cased.
var markerRE = regexp.MustCompile(`(?i)<!--\s*hubbot:`)

// HasMarker reports whether text carries one of hubbot's hidden markers,
// which every reply and report has. Text that does is the bot's own output
// (or a copy of it) and never triggers a reply.
func HasMarker(text string) bool { return markerRE.MatchString(text) }

// Marker is the hidden marker at the end of the reply to one comment. It
// names the comment, so that after an ambiguous post the bot can find out
// whether its reply landed.
func Marker(commentID string) string {
	return "<!-- hubbot:reply:" + strings.ToLower(commentID) + " -->"
}

// Key is the dedupe key of the reply to one comment. It is the same string
// as the reply job's dedupe key in bot/jobs, so a log line or a ledger row
// can be matched with its job.
func Key(repo hubclient.Repo, discussion int, commentID string) string {
	return fmt.Sprintf("reply:%s:%d:%s", repo, discussion, commentID)
}

// commentIDRE is what a comment id may look like: the Hub's are 24 hex
// digits. Anything else is refused, so an id can never break out of Marker.
var commentIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)
