package modelcard

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// Pos is a position in README.md: 1-based line and 1-based column counted
// in characters (Unicode code points), the way editors show it. Line breaks
// are \n, \r\n and a lone \r, as the Hub's front matter pattern counts them.
// The zero Pos means "no particular place".
type Pos struct {
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
}

// frontMatter is where the Hub finds the metadata in README.md.
//
// The Hub (and huggingface_hub, which mirrors it) takes the metadata from
// the first match of
//
//	^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))
//
// against the whole file: optional leading whitespace, a line that is exactly
// "---", the shortest text up to a line that is "---" plus optional blanks,
// ended by \n, \r\n or the end of the file (not by a lone \r). split
// reproduces that match by hand, including the backtracking case where the
// opening "---\r\n" gives its \n to an empty block.
type frontMatter struct {
	found bool
	bom   bool // the file starts with U+FEFF

	open      Pos    // the opening "---"
	yaml      []byte // the block between the delimiters, line breaks as in the file
	yamlStart Pos    // where the block's first line is
	close     Pos    // the closing "---"
	body      []byte // everything after the closing line
	bodyStart Pos

	// Problems that make the Hub miss a block the author meant to write.
	unclosed      bool // an opening "---" line and no closing one
	trailingOpen  bool // "--- " with blanks after the dashes on the opening line
	openCandidate Pos  // where the would-be opening line is
}

func splitFrontMatter(readme []byte) frontMatter {
	var fm frontMatter
	fm.bom = bytes.HasPrefix(readme, []byte("\uFEFF"))

	// \s* in the Hub's pattern: JavaScript's \s, which includes U+FEFF, so a
	// BOM does not hide the block from the Hub (it does from Python tools,
	// which the caller reports separately).
	i := 0
	for i < len(readme) {
		r, size := utf8.DecodeRune(readme[i:])
		if r != '\uFEFF' && !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	if !bytes.HasPrefix(readme[i:], []byte("---")) {
		fm.body, fm.bodyStart = readme, Pos{1, 1}
		return fm
	}
	dashes := i
	j := i + 3
	var openEnds []int // where the block may start, in the order the regex tries
	switch {
	case bytes.HasPrefix(readme[j:], []byte("\r\n")):
		openEnds = []int{j + 2, j + 1}
	case j < len(readme) && (readme[j] == '\n' || readme[j] == '\r'):
		openEnds = []int{j + 1}
	default:
		// "----" is a thematic break, not an attempt at front matter;
		// "---  " or "--- yaml" is one that the Hub will not see.
		k := j
		for k < len(readme) && (readme[k] == ' ' || readme[k] == '\t') {
			k++
		}
		if k > j && (k == len(readme) || readme[k] == '\n' || readme[k] == '\r') {
			fm.trailingOpen = true
			fm.openCandidate = posAt(readme, dashes)
		}
		fm.body, fm.bodyStart = readme, Pos{1, 1}
		return fm
	}
	for _, start := range openEnds {
		if end, closeAt, bodyAt, ok := findClose(readme, start); ok {
			fm.found = true
			fm.open = posAt(readme, dashes)
			fm.yaml = readme[start:end]
			fm.yamlStart = posAt(readme, start)
			fm.close = posAt(readme, closeAt)
			fm.body = readme[bodyAt:]
			fm.bodyStart = posAt(readme, bodyAt)
			return fm
		}
	}
	fm.unclosed = true
	fm.openCandidate = posAt(readme, dashes)
	fm.body, fm.bodyStart = readme, Pos{1, 1}
	return fm
}

// findClose looks for the first line break at or after start that is
// followed by "---", optional blanks and \n, \r\n or the end of the file. It
// returns where the block ends, where the closing dashes are and where the
// body starts.
func findClose(b []byte, start int) (end, closeAt, bodyAt int, ok bool) {
	for p := start; p < len(b); p++ {
		if b[p] != '\n' && b[p] != '\r' {
			continue
		}
		// The regex tries \r\n before \r at a \r; both are checked.
		breaks := []int{1}
		if b[p] == '\r' && p+1 < len(b) && b[p+1] == '\n' {
			breaks = []int{2, 1}
		}
		for _, n := range breaks {
			d := p + n
			if !bytes.HasPrefix(b[d:], []byte("---")) {
				continue
			}
			k := d + 3
			for k < len(b) && (b[k] == ' ' || b[k] == '\t') {
				k++
			}
			switch {
			case k == len(b):
				return p, d, k, true
			case b[k] == '\n':
				return p, d, k + 1, true
			case b[k] == '\r' && k+1 < len(b) && b[k+1] == '\n':
				return p, d, k + 2, true
			}
		}
	}
	return 0, 0, 0, false
}

// posAt converts a byte offset into a line and column.
func posAt(b []byte, off int) Pos {
	line, col := 1, 1
	for i := 0; i < off && i < len(b); {
		switch b[i] {
		case '\n':
			line, col = line+1, 1
			i++
		case '\r':
			line, col = line+1, 1
			i++
			if i < off && i < len(b) && b[i] == '\n' {
				i++
			}
		default:
			_, size := utf8.DecodeRune(b[i:])
			col++
			i += size
		}
	}
	return Pos{line, col}
}

// normalizeBreaks turns \r\n and lone \r into \n, which keeps every line
// number and column the same and gives the YAML parser one kind of break.
func normalizeBreaks(b []byte) []byte {
	if !bytes.ContainsRune(b, '\r') {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\r' {
			if i+1 < len(b) && b[i+1] == '\n' {
				continue
			}
			out = append(out, '\n')
			continue
		}
		out = append(out, b[i])
	}
	return out
}

// shift converts a position in the YAML block to one in README.md.
func (fm frontMatter) shift(line, col int) Pos {
	if line < 1 {
		return fm.yamlStart
	}
	if col < 1 {
		col = 1
	}
	return Pos{Line: fm.yamlStart.Line + line - 1, Column: col}
}
