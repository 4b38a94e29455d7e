package chatops

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSafe(t *testing.T) {
	s := Syntax{Prefix: "/hubbot", Name: "hubbot"}
	cases := []struct {
		name, in, want string
	}{
		{"plain text is unchanged", "Queued `model-card` on `abc1234`.", "Queued `model-card` on `abc1234`."},
		{"prefix at line start", "/hubbot check", `\/hubbot check`},
		{"prefix in upper case", "/HUBBOT check", `\/HUBBOT check`},
		{"prefix after a bullet", "- /hubbot check", `- \/hubbot check`},
		{"prefix after a number", "2. /hubbot check", `2. \/hubbot check`},
		{"other bot's command", "/retest", `\/retest`},
		{"a path is escaped too, renders the same", "/data/model.bin is missing", `\/data/model.bin is missing`},
		{"a slash alone is fine", "/ not a command", "/ not a command"},
		{"mention at line start", "@alice please look", `\@alice please look`},
		{"own mention anywhere", "ask @hubbot later", `ask \@hubbot later`},
		{"own mention at line start once", "@hubbot hi", `\@hubbot hi`},
		{"other mentions mid-line stay", "thanks @alice", "thanks @alice"},
		{"whole line in backticks", "`/hubbot check`", "`\\/hubbot check`"},
		{"inline code mid-line stays", "Say `/hubbot check` to check.", "Say `/hubbot check` to check."},
		{"quoted lines stay", "> /hubbot check\n\nok", "> /hubbot check\n\nok"},
		{"fenced code stays", "```\n/hubbot check\n@hubbot\n```", "```\n/hubbot check\n@hubbot\n```"},
		{"indented code stays", "text\n\n    /hubbot check", "text\n\n    /hubbot check"},
		{"HTML comment stays", "<!-- hubbot:action=convert -->\nDone.", "<!-- hubbot:action=convert -->\nDone."},
		{"lazy quote line is escaped", "> quote\n/hubbot check", "> quote\n\\/hubbot check"},
		{"CRLF becomes LF", "a\r\n/hubbot x\r\n", "a\n\\/hubbot x\n"},
		{"escaped already", `\/hubbot check`, `\/hubbot check`},
		{"email is no mention", "mail me@hubbot.co", "mail me@hubbot.co"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Safe(tc.in)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, got, s.Safe(got), "Safe is idempotent")
		})
	}
}

// TestSafeFeedsBackAsIgnore is the property Safe exists for, on texts built
// to trigger: whatever goes in, the bot cannot read what comes out as a
// command, nor as a mention of itself.
func TestSafeFeedsBackAsIgnore(t *testing.T) {
	r := newTestRegistry(t)
	inputs := []string{
		"/hubbot check\n@hubbot convert\n- `/hubbot rerun`\n1. @hubbot: cancel",
		"`` /hubbot run `model-card` ``",
		"```/hubbot check```",
		"Hey @HUBBOT, and @hubbot.",
		"text <!-- a -->\n/hubbot check <!-- b -->",
		"> q\n/hubbot check\n\n/hubbot convert",
		"/hubbot\u00a0check",
		"   /hubbot check",
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			require.True(t, r.Parse(in).Kind != Ignore || Mentions(in, "hubbot"), "the input must trigger, or the test proves nothing")
			out := r.Safe(in)
			assert.Equal(t, Ignore, r.Parse(out).Kind, "Safe output: %q", out)
			assert.False(t, Mentions(out, "hubbot"), "Safe output: %q", out)
		})
	}
}
