package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps every dotted key path of a TOML document to the line where it
// is set, so validation errors can name the line. Array tables count from 0:
// the second [[actions]] table's `uses` is "actions.1.uses". Array elements
// are indexed the same way ("repos.allow.2").
func keyLines(data []byte) (map[string]int, error) {
	lines := map[string]int{}
	arrays := map[string]int{} // array table path -> last index
	var p unstable.Parser
	p.Reset(data)
	prefix := ""
	for p.NextExpression() {
		expr := p.Expression()
		switch expr.Kind {
		case unstable.Table, unstable.ArrayTable:
			name, line := keyPath(&p, expr.Key())
			if expr.Kind == unstable.ArrayTable {
				idx, seen := arrays[name]
				if seen {
					idx++
				}
				arrays[name] = idx
				// Nested tables of the latest element, like [actions.with],
				// resolve below to "actions.N.with".
				name = fmt.Sprintf("%s.%d", name, idx)
			} else {
				name = resolveArrays(name, arrays)
			}
			prefix = name
			lines[name] = line
		case unstable.KeyValue:
			name, line := keyPath(&p, expr.Key())
			full := join(prefix, name)
			lines[full] = line
			recordValue(&p, expr.Value(), full, lines)
		}
	}
	if err := p.Error(); err != nil {
		var perr *unstable.ParserError
		if pe, ok := err.(*unstable.ParserError); ok {
			perr = pe
		}
		if perr != nil {
			shape := p.Shape(p.Range(perr.Highlight))
			return nil, &syntaxError{Line: shape.Start.Line, Column: shape.Start.Column, Msg: perr.Message}
		}
		return nil, err
	}
	return lines, nil
}

// resolveArrays rewrites "actions.with" as "actions.N.with" when "actions"
// is an array table whose latest element is N.
func resolveArrays(name string, arrays map[string]int) string {
	parts := strings.Split(name, ".")
	var out []string
	for i := range parts {
		out = append(out, parts[i])
		if idx, ok := arrays[strings.Join(out, ".")]; ok && i < len(parts)-1 {
			out = append(out, strconv.Itoa(idx))
		}
	}
	return strings.Join(out, ".")
}

func recordValue(p *unstable.Parser, v *unstable.Node, path string, lines map[string]int) {
	if v == nil {
		return
	}
	switch v.Kind {
	case unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); i++ {
			child := it.Node()
			key := fmt.Sprintf("%s.%d", path, i)
			if line := nodeLine(p, child); line > 0 {
				lines[key] = line
			}
			recordValue(p, child, key, lines)
		}
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			kv := it.Node()
			name, line := keyPath(p, kv.Key())
			full := join(path, name)
			lines[full] = line
			recordValue(p, kv.Value(), full, lines)
		}
	}
}

func keyPath(p *unstable.Parser, it unstable.Iterator) (string, int) {
	var parts []string
	line := 0
	for it.Next() {
		n := it.Node()
		parts = append(parts, string(n.Data))
		if line == 0 {
			line = nodeLine(p, n)
		}
	}
	return strings.Join(parts, "."), line
}

func nodeLine(p *unstable.Parser, n *unstable.Node) int {
	if n.Raw.Length == 0 && n.Raw.Offset == 0 {
		return 0
	}
	return p.Shape(n.Raw).Start.Line
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// syntaxError is a TOML syntax error at a position of the file; decode
// prefixes it with the file name as every config error reads.
type syntaxError struct {
	Line, Column int
	Msg          string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%d: %s (column %d)", e.Line, e.Msg, e.Column)
}
