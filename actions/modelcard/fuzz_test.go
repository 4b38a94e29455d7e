package modelcard

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, wrap func(string) string) {
	entries, err := os.ReadDir(filepath.Join("testdata", "cards"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", "cards", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		hostileCard(),
		"---\r\n---\nbody",
		"\ufeff  ---\na: &a [x, *a]\n---\n",
		"---\na: &a {b: 1}\nc:\n  <<: [*a, *a]\n  <<: *a\n---\n",
		"---\n? [a, b]\n: c\n---\n",
		"---\na: !!binary aGk=\nb: !custom {x: 1}\n---\n",
		"---\nlanguage: [no, yes, on, off]\nwidget: [{text: a, output: [{label: x, score: 1}]}]\n---\n",
		"---\na: |\n  x\n  ---\n...\n---\n",
		"---\n%YAML 1.2\n---\na: 1\n---\n",
		wrap("[[[[{a: [{b: c}]}]]]]"),
		wrap("- - - - x\n  - y"),
		wrap("model-index:\n- results:\n  - metrics: [{type: a, value: .nan}]"),
	} {
		f.Add(s)
	}
}

// checkInvariants holds for any README: checking it does not panic or
// hang, positions are inside the file, and the markdown report cannot be
// broken by the card.
func checkInvariants(t *testing.T, readme string) {
	// Every type's rules: detected (a model unless the card says
	// otherwise), and dataset and Space forced on any card.
	for _, typ := range []RepoType{"", Dataset, Space} {
		checkTypeInvariants(t, readme, typ)
	}
}

func checkTypeInvariants(t *testing.T, readme string, typ RepoType) {
	files := baseFiles("LICENSE", "images/a.png", "Dockerfile", "app.py", "data/train.csv", "data/test/0.parquet")
	rep := CheckRepo([]byte(readme), files, typ, Options{Required: []string{"license"}})
	lines := 1 + strings.Count(readme, "\n") + strings.Count(readme, "\r")
	for _, f := range rep.Findings {
		if f.Line < 0 || f.Line > lines || f.Column < 0 {
			t.Fatalf("finding outside the file (%d lines): %+v", lines, f)
		}
		if strings.Contains(f.Message, "the YAML parser failed") {
			t.Fatalf("the YAML parser panicked on %q", readme)
		}
	}
	md := rep.Summary() + "\n" + rep.Markdown()
	for _, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "/") || strings.HasPrefix(trimmed, "@") {
			t.Fatalf("report line starts a command or mention: %q", line)
		}
		if strings.HasPrefix(line, "| ") && strings.Count(line, "|") != 6 {
			t.Fatalf("report row does not have five cells: %q", line)
		}
	}
	if strings.Contains(md, "@") {
		t.Fatalf("report contains a raw @: %q", md)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, r := range text.String() {
		if r < 0x20 && r != '\n' {
			t.Fatalf("text report holds control character %U", r)
		}
	}
	if asciiOracleApplies(readme) {
		checkAgainstHubPattern(t, readme)
	}
}

// FuzzCheck feeds whole README files.
func FuzzCheck(f *testing.F) {
	addSeeds(f, func(s string) string { return "---\n" + s + "\n---\n" })
	f.Fuzz(func(t *testing.T, readme string) {
		checkInvariants(t, readme)
	})
}

// FuzzFrontMatterYAML feeds metadata blocks, so the fuzzer spends its time
// in the YAML handling rather than in finding the delimiters.
func FuzzFrontMatterYAML(f *testing.F) {
	wrap := func(s string) string { return "---\n" + s + "\n---\n\nText.\n" }
	addSeeds(f, wrap)
	f.Fuzz(func(t *testing.T, yaml string) {
		if strings.Contains(yaml, "\n---") || strings.Contains(yaml, "\r---") {
			// That would end the block early: FuzzCheck covers it.
			return
		}
		checkInvariants(t, wrap(yaml))
	})
}
