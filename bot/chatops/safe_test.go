package chatops

import (
	"strings"
	"testing"
	"unicode"

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
		{"after a no-break space", "\u00a0/hubbot convert", "\u00a0\\/hubbot convert"},
		{"after an ideographic space", "\u3000/hubbot convert", "\u3000\\/hubbot convert"},
		{"after a Unicode space and a bullet", "a\n\u2003- /retest", "a\n\u2003- \\/retest"},
		{"CR alone is a line break", "a\r/hubbot x", "a\n\\/hubbot x"},
		{"LINE SEPARATOR is a line break", "a\u2028/hubbot x", "a\n\\/hubbot x"},
		{"PARAGRAPH SEPARATOR is a line break", "a\u2029@alice", "a\n\\@alice"},
		{"NEL is a line break", "a\u0085/hubbot x", "a\n\\/hubbot x"},
		{"a leading LINE SEPARATOR, trimmed later", "\u2028/hubbot convert", "\n\\/hubbot convert"},
		{"indented code that trimming makes prose", "    /hubbot convert\n    @hubbot", "    \\/hubbot convert\n    \\@hubbot"},
		{"indented code after prose stays", "text\n\n    /hubbot check", "text\n\n    /hubbot check"},
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
		"a\r/hubbot check",
		"a\u2028/hubbot check\u2029@hubbot hi\u0085/hubbot convert",
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

// TestSafeSurvivesTrimming covers texts that only trigger once trimmed,
// as a caller may trim what it posts: the model answer that starts with a
// Unicode space and then a command is the case that motivated it.
func TestSafeSurvivesTrimming(t *testing.T) {
	r := newTestRegistry(t)
	for _, in := range []string{
		"\u00a0/hubbot convert",
		"\u3000/hubbot convert",
		"\u2028/hubbot convert",
		"\u00a0\u3000\u2028 @hubbot convert",
		"\n\n    /hubbot convert",
		"    @hubbot hi",
		"\t- /hubbot check",
	} {
		t.Run(in, func(t *testing.T) {
			out := r.Safe(in)
			for _, trimmed := range []string{out, strings.TrimSpace(out), strings.TrimFunc(out, unicode.IsSpace)} {
				assert.Equal(t, Ignore, r.Parse(trimmed).Kind, "%q", trimmed)
				assert.False(t, Mentions(trimmed, "hubbot"), "%q", trimmed)
			}
			trimmed := strings.TrimFunc(in, unicode.IsSpace)
			require.True(t, r.Parse(trimmed).Kind != Ignore || Mentions(trimmed, "hubbot"), "the input must trigger once trimmed")
		})
	}
}
