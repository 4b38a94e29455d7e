package modelcard

import (
	_ "embed"
	"sort"
	"strings"
)

// The Hub's vocabularies ship with the binary as plain text snapshots, each
// with a header naming its source and when it was taken, so a check never
// needs the network and a refresh is a one-file diff.
var (
	//go:embed licenses.txt
	licensesText string
	//go:embed pipeline_tags.txt
	pipelineTagsText string
	//go:embed libraries.txt
	librariesText string
)

// librariesSnapshot is the date of the huggingface.js commit libraries.txt
// was taken from; messages name it so a reader knows how fresh the list is.
const librariesSnapshot = "2026-08-21"

// vocab is a set of identifiers read from one embedded list.
type vocab struct {
	set    map[string]bool
	sorted []string
}

func parseVocab(text string) vocab {
	v := vocab{set: make(map[string]bool)}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !v.set[line] {
			v.set[line] = true
			v.sorted = append(v.sorted, line)
		}
	}
	sort.Strings(v.sorted)
	return v
}

func (v vocab) has(s string) bool { return v.set[s] }

// closest returns the entry nearest to s when it is close enough to be what
// the author meant: the same up to case and separators, or within a small
// edit distance. It returns "" when nothing is close.
func (v vocab) closest(s string) string {
	if s == "" || len(s) > 100 {
		return ""
	}
	folded := foldID(s)
	for _, w := range v.sorted {
		if foldID(w) == folded {
			return w
		}
	}
	best, bestDist := "", 3
	if len(s) <= 4 {
		bestDist = 2
	}
	lower := strings.ToLower(s)
	for _, w := range v.sorted {
		if d := editDistance(lower, w, bestDist); d < bestDist {
			best, bestDist = w, d
		}
	}
	return best
}

// foldID removes what authors most often get wrong in identifiers: case and
// the choice of separator.
func foldID(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', ' ', '.':
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// editDistance is the Levenshtein distance between a and b, or max when it
// is at least max (the caller only cares about small distances).
func editDistance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= max {
			return max
		}
		prev, cur = cur, prev
	}
	return min(prev[len(rb)], max)
}

// vocabularies holds the parsed lists; built once per Action (or per Check
// call) rather than kept in package state.
type vocabularies struct {
	licenses  vocab
	pipelines vocab
	libraries vocab
}

func loadVocabularies() *vocabularies {
	return &vocabularies{
		licenses:  parseVocab(licensesText),
		pipelines: parseVocab(pipelineTagsText),
		libraries: parseVocab(librariesText),
	}
}
