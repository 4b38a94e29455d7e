package modelcard

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Limits on the front matter, which is attacker-controlled. Real cards,
// even those with hundreds of evaluation results, stay far below them, and
// they are low enough that a hostile card costs well under a second.
const (
	// MaxFrontMatterBytes bounds the YAML block before it is parsed.
	MaxFrontMatterBytes = 1 << 20
	// MaxDepth bounds the nesting of collections: the YAML parser recurses
	// once per level and its cost grows faster than linearly with depth.
	MaxDepth = 64
	// MaxKeysPerMapping bounds the keys of one block mapping: the parser's
	// cost is quadratic in it (100,000 keys take tens of seconds).
	MaxKeysPerMapping = 2000
	// MaxEmptyValueWork bounds empty values times tokens: the parser
	// copies the rest of its token slice for every empty value it fills in,
	// so 100,000 bare "-" lines would take hours. Real cards have a few
	// empty values and a few thousand tokens, far below it.
	MaxEmptyValueWork = 50_000_000
	// MaxNodes bounds the document once aliases are expanded. Aliases are
	// never copied (an alias shares its anchor's node), but every alias use
	// counts the full size of what it refers to, so a "billion laughs" card
	// is refused after a million nodes instead of being walked.
	MaxNodes = 1_000_000
)

// kind is the type of a YAML value.
type kind int

const (
	kindNull kind = iota
	kindBool
	kindInt
	kindFloat
	kindString
	kindMap
	kindSeq
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "empty"
	case kindBool:
		return "a boolean"
	case kindInt:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindString:
		return "a string"
	case kindMap:
		return "a mapping"
	case kindSeq:
		return "a list"
	}
	return "unknown"
}

// node is a YAML value with its position in README.md. It is built from the
// parser's AST rather than from a decoded map so that every value keeps its
// line and column and a mapping keeps every key, duplicates included.
type node struct {
	kind   kind
	pos    Pos
	text   string // scalars: the string value, or the source text of a non-string
	plain  bool   // scalars: written without quotes or block indicators
	items  []*node
	pairs  []pair
	weight int  // nodes in this value with aliases expanded
	broken bool // stands for a value that could not be built (already reported)
}

// pair is one entry of a mapping.
type pair struct {
	key    string
	keyPos Pos
	val    *node
	merged bool // came from a << merge key
}

// get returns the value of key, the last one when the key is repeated (as
// the YAML loaders the Hub's tools use do), or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindMap {
		return nil
	}
	for i := len(n.pairs) - 1; i >= 0; i-- {
		if n.pairs[i].key == key {
			return n.pairs[i].val
		}
	}
	return nil
}

// getPair is get with the key's position.
func (n *node) getPair(key string) (pair, bool) {
	if n == nil || n.kind != kindMap {
		return pair{}, false
	}
	for i := len(n.pairs) - 1; i >= 0; i-- {
		if n.pairs[i].key == key {
			return n.pairs[i], true
		}
	}
	return pair{}, false
}

func (n *node) isScalar() bool {
	return n != nil && n.kind != kindMap && n.kind != kindSeq
}

// yamlProblem is something wrong with the YAML itself, found while parsing.
type yamlProblem struct {
	check string
	field string
	pos   Pos
	msg   string
	fix   string
}

// parsed is the outcome of parsing the front matter.
type parsed struct {
	root     *node         // nil when the block does not parse
	problems []yamlProblem // syntax errors, limits, duplicate keys, tags
}

// parseFrontMatter parses the YAML block of fm. A block that cannot be
// parsed gives a nil root and at least one problem.
func parseFrontMatter(fm frontMatter) (out parsed) {
	if len(fm.yaml) > MaxFrontMatterBytes {
		out.problems = append(out.problems, yamlProblem{
			check: checkYAMLLimits, pos: fm.open,
			msg: fmt.Sprintf("the metadata block is %d bytes, over hubbot's limit of %d", len(fm.yaml), MaxFrontMatterBytes),
			fix: "move long content (evaluation tables, prose) into the card body",
		})
		return out
	}
	src := string(normalizeBreaks(fm.yaml))
	// The parser is third-party code fed hostile input; a panic in it must
	// become a finding, not take the worker down.
	defer func() {
		if r := recover(); r != nil {
			out.root = nil
			out.problems = append(out.problems, yamlProblem{
				check: checkYAMLSyntax, pos: fm.open,
				msg: "the YAML parser failed on this metadata block",
				fix: "simplify the YAML; hubbot could not read it",
			})
		}
	}()

	tokens := lexer.Tokenize(src)
	if tk := tokens.InvalidToken(); tk != nil {
		out.problems = append(out.problems, syntaxProblem(fm, tk, tk.Error))
		return out
	}
	if p, ok := checkShape(fm, tokens); !ok {
		out.problems = append(out.problems, p)
		return out
	}
	file, err := parser.Parse(tokens, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		out.problems = append(out.problems, parseErrorProblem(fm, err))
		return out
	}
	var docs []*ast.DocumentNode
	for _, d := range file.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) > 1 {
		at := tokenPos(fm, docs[1].Start, tokenPos(fm, docs[1].Body.GetToken(), fm.yamlStart))
		if docs[0].End != nil {
			at = tokenPos(fm, docs[0].End, at)
		}
		out.problems = append(out.problems, yamlProblem{
			check: checkYAMLSyntax, pos: at,
			msg: "the metadata block holds more than one YAML document (a \"---\" or \"...\" line inside it)",
			fix: "keep one document between the two \"---\" lines",
		})
		return out
	}
	if len(docs) == 0 {
		out.root = &node{kind: kindNull, pos: fm.yamlStart, weight: 1}
		return out
	}
	b := &builder{fm: fm, anchors: make(map[string]*node)}
	root, err := b.build(docs[0].Body, 0)
	out.problems = append(out.problems, b.problems...)
	if err != nil {
		out.problems = append(out.problems, yamlProblem{check: checkYAMLLimits, pos: b.errPos, msg: err.Error(),
			fix: "write the values out instead of nesting or aliasing them this much"})
		return out
	}
	out.root = root
	return out
}

func syntaxProblem(fm frontMatter, tk *token.Token, msg string) yamlProblem {
	return yamlProblem{
		check: checkYAMLSyntax, pos: tokenPos(fm, tk, fm.yamlStart),
		msg: "YAML syntax error: " + oneLine(msg),
		fix: "fix the YAML at this position; the Hub rejects a push whose metadata does not parse",
	}
}

// parseErrorProblem turns a parser error into a finding. The error's own
// text quotes the source, which is the card's content, so only its message
// and position are kept.
func parseErrorProblem(fm frontMatter, err error) yamlProblem {
	type tokenError interface {
		GetToken() *token.Token
		GetMessage() string
	}
	var te tokenError
	if errors.As(err, &te) {
		return syntaxProblem(fm, te.GetToken(), te.GetMessage())
	}
	return yamlProblem{check: checkYAMLSyntax, pos: fm.yamlStart, msg: "YAML syntax error",
		fix: "fix the YAML; the Hub rejects a push whose metadata does not parse"}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return sanitize(s, 160)
}

func tokenPos(fm frontMatter, tk *token.Token, fallback Pos) Pos {
	if tk == nil || tk.Position == nil || tk.Position.Line < 1 {
		return fallback
	}
	return fm.shift(tk.Position.Line, tk.Position.Column)
}

// checkShape measures, from the token stream and in one linear pass, the
// three things that make the YAML parser superlinear, before the parser
// sees the tokens: nesting depth, keys per block mapping, and empty values
// (the parser inserts a token into its token slice for each, a copy of the
// rest of the slice). It over-estimates rather than under-estimates: a
// false alarm needs a card no human writes.
func checkShape(fm frontMatter, all token.Tokens) (yamlProblem, bool) {
	type frame struct {
		col   int
		isSeq bool
		keys  int
	}
	tokens := make([]*token.Token, 0, len(all))
	for _, tk := range all {
		if tk.Type != token.CommentType {
			tokens = append(tokens, tk)
		}
	}
	line := func(tk *token.Token) int {
		if tk == nil || tk.Position == nil {
			return 0
		}
		return tk.Position.Line
	}
	column := func(tk *token.Token) int {
		if tk == nil || tk.Position == nil {
			return 0
		}
		return tk.Position.Column
	}
	// emptyAfter reports whether a block ":" of a key at column col on line
	// ln is followed by no value: nothing, a document marker, or a token on
	// a later line that is not indented under the key (a "-" in the key's
	// column starts its value).
	emptyAfter := func(next *token.Token, ln, col int) bool {
		if next == nil || next.Type == token.DocumentHeaderType || next.Type == token.DocumentEndType {
			return true
		}
		nc := column(next)
		return line(next) > ln && (nc < col || (nc == col && next.Type != token.SequenceEntryType))
	}
	var stack []frame
	var flows []bool // innermost last; true for a flow mapping
	empties := 0
	for i, tk := range tokens {
		var prev, next *token.Token
		if i > 0 {
			prev = tokens[i-1]
		}
		if i+1 < len(tokens) {
			next = tokens[i+1]
		}
		col := column(tk)
		// A finding about a key points at the key, not at its colon.
		at := tk
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flows = append(flows, tk.Type == token.MappingStartType)
		case token.SequenceEndType, token.MappingEndType:
			if len(flows) > 0 {
				flows = flows[:len(flows)-1]
			}
		case token.TagType:
			empties++ // a tag may stand alone, with an empty value inserted
		case token.SequenceEntryType:
			if len(flows) == 0 {
				for len(stack) > 0 && stack[len(stack)-1].col > col {
					stack = stack[:len(stack)-1]
				}
				if n := len(stack); n == 0 || stack[n-1].col != col || !stack[n-1].isSeq {
					stack = append(stack, frame{col: col, isSeq: true})
				}
				if next == nil || next.Type == token.DocumentHeaderType || next.Type == token.DocumentEndType ||
					(line(next) > line(tk) && column(next) <= col) {
					empties++
				}
			}
		case token.MappingValueType, token.MappingKeyType:
			if len(flows) > 0 {
				if next == nil || next.Type == token.CollectEntryType || next.Type == token.MappingEndType || next.Type == token.SequenceEndType {
					empties++
				}
				break
			}
			keyCol := col
			if tk.Type == token.MappingValueType && prev != nil && prev.Position != nil {
				keyCol, at = column(prev), prev
			}
			for len(stack) > 0 {
				top := stack[len(stack)-1]
				if top.col > keyCol || (top.col == keyCol && top.isSeq) {
					stack = stack[:len(stack)-1]
					continue
				}
				break
			}
			if n := len(stack); n > 0 && stack[n-1].col == keyCol {
				stack[n-1].keys++
			} else {
				stack = append(stack, frame{col: keyCol, keys: 1})
			}
			if k := stack[len(stack)-1].keys; k > MaxKeysPerMapping {
				return yamlProblem{check: checkYAMLLimits, pos: tokenPos(fm, at, fm.yamlStart),
					msg: fmt.Sprintf("a mapping here has more than %d keys, over hubbot's limit", MaxKeysPerMapping),
					fix: "split the data or move it out of the metadata"}, false
			}
			if tk.Type == token.MappingValueType && emptyAfter(next, line(tk), keyCol) {
				empties++
			}
		default:
			// A key with no colon in a flow mapping ({a, b}) gets an empty
			// value.
			if n := len(flows); n > 0 && flows[n-1] && prev != nil &&
				(prev.Type == token.MappingStartType || prev.Type == token.CollectEntryType) &&
				next != nil && (next.Type == token.CollectEntryType || next.Type == token.MappingEndType) {
				empties++
			}
		}
		if depth := len(stack) + len(flows); depth > MaxDepth {
			return yamlProblem{check: checkYAMLLimits, pos: tokenPos(fm, at, fm.yamlStart),
				msg: fmt.Sprintf("the metadata is nested more than %d levels deep, over hubbot's limit", MaxDepth),
				fix: "flatten the structure"}, false
		}
	}
	if empties > 0 && empties*len(tokens) > MaxEmptyValueWork {
		return yamlProblem{check: checkYAMLLimits, pos: fm.open,
			msg: fmt.Sprintf("the metadata has %d empty values, too many for its size (%d tokens) to parse within hubbot's limits", empties, len(tokens)),
			fix: "remove the empty entries (`key:` or `-` with nothing after them)"}, false
	}
	return yamlProblem{}, true
}

// builder converts the parser's AST into nodes, resolving anchors, aliases
// and merge keys, and notes duplicate keys and unknown tags on the way.
type builder struct {
	fm       frontMatter
	anchors  map[string]*node
	total    int
	problems []yamlProblem
	errPos   Pos
}

func (b *builder) pos(n ast.Node) Pos {
	if n == nil {
		return b.fm.yamlStart
	}
	return tokenPos(b.fm, n.GetToken(), b.fm.yamlStart)
}

func (b *builder) count(n int, at Pos) error {
	b.total += n
	if b.total > MaxNodes {
		b.errPos = at
		return fmt.Errorf("aliases expand the metadata to more than %d values, over hubbot's limit", MaxNodes)
	}
	return nil
}

func (b *builder) build(n ast.Node, depth int) (*node, error) {
	if depth > 2*MaxDepth {
		// checkShape bounds depth from tokens; this guards the recursion
		// here should the two ever disagree.
		b.errPos = b.pos(n)
		return nil, fmt.Errorf("the metadata is nested more than %d levels deep, over hubbot's limit", MaxDepth)
	}
	switch v := n.(type) {
	case nil:
		return &node{kind: kindNull, pos: b.fm.yamlStart, weight: 1}, b.count(1, b.fm.yamlStart)
	case *ast.DocumentNode:
		return b.build(v.Body, depth)
	case *ast.CommentNode, *ast.CommentGroupNode:
		return &node{kind: kindNull, pos: b.pos(v), weight: 1}, b.count(1, b.pos(v))
	case *ast.AnchorNode:
		val, err := b.build(v.Value, depth)
		if err != nil {
			return nil, err
		}
		if v.Name != nil {
			if tk := v.Name.GetToken(); tk != nil {
				b.anchors[tk.Value] = val
			}
		}
		return val, nil
	case *ast.AliasNode:
		name := ""
		if v.Value != nil && v.Value.GetToken() != nil {
			name = v.Value.GetToken().Value
		}
		target, ok := b.anchors[name]
		if !ok {
			b.problems = append(b.problems, yamlProblem{check: checkYAMLSyntax, pos: b.pos(v),
				msg: fmt.Sprintf("alias `*%s` refers to no anchor defined before it", sanitize(name, 40)),
				fix: "define the anchor (&name) before using it, or write the value out"})
			return &node{kind: kindNull, pos: b.pos(v), weight: 1, broken: true}, b.count(1, b.pos(v))
		}
		return target, b.count(target.weight, b.pos(v))
	case *ast.TagNode:
		return b.buildTagged(v, depth)
	case *ast.MappingNode:
		return b.buildMap(v.Values, b.mapPos(v), depth)
	case *ast.MappingValueNode:
		return b.buildMap([]*ast.MappingValueNode{v}, b.pos(v.Key), depth)
	case *ast.SequenceNode:
		out := &node{kind: kindSeq, pos: b.seqPos(v), weight: 1}
		for _, item := range v.Values {
			c, err := b.build(item, depth+1)
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, c)
			out.weight += c.weight
		}
		return out, b.count(1, out.pos)
	case *ast.MappingKeyNode:
		return b.build(v.Value, depth)
	default:
		out := b.scalar(n)
		return out, b.count(1, out.pos)
	}
}

func (b *builder) mapPos(m *ast.MappingNode) Pos {
	if m.IsFlowStyle || len(m.Values) == 0 || m.Values[0].Key == nil {
		return tokenPos(b.fm, m.Start, b.fm.yamlStart)
	}
	return b.pos(m.Values[0].Key)
}

func (b *builder) seqPos(s *ast.SequenceNode) Pos {
	return tokenPos(b.fm, s.Start, b.fm.yamlStart)
}

// scalar converts a leaf value. Anything the switch does not know (a
// directive, a future node type) becomes its source text.
func (b *builder) scalar(n ast.Node) *node {
	out := &node{pos: b.pos(n), weight: 1, plain: true}
	tk := n.GetToken()
	if tk != nil {
		out.text = tk.Value
		if tk.Type == token.SingleQuoteType || tk.Type == token.DoubleQuoteType {
			out.plain = false
		}
	}
	switch v := n.(type) {
	case *ast.NullNode:
		out.kind = kindNull
	case *ast.BoolNode:
		out.kind = kindBool
	case *ast.IntegerNode:
		out.kind = kindInt
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		out.kind = kindFloat
	case *ast.StringNode:
		out.kind = kindString
		out.text = v.Value
	case *ast.LiteralNode:
		out.kind = kindString
		out.plain = false
		if v.Value != nil {
			out.text = v.Value.Value
		}
	default:
		out.kind = kindString
	}
	return out
}

// standardTag reports whether tag is one every YAML loader resolves, and
// the kind it gives. Anything else (!!python/object, !custom) is refused by
// the safe loaders model card tools use.
func standardTag(tag string) (kind, bool) {
	switch tag {
	case "!!str", "!!binary", "!!timestamp":
		return kindString, true
	case "!!int":
		return kindInt, true
	case "!!float":
		return kindFloat, true
	case "!!bool":
		return kindBool, true
	case "!!null":
		return kindNull, true
	case "!!map", "!!set":
		return kindMap, true
	case "!!seq", "!!omap", "!!pairs":
		return kindSeq, true
	}
	return kindNull, false
}

func (b *builder) buildTagged(v *ast.TagNode, depth int) (*node, error) {
	tag := ""
	if v.Start != nil {
		tag = v.Start.Value
	}
	val, err := b.build(v.Value, depth)
	if err != nil {
		return nil, err
	}
	k, known := standardTag(tag)
	if !known {
		b.problems = append(b.problems, yamlProblem{check: checkYAMLTag, pos: tokenPos(b.fm, v.Start, b.pos(v)),
			msg: fmt.Sprintf("YAML tag `%s` is not a standard tag; safe YAML loaders refuse it", sanitize(tag, 40)),
			fix: "remove the tag and write a plain value"})
		return val, nil
	}
	if k == kindString && val.isScalar() {
		// !!str makes the source text a string, whatever it looks like.
		c := *val
		c.kind, c.plain = kindString, false
		return &c, nil
	}
	return val, nil
}

func (b *builder) buildMap(values []*ast.MappingValueNode, at Pos, depth int) (*node, error) {
	out := &node{kind: kindMap, pos: at, weight: 1}
	seen := make(map[string]Pos)
	var merges []*node
	for _, mv := range values {
		if mv == nil {
			continue
		}
		if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge {
			src, err := b.build(mv.Value, depth+1)
			if err != nil {
				return nil, err
			}
			merges = append(merges, src)
			continue
		}
		key, keyPos := b.key(mv.Key)
		val, err := b.build(mv.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[key]; dup {
			b.problems = append(b.problems, yamlProblem{check: checkDuplicateKey, field: sanitize(key, 40), pos: keyPos,
				msg: fmt.Sprintf("key `%s` is repeated (first at line %d); YAML loaders either refuse the card or keep only the last value", sanitize(key, 60), first.Line),
				fix: "keep one of the two entries"})
		} else {
			seen[key] = keyPos
		}
		out.pairs = append(out.pairs, pair{key: key, keyPos: keyPos, val: val})
		out.weight += val.weight
	}
	// Merged keys never override keys written in the mapping itself, and an
	// earlier merge source wins over a later one, as YAML's merge key says.
	for _, src := range merges {
		sources := []*node{src}
		if src.kind == kindSeq {
			sources = src.items
		}
		for _, s := range sources {
			if s.kind != kindMap {
				b.problems = append(b.problems, yamlProblem{check: checkYAMLSyntax, pos: s.pos,
					msg: "a << merge key needs a mapping or a list of mappings",
					fix: "merge only anchors of mappings"})
				continue
			}
			for _, p := range s.pairs {
				if _, dup := seen[p.key]; dup {
					continue
				}
				seen[p.key] = p.keyPos
				p.merged = true
				out.pairs = append(out.pairs, p)
				out.weight += p.val.weight
			}
		}
	}
	return out, b.count(1, at)
}

// key returns a mapping key as the string loaders use for it.
func (b *builder) key(k ast.MapKeyNode) (string, Pos) {
	if k == nil {
		return "", b.fm.yamlStart
	}
	var inner ast.Node = k
	for {
		switch v := inner.(type) {
		case *ast.MappingKeyNode:
			inner = v.Value
			continue
		case *ast.AnchorNode:
			inner = v.Value
			continue
		case *ast.TagNode:
			inner = v.Value
			continue
		}
		break
	}
	switch v := inner.(type) {
	case *ast.StringNode:
		return v.Value, b.pos(v)
	case nil:
		return "", b.pos(k)
	case *ast.MappingNode, *ast.SequenceNode, *ast.AliasNode:
		b.problems = append(b.problems, yamlProblem{check: checkYAMLSyntax, pos: b.pos(v),
			msg: "a mapping key must be a plain value, not a list, mapping or alias",
			fix: "use a string key"})
		return "", b.pos(v)
	default:
		if tk := inner.GetToken(); tk != nil {
			return tk.Value, b.pos(inner)
		}
		return "", b.pos(k)
	}
}
