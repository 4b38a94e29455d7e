package modelcard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
)

// BenchmarkRunLargeLFSRepo checks a repo that stands for about 10 TB of
// weights: 2,000 shards of 5 GB held as LFS pointers, as a clone without
// LFS content has them. The cost depends on the number of files, never on
// their sizes, since only pointers are read.
func BenchmarkRunLargeLFSRepo(b *testing.B) {
	files := map[string]any{
		"README.md":   string(readCard(b, "llama-finetune.md")),
		"config.json": "{}", "tokenizer.json": "{}", "generation_config.json": "{}",
	}
	for i := 1; i <= 2000; i++ {
		files[fmt.Sprintf("model-%05d-of-02000.safetensors", i)] = int64(5_000_000_000 + i)
	}
	dir := writeRepo(b, files)
	a, err := New(nil)
	require.NoError(b, err)
	ws := &actions.Workspace{Dir: dir}
	b.ReportAllocs()
	for b.Loop() {
		res, err := a.Run(b.Context(), ws, discard{})
		if err != nil || res.Conclusion != actions.Success {
			b.Fatalf("run: %v %s %s", err, res.Conclusion, res.Details)
		}
	}
}

// BenchmarkCheckLargeModelIndex checks a card with an evaluation table of
// the size the largest embedding model cards carry (about 400 KiB).
func BenchmarkCheckLargeModelIndex(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("---\nlicense: mit\nlibrary_name: sentence-transformers\npipeline_tag: sentence-similarity\nlanguage: [en]\ndatasets: [mteb/stsbenchmark-sts]\nmodel-index:\n- name: m\n  results:\n")
	for i := 0; sb.Len() < 400<<10; i++ {
		fmt.Fprintf(&sb, "  - task:\n      type: Retrieval\n    dataset:\n      type: mteb/task-%d\n      name: MTEB Task %d\n      config: default\n      split: test\n      revision: b0fddb56ed78048fa8b90373c8a3cfc37b684831\n    metrics:\n    - type: ndcg_at_10\n      value: %d.%03d\n    - type: map_at_10\n      value: 41.2\n", i, i, i%100, i%1000)
	}
	sb.WriteString("---\n\nEmbeddings.\n")
	readme := []byte(sb.String())
	files := fileList("config.json", "modules.json", "model.safetensors=470637416")
	b.SetBytes(int64(len(readme)))
	b.ReportAllocs()
	for b.Loop() {
		if rep := Check(readme, files, Options{}); len(rep.Findings) != 0 {
			b.Fatalf("unexpected findings: %+v", rep.Findings[0])
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkCheckBodyShapes checks 256 KiB card bodies that end with
// template text, so the markdown parser runs over all of them: plain prose
// (the baseline) and the shapes that make CommonMark parsers slow (deep
// quotes, lists, staircases of nested lists, unclosed brackets, many
// fences). Compare each with the prose case.
func BenchmarkCheckBodyShapes(b *testing.B) {
	const size = 250 << 10
	fill := func(unit string) string { return strings.Repeat(unit, size/len(unit)) }
	stair := func(prefix func(i int) string) string {
		var sb strings.Builder
		for i := 0; sb.Len() < size; i++ {
			sb.WriteString(prefix(i) + "- item\n")
		}
		return sb.String()
	}
	shapes := []struct{ name, body string }{
		{"prose", fill("A sentence about the data, with some words in it.\n")},
		{"quotes", fill(">")},
		{"lists", fill("- ")},
		{"stair", stair(func(i int) string { return strings.Repeat(" ", i%30) })},
		{"quoted-stair", stair(func(i int) string { return strings.Repeat("> ", i%16) })},
		{"brackets", fill("[")},
		{"fences", fill("```\nx\n")},
	}
	for _, s := range shapes {
		readme := []byte("---\nlicense: mit\ntask_categories: [translation]\n---\n" + s.body + "\n\n[More Information Needed]\n")
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(readme)))
			for b.Loop() {
				CheckRepo(readme, nil, Dataset, Options{})
			}
		})
	}
}
