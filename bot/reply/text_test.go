package reply

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/hubclient"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"line endings", "a\r\nb\rc", "a\nb\nc"},
		{"comments", "a <!-- hidden\ninstructions --> b", "a  b"},
		{"unclosed comment hides the rest", "a <!-- b\nc", "a "},
		{"zero-width hides no comment opener", "a <!\u200b-- x --> b", "a  b"},
		{"bidi and zero-width", "\u202eab\u200bc\u2066", "abc"},
		{"tag characters", "a\U000E0049\U000E0047b", "ab"},
		{"controls, tabs kept", "a\x00\x1b[31mb\tc", "a[31mb\tc"},
		{"blank runs", "a\n\n\n \n\t\nb", "a\n\nb"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, clean(tt.in))
		})
	}
}

func TestEstimateTokens(t *testing.T) {
	assert.Equal(t, 0, estimateTokens(""))
	assert.Equal(t, 1, estimateTokens("abc"))
	assert.Equal(t, 1, estimateTokens("abcd"))
	assert.Equal(t, 2, estimateTokens("abcde"))
	assert.Equal(t, 3, estimateTokens("日本語"), "one per non-ASCII character")
	assert.Equal(t, 1+1, estimateTokens("ab🤖"))
}

func TestFitTokens(t *testing.T) {
	text := "START\n" + strings.Repeat("line of filler text\n", 200) + "END"
	for _, max := range []int{10, 50, 200, 400} {
		got, cut := fitTokens(text, max)
		assert.True(t, cut)
		assert.LessOrEqual(t, estimateTokens(got), max, "max %d", max)
		assert.True(t, strings.HasPrefix(got, "START"), "max %d: %q", max, got)
		if max >= 50 {
			assert.True(t, strings.HasSuffix(got, "END"), "max %d keeps the end: %q", max, got)
			assert.Contains(t, got, "\n"+cutNote+"\n")
		}
	}
	got, cut := fitTokens("short", 10)
	assert.False(t, cut)
	assert.Equal(t, "short", got)

	// Multibyte text is cut on rune boundaries.
	cjk := strings.Repeat("日本語のテキスト。", 100)
	got, _ = fitTokens(cjk, 50)
	assert.True(t, utf8.ValidString(got))
	assert.LessOrEqual(t, estimateTokens(got), 50)
	assert.Empty(t, headTokens("abc", 0))
	assert.Empty(t, tailTokens("abc", 0))
}

func TestQuote(t *testing.T) {
	assert.Equal(t, "> a\n>\n> b", quote("a\n\nb\n"))
	assert.Equal(t, "> === END CARD x ===\n>    indented", quote("=== END CARD x ===  \n   indented"))
}

func TestSplitFrontMatter(t *testing.T) {
	tests := []struct{ in, front, body string }{
		{"---\na: 1\n---\nbody", "---\na: 1\n---\n", "body"},
		{"---\na: 1\n--- \n", "---\na: 1\n--- \n", ""},
		{"---\na: 1\n---", "---\na: 1\n---", ""},
		{"---\nnever closed", "", "---\nnever closed"},
		{"no front matter\n---\n", "", "no front matter\n---\n"},
	}
	for _, tt := range tests {
		front, body := splitFrontMatter(tt.in)
		assert.Equal(t, tt.front, front, "%q", tt.in)
		assert.Equal(t, tt.body, body, "%q", tt.in)
	}
}

func TestFitCard(t *testing.T) {
	// A huge model-index must not push the body out.
	card := "---\nlicense: mit\nmodel-index:\n" + strings.Repeat("  - value: 0.5\n", 3000) + "---\n# Title\n\nThe body says what the model is for.\n" +
		strings.Repeat("More body.\n", 3000)
	got, cut := fitCard(card, 1000)
	assert.True(t, cut)
	assert.LessOrEqual(t, estimateTokens(got), 1000)
	assert.True(t, strings.HasPrefix(got, "---\nlicense: mit\n"))
	assert.Contains(t, got, "The body says what the model is for.")
	assert.True(t, strings.HasSuffix(got, cutNote))

	small, cut := fitCard("  # Title\n", 1000)
	assert.False(t, cut)
	assert.Equal(t, "# Title", small)
}

func TestStripThinking(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<think>plan</think>Answer", "Answer"},
		{"<THINK>a</THINK>x<think>b</think>y", "xy"},
		{"the template opened it</think>\nAnswer", "\nAnswer"},
		{"Answer<think>cut off while thinking", "Answer"},
		{"no reasoning", "no reasoning"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, stripThinking(tt.in), "%q", tt.in)
	}
}

func TestCompose(t *testing.T) {
	syntax := chatops.Syntax{Prefix: "/hubbot", Name: botName}
	people := map[string]bool{"alice": true, "carol": true}
	base := composeInput{commentID: askID, model: "org/model`\n@x", syntax: syntax, people: people}
	tests := []struct {
		name   string
		answer string
		has    []string
		hasNot []string
	}{
		{"plain", "Use `from_pretrained`.", []string{"Use `from_pretrained`.\n\n---\n<sub>🤖 Automated answer by hubbot", "(`org/modelx`)"}, nil},
		{"bot mention anywhere", "Thanks @hubbot-bot, and @HUBBOT-BOT.", []string{"Thanks hubbot-bot, and HUBBOT-BOT."}, []string{"@hubbot"}},
		{"participants keep their @", "@alice and @carol: see @dave's note.", []string{"@alice", "@carol", "dave's"}, []string{"@dave"}},
		{"mention ending a sentence", "Ask @dave.", []string{"Ask dave."}, []string{"@dave"}},
		{"not mentions", "me@example.com, a/@b, `x`@y, \\@z, @", []string{"me@example.com", "a/@b", "\\@z"}, nil},
		{"commands", "/hubbot convert\n  !other-bot go\n* /hubbot check", []string{"\\/hubbot convert", "* \\/hubbot check"}, []string{"\n/hubbot"}},
		{"images", "![x](https://e.example/p.png) <IMG SRC=x>", []string{"[x](https://e.example/p.png)", "&lt;IMG SRC=x>"}, []string{"![", "<IMG"}},
		{"forged markers", "ok <!-- hubbot:reply:" + askID + " --> <!-- unclosed", []string{"ok"}, []string{"unclosed"}},
		{"code is left alone", "Use\n```python\n@torch.no_grad()\nx = vec![1]\n```\nor `@dataclass` and `![x](y)`, but not @stranger ![z](w).",
			[]string{"```python\n@torch.no_grad()\nx = vec![1]\n```", "`@dataclass`", "`![x](y)`", "not stranger [z](w)."}, []string{"@stranger", "![z]"}},
		{"our commands in code are escaped", "```\n  /HUBBOT convert\n/other\n```", []string{"```\n  \\/HUBBOT convert\n/other\n```"}, nil},
		{"rust macro in prose", "Call vec![1, 2] here.", []string{"vec![1, 2]"}, nil},
		{"unclosed span is prose", "a ` b @stranger", []string{"a ` b stranger"}, nil},
		{"tilde fence", "~~~\n@decorator\n~~~~\n@stranger", []string{"~~~\n@decorator\n~~~~\nstranger"}, nil},
		{"raw HTML", "<details><summary>More</summary>\n<sub>tiny</sub> <https://hf.co> a < b", []string{"&lt;details>&lt;summary>More&lt;/summary>", "&lt;sub>tiny&lt;/sub>", "<https://hf.co>", "a < b"}, []string{"<details", "<sub>tiny"}},
		{"unclosed fence", "Run:\n````bash\npip install x\n```\nstill code", []string{"still code\n````\n\n---\n<sub>"}, nil},
		{"indented fence is not a fence", "Text\n\n    ```\n    code", []string{"    ```\n    code\n\n---\n<sub>"}, []string{"code\n```"}},
		{"fence indented by three", "Text\n   ```\n@decorator", []string{"Text\n   ```\n@decorator\n```\n\n---"}, nil},
		{"entity-split marker stays text", "&lt;!-- hubbot:reply:x -->", []string{"&lt;!-- hubbot:reply:x -->"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.answer = tt.answer
			got := compose(in)
			for _, s := range tt.has {
				assert.Contains(t, got, s)
			}
			for _, s := range tt.hasNot {
				assert.NotContains(t, got, s)
			}
			assert.Equal(t, 1, strings.Count(got, "<!--"), got)
			assert.True(t, strings.HasSuffix(got, "</sub>\n"+Marker(askID)))
			assert.False(t, chatops.Mentions(got, botName))
		})
	}

	in := base
	in.answer = "<think>only thinking</think>  \n"
	assert.Empty(t, compose(in), "nothing left to post")

	in.answer, in.cutShort = "Half an answer", true
	assert.Contains(t, compose(in), "It stopped at the length limit")
}

func TestComposeCapsLength(t *testing.T) {
	in := composeInput{commentID: askID, model: "m", syntax: chatops.Syntax{Prefix: "/hubbot", Name: botName}}
	for _, answer := range []string{
		strings.Repeat("word ", 20000),
		"```\n" + strings.Repeat("code line\n", 10000),
		strings.Repeat("🤖", 70000),
	} {
		in.answer = answer
		got := compose(in)
		assert.LessOrEqual(t, utf8.RuneCountInString(got), hubclient.MaxCommentSize)
		assert.Contains(t, got, "The answer was cut here")
		assert.Equal(t, 0, strings.Count(strings.Split(got, footerRule)[0], "```")%2, "code fences are closed")
		assert.True(t, strings.HasSuffix(got, Marker(askID)))
	}
}

func TestModelLabel(t *testing.T) {
	assert.Equal(t, "`meta-llama/Llama-3.1-8B-Instruct:fastest`", modelLabel("meta-llama/Llama-3.1-8B-Instruct:fastest"))
	assert.Equal(t, "unnamed model", modelLabel("`<>`"))
	assert.Len(t, modelLabel(strings.Repeat("a", 500)), 102)
}

func TestStripFooter(t *testing.T) {
	in := composeInput{answer: "The answer.", commentID: askID, model: "m", syntax: chatops.Syntax{Prefix: "/hubbot"}}
	assert.Equal(t, "The answer.", stripFooter(compose(in)))
	assert.Equal(t, "no footer", stripFooter("no footer"))
}

func TestReadThread(t *testing.T) {
	d := discussion(3, "t",
		event(descID, aliceUID, "alice", "desc"),
		event("65f00000000000000000e001", botID, botName, "old reply"+footerRule+"footer</sub>\n"+Marker(descID)),
		hiddenEvent("65f00000000000000000e002", bobUID, "bob"),
		event("65f00000000000000000e003", carolUID, "", "from a deleted account"),
		event(askID, carolUID, "carol", "question"),
	)
	d.Events[0].Author.IsOwner = true
	d.Events = append(d.Events, hubclient.Event{ID: "x", Type: hubclient.EventStatusChange})
	th := readThread(d, Request{CommentID: askID, BotID: botID, BotName: botName})
	require.Len(t, th.turns, 4, "hidden comments and other events are left out")
	assert.Equal(t, turn{n: 1, author: "alice", opener: true, owner: true, text: "desc"}, th.turns[0])
	assert.Equal(t, turn{n: 2, author: botName, bot: true, text: "old reply"}, th.turns[1])
	assert.Equal(t, "deleted", th.turns[2].author)
	assert.Equal(t, 3, th.trigger)
	assert.Equal(t, 1, th.botReplies)
	assert.Nil(t, th.answered)
	assert.True(t, th.people["alice"] && th.people["carol"])
	assert.False(t, th.people["bob"])

	answeredDesc := readThread(d, Request{CommentID: strings.ToUpper(descID), BotName: botName})
	require.NotNil(t, answeredDesc.answered, "the marker is found whatever the id's case, by name alone")
	assert.Equal(t, "65f00000000000000000e001", answeredDesc.answered.ID)
}

// TestComposeTrimsBeforeTheGuard is the case that made the guard run last:
// an answer that starts with a Unicode space and a command was trimmed after
// it was made safe, and posted with the command at the start of a line.
func TestComposeTrimsBeforeTheGuard(t *testing.T) {
	reg, err := chatops.New(chatops.Config{BotName: botName, MentionsAreChat: true})
	require.NoError(t, err)
	for _, answer := range []string{"\u00a0/hubbot convert", "\u3000/hubbot convert", "\u2028/hubbot convert", "ok\u2029/hubbot convert"} {
		got := compose(composeInput{answer: answer, commentID: askID, model: "org/model",
			syntax: chatops.Syntax{Prefix: "/hubbot", Name: botName}})
		require.NotEmpty(t, got)
		assert.Equal(t, chatops.Ignore, reg.Parse(got).Kind, "%q", got)
		assert.Contains(t, got, `\/hubbot convert`, "%q", got)
	}
}
