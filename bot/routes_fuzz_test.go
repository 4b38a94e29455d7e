package bot

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/bot/webhook"
	"github.com/hubbot/hubbot/hubclient"
)

const fuzzBotID = "b0b0b0b0b0b0b0b0b0b0b0b0"

// routingBot is a bot with commands and replies enabled, as far as routing
// sees it: no Hub, no store.
func routingBot(f *testing.F) *Bot {
	cfg, err := config.Parse("fuzz.toml", []byte(`
[[actions]]
name = "card"
uses = "modelcard"
on = ["push", "pull_request", "command"]
[[actions]]
name = "convert"
uses = "safetensors"
on = ["command"]
[[actions]]
name = "tests"
uses = "run"
on = ["pull_request", "command"]
[actions.with]
command = ["true"]
[reply]
enabled = true
trigger = "both"
pull_requests = true
model = "org/model"
`))
	if err != nil {
		f.Fatal(err)
	}
	b := &Bot{cfg: cfg, log: slog.New(slog.DiscardHandler), identity: &hubclient.User{ID: fuzzBotID, Name: "hubbot"},
		replies: &replies{}}
	if b.commands, err = b.newCommands(); err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzCommentRouting checks what must hold for any comment a stranger
// posts, through the real decoder and routing table: no panic, no error; at
// most one job; a job is a command or a reply job for the comment's own
// repo, discussion, comment and author, on the pull request's ref (main in
// a discussion); the bot's own comments and hidden ones give no job; and a
// command job carries one to the maximum of registered commands.
func FuzzCommentRouting(f *testing.F) {
	b := routingBot(f)
	router := b.router()
	raw, err := os.ReadFile(filepath.Join("testdata", "discussion-comment-create.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"/hubbot check", "@hubbot convert", "/hubbot run tests card", "@hubbot what is this model?", "/hubbot chek",
		"/hubbot rerun --failed", "```\n/hubbot check\n```", "> /hubbot check", "/hubbot help convert", "hello",
		"\u00a0/hubbot convert", "a\u2028/hubbot check", "/hubbot check\n/hubbot convert\n/hubbot cancel\n/hubbot run x",
	} {
		f.Add(s, true, false, false, "open")
		f.Add(s, false, false, false, "open")
	}
	f.Add("/hubbot check", true, true, false, "open")
	f.Add("/hubbot check", true, false, true, "open")
	f.Add("/hubbot check", true, false, false, "merged")
	f.Fuzz(func(t *testing.T, text string, isPR, byBot, hidden bool, status string) {
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		d, c := doc["discussion"].(map[string]any), doc["comment"].(map[string]any)
		d["isPullRequest"], d["status"] = isPR, status
		c["content"], c["hidden"] = text, hidden
		if hidden {
			delete(c, "content")
		}
		if byBot {
			c["author"] = map[string]any{"id": fuzzBotID}
		}
		body, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		p, err := webhook.Decode(body)
		if err != nil {
			t.Fatalf("the fixture with a comment does not decode: %v", err)
		}
		dec, err := router.Decide(t.Context(), p)
		if err != nil {
			t.Fatalf("routing failed: %v", err)
		}
		if len(dec.Jobs) == 0 {
			if dec.Ignore == "" {
				t.Fatal("ignored without a reason")
			}
			return
		}
		if byBot || hidden {
			t.Fatalf("a job for the bot's own or a hidden comment: %+v", dec.Jobs)
		}
		if len(dec.Jobs) != 1 {
			t.Fatalf("%d jobs for one comment", len(dec.Jobs))
		}
		s := dec.Jobs[0]
		wantRef := refs.Main
		if isPR {
			wantRef = refs.PR(p.Discussion.Num)
		}
		if s.Repo != p.HubRepo() || s.Discussion != p.Discussion.Num || s.CommentID != p.Comment.ID ||
			s.AuthorID != p.Comment.Author.ID || s.Ref != wantRef {
			t.Fatalf("job does not match the comment: %+v", s)
		}
		switch s.Kind {
		case jobs.KindReply:
		case jobs.KindCommand:
			if len(s.Data) == 0 {
				if s.Text == "" {
					t.Fatal("a command job with neither commands nor an answer")
				}
				break
			}
			var invs []chatops.Invocation
			if err := json.Unmarshal(s.Data, &invs); err != nil {
				t.Fatalf("stored commands do not read back: %v", err)
			}
			if len(invs) < 1 || len(invs) > b.cfg.Commands.MaxPerComment {
				t.Fatalf("%d commands", len(invs))
			}
		default:
			t.Fatalf("job kind %q", s.Kind)
		}
	})
}
