package chatops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// seedComments adds the regression corpus and the bot's own texts as seeds.
func seedComments(f *testing.F, r *Registry) {
	files, _ := filepath.Glob(filepath.Join("testdata", "comments", "*.md"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"/hubbot check", "@hubbot: rerun -f model-card", "- `/hubbot convert`", "```/hubbot check```",
		"> q\n/hubbot check", "<!-- a\n-->/hubbot check", "a `b\n/hubbot check` c", "\\`/hubbot check`",
		"/hubbot run \"a\\\"b\" 'c' `d` “e”", "1) @HUBBOT cancel <!-- x -->", "\t/hubbot x\r\n~~~\n/hubbot y",
		r.Help(), r.HelpFor("rerun"), r.Parse("/hubbot chek").Reply,
		"\u00a0/hubbot convert", "\u3000/hubbot convert", "\u2028/hubbot convert", "a\r/hubbot check",
		"a\u2028/hubbot check", "a\u2029@hubbot hi", "a\u0085/hubbot convert", "\u2003- @hubbot x",
		"    /hubbot convert", "\n\n    @hubbot hi",
	} {
		f.Add(s)
	}
}

// FuzzParse checks what must hold for any comment: no panic; a Run has
// between one and the maximum of registered commands; a Reply is not itself
// a command; and what Safe makes of the comment is neither a command nor a
// mention, and does not change when made Safe again.
func FuzzParse(f *testing.F) {
	r, err := New(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	seedComments(f, r)
	f.Fuzz(func(t *testing.T, comment string) {
		res := r.Parse(comment)
		switch res.Kind {
		case Ignore:
			if res.Reply != "" || len(res.Invocations) > 0 {
				t.Fatalf("Ignore with content: %+v", res)
			}
		case Reply:
			if res.Reply == "" || len(res.Invocations) > 0 {
				t.Fatalf("Reply without text or with invocations: %+v", res)
			}
			if k := r.Parse(res.Reply).Kind; k != Ignore {
				t.Fatalf("the reply is read as %v:\n%s", k, res.Reply)
			}
		case Run:
			if n := len(res.Invocations); n < 1 || n > r.max {
				t.Fatalf("%d invocations", n)
			}
			for _, inv := range res.Invocations {
				c, ok := r.Lookup(inv.Command)
				if !ok || c.Name != inv.Command {
					t.Fatalf("unregistered command %q", inv.Command)
				}
				if !strings.HasPrefix(inv.Line, r.syntax.Prefix) && !strings.HasPrefix(inv.Line, "@"+r.syntax.Name) {
					t.Fatalf("line %q", inv.Line)
				}
			}
		default:
			t.Fatalf("kind %v", res.Kind)
		}

		safe := r.Safe(comment)
		// A caller may trim what it posts: that must not make it a command.
		for _, out := range []string{safe, strings.TrimSpace(safe), strings.TrimFunc(safe, unicode.IsSpace)} {
			if k := r.Parse(out).Kind; k != Ignore {
				t.Fatalf("Safe output is read as %v:\n%q", k, out)
			}
			if Mentions(out, r.syntax.Name) {
				t.Fatalf("Safe output mentions the bot:\n%q", out)
			}
		}
		if again := r.Safe(safe); again != safe {
			t.Fatalf("Safe is not idempotent:\n%q\n%q", safe, again)
		}
	})
}

// FuzzSplitArgs checks that splitting never panics and that words written
// back in single quotes split into the same words.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"run a b", `'a b' "c\"d"`, "`x` ``y ` z``", "a\\ b “c d”", "'", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := splitArgs(line)
		if err != nil {
			return
		}
		var quoted []string
		for _, w := range words {
			if strings.ContainsAny(w, "'\x00") || !utf8Valid(w) {
				return
			}
			quoted = append(quoted, "'"+w+"'")
		}
		again, err := splitArgs(strings.Join(quoted, " "))
		if err != nil && len(strings.Join(quoted, " ")) <= maxLineBytes {
			t.Fatalf("re-split %q: %v", quoted, err)
		}
		if err == nil && strings.Join(again, "\x00") != strings.Join(words, "\x00") {
			t.Fatalf("re-split %q = %q, want %q", quoted, again, words)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
