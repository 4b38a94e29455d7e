package modelcard

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hubPattern is the Hub's front matter pattern (huggingface_hub repocard.py,
// mirroring the server). RE2 picks the same match as a backtracking engine
// here (leftmost-first), and its \s is the ASCII set, so it is an oracle for
// splitFrontMatter on ASCII input.
var hubPattern = regexp.MustCompile(`^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))`)

// asciiOracleApplies reports whether s only uses characters on which the
// Hub's JavaScript \s and RE2's \s agree.
func asciiOracleApplies(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == '\v' {
			return false
		}
	}
	return true
}

func checkAgainstHubPattern(t *testing.T, readme string) {
	t.Helper()
	fm := splitFrontMatter([]byte(readme))
	m := hubPattern.FindStringSubmatchIndex(readme)
	require.Equal(t, m != nil, fm.found, "found, for %q", readme)
	if m == nil {
		return
	}
	assert.Equal(t, readme[m[4]:m[5]], string(fm.yaml), "block of %q", readme)
	assert.Equal(t, readme[m[1]:], string(fm.body), "body of %q", readme)
}

func TestSplitFrontMatter(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		found     bool
		yaml      string
		yamlStart Pos
		bodyStart Pos
		unclosed  bool
		trailing  bool
	}{
		{"plain", "---\na: 1\n---\nbody", true, "a: 1", Pos{2, 1}, Pos{4, 1}, false, false},
		{"leading whitespace", " \n\t\n  ---\na: 1\n---\n", true, "a: 1", Pos{4, 1}, Pos{6, 1}, false, false},
		{"closing with blanks", "---\na: 1\n---  \t\nbody", true, "a: 1", Pos{2, 1}, Pos{4, 1}, false, false},
		{"closing at end of file", "---\na: 1\n---", true, "a: 1", Pos{2, 1}, Pos{3, 4}, false, false},
		{"CRLF", "---\r\na: 1\r\n---\r\nbody", true, "a: 1", Pos{2, 1}, Pos{4, 1}, false, false},
		{"lone CR lines", "---\ra: 1\r---\nbody", true, "a: 1", Pos{2, 1}, Pos{4, 1}, false, false},
		{"empty block", "---\n\n---\nbody", true, "", Pos{2, 1}, Pos{4, 1}, false, false},
		{"CRLF opening lends its LF to an empty block", "---\r\n---\nbody", true, "", Pos{2, 1}, Pos{3, 1}, false, false},
		{"adjacent delimiters are not a block", "---\n---\nbody", false, "", Pos{}, Pos{1, 1}, true, false},
		{"shortest block wins", "---\na: 1\n---\nb: 2\n---\n", true, "a: 1", Pos{2, 1}, Pos{4, 1}, false, false},
		{"four dashes do not close", "---\na: 1\n----\nb\n---\nc", true, "a: 1\n----\nb", Pos{2, 1}, Pos{6, 1}, false, false},
		{"closing dashes then text do not close", "---\na: 1\n--- x\n", false, "", Pos{}, Pos{1, 1}, true, false},
		{"lone CR after closing dashes does not close", "---\na: 1\n---\rbody", false, "", Pos{}, Pos{1, 1}, true, false},
		{"blank after opening dashes", "--- \na: 1\n---\n", false, "", Pos{}, Pos{1, 1}, false, true},
		{"thematic break is not front matter", "----\ntext\n", false, "", Pos{}, Pos{1, 1}, false, false},
		{"text before the block", "# Title\n---\na: 1\n---\n", false, "", Pos{}, Pos{1, 1}, false, false},
		{"BOM is whitespace to the Hub", "\ufeff---\na: 1\n---\n", true, "a: 1", Pos{2, 1}, Pos{4, 1}, false, false},
		{"multibyte text keeps columns in characters", "---\né: ü\n---\n", true, "é: ü", Pos{2, 1}, Pos{4, 1}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm := splitFrontMatter([]byte(tt.in))
			assert.Equal(t, tt.found, fm.found)
			assert.Equal(t, tt.yaml, string(fm.yaml))
			if tt.found {
				assert.Equal(t, tt.yamlStart, fm.yamlStart)
			}
			assert.Equal(t, tt.bodyStart, fm.bodyStart)
			assert.Equal(t, tt.unclosed, fm.unclosed)
			assert.Equal(t, tt.trailing, fm.trailingOpen)
			if asciiOracleApplies(tt.in) {
				checkAgainstHubPattern(t, tt.in)
			}
		})
	}
}

func TestPosAt(t *testing.T) {
	b := []byte("ab\r\ncé\rx\ny")
	assert.Equal(t, Pos{1, 1}, posAt(b, 0))
	assert.Equal(t, Pos{2, 1}, posAt(b, 4))
	assert.Equal(t, Pos{2, 2}, posAt(b, 5))
	assert.Equal(t, Pos{2, 3}, posAt(b, 7)) // after the two bytes of é
	assert.Equal(t, Pos{3, 1}, posAt(b, 8))
	assert.Equal(t, Pos{4, 1}, posAt(b, 10))
	assert.Equal(t, "a\nb\nc\n", string(normalizeBreaks([]byte("a\r\nb\rc\n"))))
}

func TestYAMLLimits(t *testing.T) {
	var laughs strings.Builder
	laughs.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 'b'; i <= 'j'; i++ {
		laughs.WriteString(string(i) + ": &" + string(i) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				laughs.WriteString(", ")
			}
			laughs.WriteString("*" + string(i-1))
		}
		laughs.WriteString("]\n")
	}
	var keys strings.Builder
	for i := 0; i <= MaxKeysPerMapping; i++ {
		keys.WriteString("k" + strings.Repeat("x", i%7) + ": v\n")
	}
	tests := []struct {
		name  string
		yaml  string
		check string
		pos   Pos
	}{
		{"billion laughs", laughs.String(), checkYAMLLimits, Pos{7, 36}}, // the alias that passes a million values
		{"deep flow nesting", "tags: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000), checkYAMLLimits, Pos{2, 70}},
		{"deep block nesting", strings.Repeat("- ", 10000) + "x", checkYAMLLimits, Pos{2, 129}},
		{"deep indented nesting", func() string {
			var b strings.Builder
			for i := 0; i < 200; i++ {
				b.WriteString(strings.Repeat(" ", i) + "k:\n")
			}
			return b.String()
		}(), checkYAMLLimits, Pos{66, 65}},
		{"too many keys", keys.String(), checkYAMLLimits, Pos{2 + MaxKeysPerMapping, 1}},
		{"too large", "a: " + strings.Repeat("x", MaxFrontMatterBytes), checkYAMLLimits, Pos{1, 1}},
		{"too many empty values", "tags:\n" + strings.Repeat("-\n", 10000), checkYAMLLimits, Pos{1, 1}},
		{"too many empty flow values", "x: {" + strings.Repeat("a, ", 10000) + "}", checkYAMLLimits, Pos{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Check([]byte("---\n"+tt.yaml+"\n---\n\nText.\n"), baseFiles(), Options{})
			require.NotEmpty(t, rep.Findings)
			f := rep.Findings[0]
			assert.Equal(t, tt.check, f.Check, "%+v", rep.Findings)
			assert.Equal(t, tt.pos, f.Pos)
			assert.True(t, rep.Failed())
		})
	}
}

func TestAliasesWithinBudget(t *testing.T) {
	// Aliases are shared, not copied: a card that reuses an anchor many
	// times stays cheap and is checked normally.
	var b strings.Builder
	b.WriteString("license: mit\nlibrary_name: transformers\npipeline_tag: text-classification\nlanguage: en\ndatasets: [imdb]\n")
	b.WriteString("x: &m {type: accuracy, value: 0.9}\nmodel-index:\n- name: m\n  results:\n")
	for i := 0; i < 300; i++ {
		b.WriteString("  - task: {type: text-classification}\n    dataset: {type: imdb, name: IMDB}\n    metrics: [*m, *m]\n")
	}
	rep := Check([]byte("---\n"+b.String()+"---\n\nText.\n"), baseFiles(), Options{})
	assert.Empty(t, rep.Findings)
}
