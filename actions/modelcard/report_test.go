package modelcard

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	goldenfile "github.com/hubbot/hubbot/internal/golden"

	"github.com/hubbot/hubbot/actions"
)

// golden compares got with testdata/golden/name.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Assert(t, filepath.Join("testdata", "golden", name), got)
}

func brokenFiles() []File {
	return fileList("config.json", "pytorch_model.bin=267854321", "training_args.bin", "tokenizer.json")
}

func TestMarkdownGolden(t *testing.T) {
	tests := []struct {
		name   string
		card   string
		files  []File
		opts   Options
		result actions.Conclusion
	}{
		{"broken.md", "broken.md", brokenFiles(), Options{}, actions.Failure},
		{"clean.md", "bert.md", realCards()["bert.md"], Options{}, actions.Success},
		{"suggestions.md", "bert.md", realCards()["bert.md"][:1], Options{Severity: map[string]string{checkTransformersConfig: "suggestion"}}, actions.Success},
		{"warnings-fail.md", "broken.md", brokenFiles(), Options{FailOn: "warning", Severity: map[string]string{
			checkLicense: "off", checkPipelineTag: "warning", checkModelIndex: "suggestion"}}, actions.Failure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Check(readCard(t, tt.card), tt.files, tt.opts).Result()
			assert.Equal(t, tt.result, res.Conclusion)
			assert.NotContains(t, res.Summary, "\n")
			golden(t, tt.name, res.Summary+"\n\n"+res.Details)
		})
	}
}

func TestTextAndJSON(t *testing.T) {
	rep := Check(readCard(t, "broken.md"), brokenFiles(), Options{})
	var text bytes.Buffer
	require.NoError(t, rep.WriteText(&text))
	golden(t, "broken.txt", text.String())

	var out bytes.Buffer
	require.NoError(t, rep.WriteJSON(&out))
	var decoded struct {
		Conclusion  string    `json:"conclusion"`
		Errors      int       `json:"errors"`
		Warnings    int       `json:"warnings"`
		Fingerprint string    `json:"fingerprint"`
		Findings    []Finding `json:"findings"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &decoded))
	assert.Equal(t, "failure", decoded.Conclusion)
	assert.Equal(t, rep.Count(Error), decoded.Errors)
	assert.Equal(t, rep.Count(Warning), decoded.Warnings)
	assert.Equal(t, rep.Fingerprint(), decoded.Fingerprint)
	assert.Equal(t, rep.Findings, decoded.Findings)

	out.Reset()
	require.NoError(t, Check(readCard(t, "bert.md"), realCards()["bert.md"], Options{}).WriteJSON(&out))
	assert.Contains(t, out.String(), `"findings": []`)
}

func TestFingerprint(t *testing.T) {
	broken := readCard(t, "broken.md")
	a := Check(broken, brokenFiles(), Options{})
	b := Check(broken, brokenFiles(), Options{})
	assert.Equal(t, a.Fingerprint(), b.Fingerprint(), "same card, same fingerprint")

	edited := bytes.Replace(broken, []byte("fine-tuned version"), []byte("fine-tuned variant"), 1)
	assert.Equal(t, a.Fingerprint(), Check(edited, brokenFiles(), Options{}).Fingerprint(),
		"an edit that changes no finding keeps the fingerprint")

	fixed := bytes.Replace(broken, []byte("license: Apache 2.0"), []byte("license: apache-2.0"), 1)
	assert.NotEqual(t, a.Fingerprint(), Check(fixed, brokenFiles(), Options{}).Fingerprint())

	moved := append([]byte("\n"), broken...)
	assert.NotEqual(t, a.Fingerprint(), Check(moved, brokenFiles(), Options{}).Fingerprint(),
		"positions are shown, so moving the findings changes the fingerprint")

	assert.NotEqual(t, a.Fingerprint(), Check(broken, brokenFiles(), Options{FailOn: "warning"}).Fingerprint())
}

// hostileCard puts everything that could break a report into values that
// end up in findings.
func hostileCard() string {
	long := strings.Repeat("A", 5000)
	return card(
		`license: "mit | evil <script>alert(1)</script> `+"`x`"+` @admin"`,
		`library_name: "/hubbot approve"`,
		`pipeline_tag: "text\n/hubbot merge\n@everyone please"`,
		`language: ["[click](javascript:alert(1))", "![img](https://evil.example/x.png)", "\u202eevil", "\x1b[31mred"]`,
		`datasets: ["`+long+`"]`,
		`base_model: "**bold** _it_ ~~s~~ #1 $x$ \\ <b>"`,
		`widget:`,
		`- "@someone": hi`,
		`  "|||": x`,
		`model-index: "</details><details open>"`,
	)
}

func TestReportEscapesCardContent(t *testing.T) {
	rep := Check([]byte(hostileCard()), baseFiles(), Options{})
	require.GreaterOrEqual(t, rep.Count(Error), 4)
	md := rep.Summary() + "\n\n" + rep.Markdown()
	for i, line := range strings.Split(md, "\n") {
		assert.False(t, strings.HasPrefix(strings.TrimSpace(line), "/"), "line %d starts a command: %q", i, line)
		assert.False(t, strings.HasPrefix(strings.TrimSpace(line), "@"), "line %d starts a mention: %q", i, line)
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| Severity") && !strings.HasPrefix(line, "| ---") {
			assert.Equal(t, 6, strings.Count(line, "|"), "a row keeps its five cells: %q", line)
			assert.Less(t, len(line), 2000, "long values are truncated")
		}
	}
	for _, bad := range []string{"<script", "</details><details", "@admin", "@everyone", "@someone", "](", "<b>", "**bold**", "\u202e", "\x1b", "/hubbot"} {
		assert.NotContains(t, md, bad)
	}
	// The details block that hubbot opens for suggestions is the only one.
	assert.Equal(t, strings.Count(md, "<details>"), strings.Count(md, "</details>"))

	var text bytes.Buffer
	require.NoError(t, rep.WriteText(&text))
	assert.NotContains(t, text.String(), "\x1b", "no terminal escapes reach the terminal")
	assert.NotContains(t, text.String(), "\u202e")
	for _, line := range strings.Split(text.String(), "\n") {
		assert.Less(t, len(line), 1000)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a`b", "a'b"},
		{"li\nbr\tt", "li br t"},
		{"\x1b[1m\u202e\u200b", "\uFFFD[1m\uFFFD\uFFFD"},
		{"\xff", "\uFFFD"},
		{strings.Repeat("é", 12), strings.Repeat("é", 10) + "…"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sanitize(tt.in, 10), "%q", tt.in)
	}
	assert.Equal(t, "a&#124;b&lt;i&gt;&amp;&#96;&#64;&#47;", escapeMarkdown("a|b<i>&`@/"))
	assert.Equal(t, "x <code>a&#124;b</code> y", renderText("x `a|b` y"))
}

func TestFindingCaps(t *testing.T) {
	var b strings.Builder
	b.WriteString("license: mit\nlibrary_name: transformers\npipeline_tag: text-classification\ndatasets: [imdb]\nlanguage:\n")
	for i := 0; i < 500; i++ {
		b.WriteString("- xx\n")
	}
	rep := Check([]byte("---\n"+b.String()+"---\n\nText.\n"), baseFiles(), Options{})
	assert.Len(t, rep.Findings, maxFindingsPerCheck)
	assert.Equal(t, 500-maxFindingsPerCheck, rep.Omitted)
	assert.Contains(t, rep.Markdown(), "475 findings more not shown")
}
