package chatops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseCase is one comment of the regression corpus (go-bot-anchors.md
// §11.4: what Atlantis and Prow users tripped on) and what Parse must do.
type parseCase struct {
	name    string
	comment string
	kind    Kind
	run     []string // summary of the invocations, for Run
	reply   []string // substrings of the reply, for Reply
}

func TestParseCorpus(t *testing.T) {
	cases := []parseCase{
		// The grammar.
		{name: "prefix", comment: "/hubbot check", kind: Run, run: []string{"check"}},
		{name: "surrounding blanks", comment: "\n\n   /hubbot check   \n\n", kind: Run, run: []string{"check"}},
		{name: "upper case prefix and command", comment: "/HUBBOT CHECK", kind: Run, run: []string{"check"}},
		{name: "mixed case command", comment: "/hubbot Rerun --FAILED", kind: Run, run: []string{"rerun --failed=true"}},
		{name: "mention", comment: "@hubbot check", kind: Run, run: []string{"check"}},
		{name: "mention with colon", comment: "@hubbot: check", kind: Run, run: []string{"check"}},
		{name: "mention with comma, other case", comment: "@HubBot, check", kind: Run, run: []string{"check"}},
		{name: "bare prefix is help", comment: "/hubbot", kind: Run, run: []string{"help"}},
		{name: "prefix --help is help", comment: "/hubbot --help", kind: Run, run: []string{"help"}},
		{name: "help on a command", comment: "/hubbot help run", kind: Run, run: []string{"help run"}},
		{name: "help on an alias", comment: "/hubbot help RETRY", kind: Run, run: []string{"help rerun"}},
		{name: "command --help", comment: "/hubbot rerun --help", kind: Run, run: []string{"help rerun"}},
		{name: "command -h", comment: "/hubbot cancel -h", kind: Run, run: []string{"help cancel"}},
		{name: "bare mention is conversation", comment: "@hubbot", kind: Ignore},
		{name: "mention with a question is conversation", comment: "@hubbot what license should this model use?", kind: Ignore},
		{name: "prefix glued to a word", comment: "/hubbotcheck", kind: Ignore},
		{name: "longer prefix", comment: "/hubbot-ci check", kind: Ignore},
		{name: "longer name", comment: "@hubbot-ci check", kind: Ignore},
		{name: "other bot's command", comment: "/retest\n/lgtm", kind: Ignore},
		{name: "plain text", comment: "Thanks, looks good to me!", kind: Ignore},
		{name: "empty", comment: "", kind: Ignore},

		// Only the start of a line counts.
		{name: "command in the middle of a sentence", comment: "could you run /hubbot check please", kind: Ignore},
		{name: "mention in the middle of a sentence", comment: "thanks @hubbot check this later", kind: Ignore},
		{name: "heading", comment: "# /hubbot check", kind: Ignore},
		{name: "emphasis", comment: "**/hubbot check**", kind: Ignore},
		{name: "escaped prefix", comment: `\/hubbot check`, kind: Ignore},
		{name: "escaped mention", comment: `\@hubbot check`, kind: Ignore},
		{name: "indented four spaces after a blank line is code", comment: "Try this:\n\n    /hubbot check", kind: Ignore},
		{name: "indented by a tab", comment: "\t/hubbot check", kind: Ignore},
		{name: "indented three spaces", comment: "   /hubbot check", kind: Run, run: []string{"check"}},
		{name: "paragraph continuation indented four is not a command", comment: "Try this:\n    /hubbot check", kind: Ignore},

		// Quotes.
		{name: "quoted command", comment: "> /hubbot check", kind: Ignore},
		{name: "quoted command with reply", comment: "> /hubbot convert\n\nI don't think we should convert yet.", kind: Ignore},
		{name: "nested quote", comment: ">> /hubbot check", kind: Ignore},
		{name: "quote without space", comment: ">/hubbot check", kind: Ignore},
		{name: "lazy continuation of a quote", comment: "> you said:\n/hubbot check", kind: Ignore},
		{name: "command after a quote and a blank line", comment: "> can you check?\n\n/hubbot check", kind: Run, run: []string{"check"}},
		{name: "list item ends a quote", comment: "> can you check?\n- /hubbot check", kind: Run, run: []string{"check"}},
		{name: "quoted then own command", comment: "> /hubbot convert\n\n/hubbot check", kind: Run, run: []string{"check"}},

		// Code.
		{name: "backtick fence", comment: "```\n/hubbot check\n```", kind: Ignore},
		{name: "tilde fence with info", comment: "~~~ text\n/hubbot check\n~~~", kind: Ignore},
		{name: "fence with language", comment: "```sh\n/hubbot convert\n```\n/hubbot check", kind: Run, run: []string{"check"}},
		{name: "unclosed fence hides the rest", comment: "```\n/hubbot check", kind: Ignore},
		{name: "short closer does not close", comment: "````\n```\n/hubbot check\n````", kind: Ignore},
		{name: "indented fence", comment: "  ```\n/hubbot check\n  ```", kind: Ignore},
		{name: "inline code in a sentence", comment: "Type `/hubbot check` to check the card.", kind: Ignore},
		{name: "inline code at line start with prose after", comment: "`/hubbot check` runs the check.", kind: Ignore},
		{name: "code span across lines", comment: "see `the\n/hubbot check` command", kind: Ignore},

		// Bullets and backticks (runatlantis/atlantis#1752).
		{name: "dash bullet", comment: "- /hubbot check", kind: Run, run: []string{"check"}},
		{name: "star bullet", comment: "* /hubbot check", kind: Run, run: []string{"check"}},
		{name: "plus bullet", comment: "+ /hubbot check", kind: Run, run: []string{"check"}},
		{name: "numbered bullet", comment: "1. /hubbot check", kind: Run, run: []string{"check"}},
		{name: "numbered bullet with paren", comment: "12) /hubbot check", kind: Run, run: []string{"check"}},
		{name: "nested bullet", comment: "- first\n  - /hubbot check", kind: Run, run: []string{"check"}},
		{name: "whole line in backticks", comment: "`/hubbot check`", kind: Run, run: []string{"check"}},
		{name: "whole line in double backticks", comment: "`` /hubbot run `model-card` ``", kind: Run, run: []string{"run model-card"}},
		{name: "whole line in triple backticks on one line", comment: "```/hubbot check```", kind: Run, run: []string{"check"}},
		{name: "bullet and backticks", comment: "- `/hubbot check`", kind: Run, run: []string{"check"}},
		{name: "backticked mention", comment: "`@hubbot check`", kind: Run, run: []string{"check"}},
		{name: "two spans on a line", comment: "`/hubbot check` `now`", kind: Ignore},
		{name: "argument in backticks", comment: "/hubbot run `model-card`", kind: Run, run: []string{"run model-card"}},

		// HTML comments (runatlantis/atlantis#6728).
		{name: "trailer on the command line", comment: "/hubbot check <!-- sent from my phone -->", kind: Run, run: []string{"check"}},
		{name: "trailer glued to the command", comment: "/hubbot check<!-- x -->", kind: Run, run: []string{"check"}},
		{name: "multi-line trailer after", comment: "/hubbot check\n\n<!--\nReviewable:start\n/hubbot convert\n-->\n", kind: Run, run: []string{"check"}},
		{name: "trailer block right after", comment: "/hubbot check\n<!-- Reviewable:start -->\n<!-- Reviewable:end -->", kind: Run, run: []string{"check"}},
		{name: "comment between prefix and command joins them", comment: "/hubbot<!-- x -->check", kind: Ignore},
		{name: "comment right after a bare prefix", comment: "/hubbot<!-- x -->", kind: Run, run: []string{"help"}},
		{name: "command inside a comment", comment: "<!-- /hubbot check -->", kind: Ignore},
		{name: "command inside a multi-line comment", comment: "Hi\n<!--\n/hubbot convert\n-->", kind: Ignore},
		{name: "command after a comment on the same line", comment: "<!-- x -->/hubbot check", kind: Ignore},
		{name: "inline comment spanning lines", comment: "hello <!-- a\n/hubbot convert -->", kind: Ignore},
		{name: "unclosed comment block hides the rest", comment: "<!-- draft\n/hubbot check", kind: Ignore},
		{name: "unclosed inline comment opener is text", comment: "a <!-- b\n\n/hubbot check", kind: Run, run: []string{"check"}},

		// Several commands.
		{name: "two commands", comment: "/hubbot check\n/hubbot convert", kind: Run, run: []string{"check", "convert"}},
		{name: "two commands with prose between", comment: "First:\n/hubbot check\nthen\n- /hubbot rerun --failed\nthanks", kind: Run, run: []string{"check", "rerun --failed=true"}},
		{name: "repeated command runs once", comment: "/hubbot check\n/hubbot check\n@hubbot check", kind: Run, run: []string{"check"}},
		{name: "three commands is the limit", comment: "/hubbot check\n/hubbot convert\n/hubbot cancel", kind: Run, run: []string{"check", "convert", "cancel"}},
		{name: "more than the limit", comment: "/hubbot check\n/hubbot convert\n/hubbot cancel\n/hubbot rerun", kind: Reply,
			reply: []string{"4 commands", "limit is 3", "Nothing was run"}},
		{name: "one bad line stops all", comment: "/hubbot check\n/hubbot convrt", kind: Reply,
			reply: []string{"> /hubbot convrt", "`convrt` is not a command", "Did you mean `convert`?", "Nothing was run"}},

		// Mistakes.
		{name: "near miss", comment: "/hubbot chek", kind: Reply, reply: []string{"`chek` is not a command.", "Did you mean `check`?"}},
		{name: "transposition", comment: "/hubbot cehck", kind: Reply, reply: []string{"Did you mean `check`?"}},
		{name: "prefix of a command", comment: "/hubbot conv", kind: Reply, reply: []string{"Did you mean `convert`?"}},
		{name: "far miss", comment: "/hubbot frobnicate", kind: Reply, reply: []string{"`frobnicate` is not a command.", "`/hubbot help`"}},
		{name: "near miss by mention", comment: "@hubbot chek", kind: Reply, reply: []string{"Did you mean `check`?"}},
		{name: "far miss by mention is conversation", comment: "@hubbot how are you", kind: Ignore},
		{name: "two edits away by mention is conversation", comment: "@hubbot hello there", kind: Ignore},
		{name: "two edits away by prefix is a mistake", comment: "/hubbot hello", kind: Reply, reply: []string{"Did you mean `help`?"}},
		{name: "arguments to a command that takes none", comment: "/hubbot check please", kind: Reply,
			reply: []string{"`check` takes no arguments (got `please`)", "Usage: `/hubbot check`"}},
		{name: "unknown flag", comment: "/hubbot rerun --force", kind: Reply, reply: []string{"`rerun` has no flag `--force`"}},
		{name: "flag near miss", comment: "/hubbot rerun --faild", kind: Reply, reply: []string{"Did you mean `--failed`?"}},
		{name: "flag on a command without flags", comment: "/hubbot check --now", kind: Reply, reply: []string{"`check` takes no flags"}},
		{name: "bad bool value", comment: "/hubbot rerun --failed=maybe", kind: Reply, reply: []string{"Flag `--failed` takes no value or true/false"}},
		{name: "bool flag false", comment: "/hubbot rerun --failed=false", kind: Run, run: []string{"rerun --failed=false"}},
		{name: "short flag", comment: "/hubbot rerun -f", kind: Run, run: []string{"rerun --failed=true"}},
		{name: "flag after the arguments", comment: "/hubbot rerun model-card --failed", kind: Run, run: []string{"rerun model-card --failed=true"}},
		{name: "double dash ends flags", comment: "/hubbot rerun -- --failed", kind: Reply, reply: []string{"`--failed` is not an action here"}},
		{name: "flag given twice", comment: "/hubbot rerun -f --failed", kind: Reply, reply: []string{"`--failed` is given twice"}},
		{name: "run needs an action", comment: "/hubbot run", kind: Reply, reply: []string{"`run` needs 1 argument", "Usage: `/hubbot run <action>...`"}},
		{name: "run an action", comment: "/hubbot run model-card", kind: Run, run: []string{"run model-card"}},
		{name: "action names ignore case", comment: "/hubbot run Model-Card EVAL", kind: Run, run: []string{"run model-card eval"}},
		{name: "repeated action runs once", comment: "/hubbot run eval eval", kind: Run, run: []string{"run eval"}},
		{name: "action commands may not start", comment: "/hubbot run lint", kind: Reply,
			reply: []string{"Action `lint` cannot be started by a command", "`model-card`, `convert`, `eval`"}},
		{name: "unknown action", comment: "/hubbot run modle-card", kind: Reply,
			reply: []string{"`modle-card` is not an action here", "Did you mean `model-card`?"}},
		{name: "rerun any configured action", comment: "/hubbot rerun lint", kind: Run, run: []string{"rerun lint"}},
		{name: "help on an unknown command", comment: "/hubbot help chek", kind: Reply, reply: []string{"Did you mean `check`?"}},
		{name: "unterminated quote", comment: `/hubbot run "model-card`, kind: Reply, reply: []string{"A quote is not closed."}},
		{name: "quoted argument", comment: `/hubbot run 'model-card' "eval"`, kind: Run, run: []string{"run model-card eval"}},
		{name: "shell syntax is not expanded", comment: "/hubbot run $(rm -rf /)", kind: Reply, reply: []string{"`run` takes no flags (got `-rf`)"}},
		{name: "shell variables are words", comment: "/hubbot run $ACTION", kind: Reply, reply: []string{"`$ACTION` is not an action here"}},

		// Line endings and Unicode.
		{name: "CRLF", comment: "/hubbot check\r\n/hubbot convert\r\n", kind: Run, run: []string{"check", "convert"}},
		{name: "old Mac line endings", comment: "/hubbot check\r/hubbot convert", kind: Run, run: []string{"check", "convert"}},
		{name: "CRLF inside a fence", comment: "```\r\n/hubbot check\r\n```\r\n", kind: Ignore},
		{name: "no-break space after the prefix", comment: "/hubbot\u00a0check", kind: Run, run: []string{"check"}},
		{name: "ideographic space", comment: "/hubbot\u3000check\u3000", kind: Run, run: []string{"check"}},
		{name: "fullwidth slash is not the prefix", comment: "／hubbot check", kind: Ignore},
		{name: "accented command", comment: "/hubbot chéck", kind: Reply, reply: []string{"`chéck` is not a command", "Did you mean `check`?"}},
		{name: "emoji after the command", comment: "/hubbot check 🚀", kind: Reply, reply: []string{"takes no arguments (got `🚀`)"}},
		{name: "curly quotes", comment: "/hubbot run “model-card”", kind: Run, run: []string{"run model-card"}},
		{name: "invalid UTF-8", comment: "/hubbot \xff\xfe", kind: Reply, reply: []string{"is not a command"}},
		{name: "NUL bytes", comment: "/hubbot check\x00", kind: Reply, reply: []string{"is not a command"}},
	}
	r := newTestRegistry(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := r.Parse(tc.comment)
			require.Equal(t, tc.kind, res.Kind, "reply: %s", res.Reply)
			switch tc.kind {
			case Run:
				assert.Equal(t, tc.run, summary(res.Invocations))
				assert.Empty(t, res.Reply)
			case Reply:
				assert.Empty(t, res.Invocations)
				for _, want := range tc.reply {
					assert.Contains(t, res.Reply, want)
				}
				assert.Equal(t, Ignore, r.Parse(res.Reply).Kind, "the reply must not be a command itself")
			case Ignore:
				assert.Empty(t, res.Invocations)
				assert.Empty(t, res.Reply)
			}
		})
	}
}

// TestParseOwnOutput feeds the bot's own texts back to it: none of them may
// be read as a command (kubernetes-sigs/prow#432, runatlantis/atlantis#6723).
func TestParseOwnOutput(t *testing.T) {
	r := newTestRegistry(t)
	texts := map[string]string{
		"help":            r.Help(),
		"help on rerun":   r.HelpFor("rerun"),
		"denial":          denial(code("convert"), []Rule{{Kind: RepoOwner}, {Kind: OrgRule, Name: "x"}}),
		"near-miss reply": r.Parse("/hubbot chek").Reply,
		"too many reply":  r.Parse("/hubbot check\n/hubbot convert\n/hubbot cancel\n/hubbot rerun").Reply,
		"usage reply":     r.Parse("/hubbot run").Reply,
		"bullet + ticks":  r.Parse("- `/hubbot chek`").Reply,
		"mention reply":   r.Parse("@hubbot chek").Reply,
		"help for each cmd": func() string {
			var b strings.Builder
			for _, n := range r.Names() {
				b.WriteString(r.HelpFor(n))
			}
			return b.String()
		}(),
	}
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			require.NotEmpty(t, text)
			assert.Equal(t, Ignore, r.Parse(text).Kind)
			assert.False(t, Mentions(text, "hubbot"))
		})
	}
}

// TestParseCorpusFiles runs the longer, realistic comments in
// testdata/comments: the file name says what Parse must answer
// ("<kind>--<name>.md"), and a run file lists the invocations on its first
// line after "<!-- want:".
func TestParseCorpusFiles(t *testing.T) {
	r := newTestRegistry(t)
	files, err := filepath.Glob(filepath.Join("testdata", "comments", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			kind, _, ok := strings.Cut(filepath.Base(f), "--")
			require.True(t, ok, "file name must be <kind>--<name>.md")
			res := r.Parse(string(raw))
			assert.Equal(t, kind, res.Kind.String(), "reply: %s", res.Reply)
			first, _, _ := strings.Cut(string(raw), "\n")
			if want, ok := strings.CutPrefix(strings.TrimSpace(first), "<!-- want:"); ok {
				want = strings.TrimSpace(strings.TrimSuffix(want, "-->"))
				assert.Equal(t, strings.Split(want, "; "), summary(res.Invocations))
			}
		})
	}
}

func TestParseCustomPrefix(t *testing.T) {
	cfg := testConfig()
	cfg.Prefix = "!CI"
	cfg.BotName = ""
	r, err := New(cfg)
	require.NoError(t, err)
	cases := []struct {
		comment string
		kind    Kind
	}{
		{"!ci check", Run},
		{"!CI check", Run},
		{"/hubbot check", Ignore},
		{"@hubbot check", Ignore}, // no bot name: no mention form
		{"!cicheck", Ignore},
	}
	for _, tc := range cases {
		t.Run(tc.comment, func(t *testing.T) {
			assert.Equal(t, tc.kind, r.Parse(tc.comment).Kind)
		})
	}
}

func TestParseMentionsAreChat(t *testing.T) {
	cfg := testConfig()
	cfg.MentionsAreChat = true
	r, err := New(cfg)
	require.NoError(t, err)
	// With the reply bot on, only a valid command line by mention runs;
	// anything else is left to the reply bot. The prefix form still
	// explains mistakes.
	assert.Equal(t, Run, r.Parse("@hubbot check").Kind)
	assert.Equal(t, Ignore, r.Parse("@hubbot chek").Kind)
	assert.Equal(t, Ignore, r.Parse("@hubbot check the license, is it ok?").Kind)
	assert.Equal(t, Reply, r.Parse("/hubbot chek").Kind)
}

func TestParseMaxCommands(t *testing.T) {
	cfg := testConfig()
	cfg.MaxCommands = 1
	r, err := New(cfg)
	require.NoError(t, err)
	assert.Equal(t, Run, r.Parse("/hubbot check").Kind)
	res := r.Parse("/hubbot check\n/hubbot convert")
	assert.Equal(t, Reply, res.Kind)
	assert.Contains(t, res.Reply, "limit is 1")
}

func TestParseManyMistakes(t *testing.T) {
	r := newTestRegistry(t)
	comment := strings.Repeat("/hubbot chek\n/hubbot convrt\n", 4)
	res := r.Parse(comment)
	require.Equal(t, Reply, res.Kind)
	assert.Equal(t, maxProblems, strings.Count(res.Reply, "is not a command"))
	assert.Contains(t, res.Reply, "(3 more problems not shown.)")
}

func TestParseLongLine(t *testing.T) {
	r := newTestRegistry(t)
	res := r.Parse("/hubbot run " + strings.Repeat("x", 2000))
	require.Equal(t, Reply, res.Kind)
	assert.Contains(t, res.Reply, "too long")
	assert.Less(t, len(res.Reply), 600, "a long line is cut in the reply")

	res = r.Parse("/hubbot run" + strings.Repeat(" a", 40))
	require.Equal(t, Reply, res.Kind)
	assert.Contains(t, res.Reply, "too many arguments")
}

func TestMentions(t *testing.T) {
	cases := []struct {
		text string
		want bool
	}{
		{"@hubbot can you explain the license?", true},
		{"thanks @hubbot!", true},
		{"Thanks @HubBot.", true},
		{"(@hubbot)", true},
		{"**@hubbot** hi", true},
		{"@hubbot", true},
		{"ask `@hubbot`", false},
		{"> @hubbot said so", false},
		{"```\n@hubbot\n```", false},
		{"<!-- @hubbot -->", false},
		{`\@hubbot`, false},
		{"me@hubbot.co", false},
		{"@hubbot-ci", false},
		{"@hubbot_x", false},
		{"@hubbot.x", false},
		{"@hubbots", false},
		{"see huggingface.co/@hubbot", false},
		{"no mention", false},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			assert.Equal(t, tc.want, Mentions(tc.text, "hubbot"))
		})
	}
	assert.False(t, Mentions("@ hi", ""), "an empty name is never mentioned")
}
