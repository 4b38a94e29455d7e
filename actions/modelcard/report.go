package modelcard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hubbot/hubbot/actions"
)

// Finding is one problem found in a model card.
//
// Message and Fix are plain text. Anything taken from the card in them has
// been through sanitize: truncated, with control and formatting characters
// replaced and backticks turned into quotes, so the backticks that remain
// are hubbot's own and mark code.
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	// Field is the metadata path the finding is about, such as "license"
	// or "model-index[0].results[2].dataset.name"; empty for the card as a
	// whole or for the repo's files.
	Field string `json:"field,omitempty"`
	Pos
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Report is the outcome of checking one model card.
type Report struct {
	Findings []Finding `json:"findings"`
	// Omitted counts findings left out because a check or the report
	// reached its cap; a card can be made to produce any number of them.
	Omitted int `json:"omitted,omitempty"`
	// FailOn is the lowest severity that fails the check.
	FailOn Severity `json:"fail_on"`
	// Type is the repo type whose rules were applied.
	Type RepoType `json:"type,omitempty"`
}

// title is the report's name in summaries: "Model card", "Dataset card" or
// "Space card".
func (r Report) title() string {
	n := r.Type.noun()
	return strings.ToUpper(n[:1]) + n[1:] + " card"
}

// Count returns how many findings have severity s.
func (r Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Failed reports whether the card fails the check: it has errors, or
// warnings when the action is configured to fail on them.
func (r Report) Failed() bool {
	if r.Count(Error) > 0 {
		return true
	}
	return r.FailOn == Warning && r.Count(Warning) > 0
}

// Conclusion is Failure when the card fails, Success otherwise.
func (r Report) Conclusion() actions.Conclusion {
	if r.Failed() {
		return actions.Failure
	}
	return actions.Success
}

// Summary is the one-line verdict.
func (r Report) Summary() string {
	e, w, s := r.Count(Error), r.Count(Warning), r.Count(Suggestion)
	var parts []string
	if e > 0 {
		parts = append(parts, plural(e, "error"))
	}
	if w > 0 {
		parts = append(parts, plural(w, "warning"))
	}
	if s > 0 {
		parts = append(parts, plural(s, "suggestion"))
	}
	switch {
	case r.Failed():
		return "❌ " + r.title() + ": " + strings.Join(parts, ", ")
	case e+w > 0:
		return "⚠️ " + r.title() + ": no errors, " + strings.Join(parts, ", ")
	case s > 0:
		return "✅ " + r.title() + ": no problems found, " + strings.Join(parts, ", ")
	default:
		return "✅ " + r.title() + ": no problems found"
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Fingerprint identifies the set of findings: it is the same whenever the
// findings are, so a report is only republished when they change. Positions
// are part of it, because the report shows them.
func (r Report) Fingerprint() string {
	h := sha256.New()
	for _, f := range r.Findings {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d\x00%s\x00%s\n", f.Check, f.Severity, f.Field, f.Line, f.Column, f.Message, f.Fix)
	}
	fmt.Fprintf(h, "omitted %d fail-on %s\n", r.Omitted, r.FailOn)
	return "modelcard-v1-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Result packages the report for publishing.
func (r Report) Result() actions.Result {
	return actions.Result{
		Conclusion:  r.Conclusion(),
		Summary:     r.Summary(),
		Details:     r.Markdown(),
		Fingerprint: r.Fingerprint(),
	}
}

// Markdown renders the findings: errors and warnings in a table, the
// suggestions in a collapsed section. Every cell is escaped so that nothing
// from the card can break the table, inject HTML or links, mention anyone,
// or start a line.
func (r Report) Markdown() string {
	var main, rest []Finding
	for _, f := range r.Findings {
		if f.Severity == Suggestion {
			rest = append(rest, f)
		} else {
			main = append(main, f)
		}
	}
	var b strings.Builder
	if len(main) == 0 && len(rest) == 0 {
		b.WriteString("No problems found in README.md.\n")
	}
	if len(main) > 0 {
		writeTable(&b, main)
	}
	if len(rest) > 0 {
		if len(main) > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "<details>\n<summary>%s</summary>\n\n", plural(len(rest), "suggestion"))
		writeTable(&b, rest)
		b.WriteString("\n</details>\n")
	}
	if r.Omitted > 0 {
		fmt.Fprintf(&b, "\n%s more not shown: a report lists at most %d per check and %d in all.\n", plural(r.Omitted, "finding"), maxFindingsPerCheck, maxFindings)
	}
	return b.String()
}

func writeTable(b *strings.Builder, fs []Finding) {
	b.WriteString("| Severity | Field | Line | Problem | How to fix |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, f := range fs {
		field := "—"
		if f.Field != "" {
			field = "<code>" + escapeMarkdown(f.Field) + "</code>"
		}
		line := "—"
		if f.Line > 0 {
			line = strconv.Itoa(f.Line)
			if f.Column > 0 {
				line += ":" + strconv.Itoa(f.Column)
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", severityLabel(f.Severity), field, line, renderText(f.Message), renderText(f.Fix))
	}
}

func severityLabel(s Severity) string {
	switch s {
	case Error:
		return "❌ error"
	case Warning:
		return "⚠️ warning"
	default:
		return "💡 suggestion"
	}
}

// renderText turns a message into one markdown table cell: the parts
// between backticks become <code>, everything is escaped.
func renderText(s string) string {
	if s == "" {
		return " "
	}
	var b strings.Builder
	for i, part := range strings.Split(s, "`") {
		if i%2 == 1 {
			b.WriteString("<code>" + escapeMarkdown(part) + "</code>")
		} else {
			b.WriteString(escapeMarkdown(part))
		}
	}
	return b.String()
}

// escapeMarkdown replaces every character that means something to
// markdown, HTML or the Hub (mentions) with its HTML entity. Entities are
// decoded after a table row is split into cells, so "&#124;" never ends a
// cell; and text between <code> tags is still markdown, so it needs the
// same treatment.
func escapeMarkdown(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '|', '`', '\\', '*', '_', '~', '[', ']', '#', '@', '$', '/':
			fmt.Fprintf(&b, "&#%d;", r)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sanitize makes a value from the card safe to put in a message: at most
// max characters (then an ellipsis), no line breaks, control, format or
// bidirectional characters (each becomes U+FFFD), and no backticks (they
// would end hubbot's own code spans).
func sanitize(s string, max int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n == max {
			if i < len(s) {
				b.WriteString("…")
			}
			break
		}
		n++
		switch {
		case r == '`':
			b.WriteByte('\'')
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError, !unicode.IsGraphic(r):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WriteText writes the report for a terminal, one finding per line in the
// file:line:column form editors and CI annotations understand.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString("README.md")
		if f.Line > 0 {
			fmt.Fprintf(&b, ":%d", f.Line)
			if f.Column > 0 {
				fmt.Fprintf(&b, ":%d", f.Column)
			}
		}
		fmt.Fprintf(&b, ": %s: %s", f.Severity, f.Message)
		if f.Field != "" {
			fmt.Fprintf(&b, " (%s)", f.Field)
		}
		fmt.Fprintf(&b, " [%s]\n", f.Check)
		if f.Fix != "" {
			fmt.Fprintf(&b, "    fix: %s\n", f.Fix)
		}
	}
	if r.Omitted > 0 {
		fmt.Fprintf(&b, "(%s more not shown)\n", plural(r.Omitted, "finding"))
	}
	b.WriteString(plainSummary(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func plainSummary(r Report) string {
	verdict := "ok"
	if r.Failed() {
		verdict = "FAILED"
	}
	return fmt.Sprintf("%s %s: %s, %s, %s", strings.ToLower(r.title()), verdict,
		plural(r.Count(Error), "error"), plural(r.Count(Warning), "warning"), plural(r.Count(Suggestion), "suggestion"))
}

// jsonReport is the shape of `hubbot check --format json`.
type jsonReport struct {
	Conclusion  actions.Conclusion `json:"conclusion"`
	Type        RepoType           `json:"type"`
	Errors      int                `json:"errors"`
	Warnings    int                `json:"warnings"`
	Suggestions int                `json:"suggestions"`
	Omitted     int                `json:"omitted"`
	Fingerprint string             `json:"fingerprint"`
	Findings    []Finding          `json:"findings"`
}

// WriteJSON writes the report as one JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	findings := r.Findings
	if findings == nil {
		findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonReport{
		Conclusion:  r.Conclusion(),
		Type:        r.Type,
		Errors:      r.Count(Error),
		Warnings:    r.Count(Warning),
		Suggestions: r.Count(Suggestion),
		Omitted:     r.Omitted,
		Fingerprint: r.Fingerprint(),
		Findings:    findings,
	})
}
