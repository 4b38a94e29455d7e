package modelcard

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"

	"github.com/hubbot/hubbot/actions"
)

// --- the card body -----------------------------------------------------------

// placeholders are phrases the card templates and generators leave behind
// (huggingface_hub's model card template, transformers' Trainer cards) for
// the author to replace.
func placeholders() []string {
	return []string{
		"[More Information Needed]",
		"More information needed",
		"This model card has been automatically generated",
		"<!-- Provide a quick summary of what the model is/does. -->",
	}
}

// htmlComment matches HTML comments, which the Hub does not show.
var htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)

func (c *checker) checkBody() {
	if c.readme == nil {
		return
	}
	body := c.fm.body
	bodyOff := len(c.readme) - len(body)
	visible := htmlComment.ReplaceAll(body, nil)
	// A Space's page is its app, not its README, so a Space card with
	// nothing but metadata is normal.
	if len(bytes.TrimSpace(visible)) == 0 && c.typ != Space {
		at := c.fm.close
		if !c.fm.found {
			at = Pos{1, 1}
		}
		c.add(checkBodyEmpty, "", at,
			fmt.Sprintf("the card has no text after the metadata: the %s page shows an empty card", c.typ.noun()),
			fmt.Sprintf("describe the %s: %s", c.typ.noun(), c.describeWhat()))
		return
	}
	var prose []byte // the body with code blocks blanked, made when first needed
	for _, ph := range placeholders() {
		if !bytes.Contains(body, []byte(ph)) {
			continue
		}
		if prose == nil {
			prose = withoutCode(body)
		}
		first := bytes.Index(prose, []byte(ph))
		if first < 0 {
			continue
		}
		n := bytes.Count(prose, []byte(ph))
		times := ""
		if n > 1 {
			times = fmt.Sprintf(" (%d times; the first is here)", n)
		}
		c.add(checkBodyPlaceholder, "", posAt(c.readme, bodyOff+first),
			fmt.Sprintf("the card still contains the template text `%s`%s", ph, times),
			"replace the template text with real information, or remove the sections you cannot fill")
	}
}

// describeWhat is what a card of the checker's type should tell readers.
func (c *checker) describeWhat() string {
	if c.typ == Dataset {
		return "what it contains, how it was collected, how to load it, its limitations"
	}
	return "what it does, how it was trained, how to use it, its limitations"
}

// withoutCode returns a copy of a markdown body whose fenced and indented
// code blocks are blanked out (same length, so offsets still map to
// positions). Template text quoted in a code block, such as a card that
// documents another card, is an example and not a leftover. The blocks are
// found by a CommonMark parser rather than by hand, because whether an
// indented line is code depends on the lists and quotes around it.
func withoutCode(body []byte) []byte {
	out := bytes.Clone(body)
	if len(body) > maxParsedBody || containerDepth(body) > maxContainerDepth {
		// The parser's cost grows faster than the text on deeply nested
		// quotes and lists; no real card is this long or nests this deep,
		// so one that does is searched as plain text rather than parsed.
		return out
	}
	doc := blockParser().Parse(text.NewReader(body))
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case ast.KindFencedCodeBlock, ast.KindCodeBlock:
			lines := n.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				for j := max(seg.Start, 0); j < seg.Stop && j < len(out); j++ {
					if out[j] != '\n' && out[j] != '\r' {
						out[j] = 0
					}
				}
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return out
}

// maxParsedBody bounds the body handed to the markdown parser. Real card
// bodies are tens of kilobytes.
const maxParsedBody = 256 << 10

// maxContainerDepth bounds the nesting of block quotes and list items in a
// body handed to the markdown parser.
const maxContainerDepth = 16

// blockParser is a CommonMark parser for block structure only: code blocks
// are blocks, so inline parsing (emphasis, links), the costly part on
// hostile text, is left out.
func blockParser() parser.Parser {
	return parser.NewParser(parser.WithBlockParsers(parser.DefaultBlockParsers()...))
}

// containerDepth measures, in one pass, the deepest nesting of block
// quote and list markers at the start of a line.
func containerDepth(body []byte) int {
	deepest := 0
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		depth, i := 0, 0
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		for i < len(line) {
			switch {
			case line[i] == '>':
				i++
			case (line[i] == '-' || line[i] == '+' || line[i] == '*') && i+1 < len(line) && (line[i+1] == ' ' || line[i+1] == '\t'):
				i += 2
			case line[i] >= '0' && line[i] <= '9':
				j := i
				for j < len(line) && j-i < 10 && line[j] >= '0' && line[j] <= '9' {
					j++
				}
				if j+1 < len(line) && (line[j] == '.' || line[j] == ')') && (line[j+1] == ' ' || line[j+1] == '\t') {
					i = j + 2
				} else {
					i = len(line)
					continue
				}
			default:
				i = len(line)
				continue
			}
			depth++
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
		}
		deepest = max(deepest, depth)
	}
	return deepest
}

// --- the repo's files ----------------------------------------------------------

// nonWeightBin names .bin files that hold no model weights: trainer state,
// or formats that are not pickles.
func nonWeightBin(name string) bool {
	lower := strings.ToLower(name)
	switch {
	case lower == "training_args.bin", strings.HasPrefix(lower, "optimizer"), strings.HasPrefix(lower, "scheduler"),
		strings.HasPrefix(lower, "rng_state"), strings.HasPrefix(lower, "ggml"), strings.HasSuffix(lower, "_args.bin"):
		return true
	}
	return false
}

// libraryFromFiles guesses the library from files it writes.
func (c *checker) libraryFromFiles() string {
	has := func(p string) bool { _, ok := c.byPath[p]; return ok }
	switch {
	case has("adapter_config.json"):
		return "peft"
	case has("config_sentence_transformers.json") || has("modules.json"):
		return "sentence-transformers"
	case has("model_index.json"):
		return "diffusers"
	case has("config.json") && c.hasWeights():
		return "transformers"
	}
	return ""
}

func (c *checker) hasWeights() bool {
	for _, f := range c.files {
		switch path.Ext(f.Path) {
		case ".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt", ".onnx", ".gguf":
			if path.Ext(f.Path) != ".bin" || !nonWeightBin(path.Base(f.Path)) {
				return true
			}
		}
	}
	return false
}

func (c *checker) hasExt(ext string) bool {
	for _, f := range c.files {
		if path.Ext(f.Path) == ext {
			return true
		}
	}
	return false
}

func (c *checker) checkFiles() {
	library := ""
	libPos := c.fm.open
	if v := c.meta.get("library_name"); v != nil && v.kind == kindString {
		library, libPos = v.text, v.pos
	}
	c.checkWeights(library)
	if c.meta == nil {
		return
	}
	has := func(p string) bool { _, ok := c.byPath[p]; return ok }

	if library == "transformers" && !has("config.json") {
		fix := "add the model's config.json (save_pretrained writes it), or set the library that loads the model"
		switch {
		case has("adapter_config.json"):
			fix = "this is an adapter: set `library_name: peft`"
		case c.hasExt(".gguf"):
			fix = "GGUF files are not loaded by transformers: remove library_name (the Hub detects GGUF itself)"
		}
		c.add(checkTransformersConfig, "library_name", libPos,
			"`library_name: transformers` but the repo has no config.json, so transformers cannot load the model and the Hub cannot tell its architecture",
			fix)
	}

	guessed := c.libraryFromFiles()
	if library == "" && guessed != "" && c.meta.get("library_name") == nil {
		c.add(checkLibraryMissing, "library_name", c.fm.open,
			fmt.Sprintf("no `library_name`; the files are those of a `%s` model, but the Hub no longer infers the library, so the page has no usage snippet", guessed),
			fmt.Sprintf("add `library_name: %s`", guessed))
	}
	if library == "" {
		library = guessed
	}

	if c.meta.get("pipeline_tag") == nil && !c.taskInferable(library) {
		why := "the Hub cannot infer the task"
		if library == "peft" {
			why = "the Hub does not infer the task of an adapter"
		}
		c.add(checkPipelineMissing, "pipeline_tag", c.fm.open,
			fmt.Sprintf("no `pipeline_tag` and %s, so the model is not listed under any task and gets no widget", why),
			"add `pipeline_tag:` with the model's task, such as `text-generation`")
	}
}

// taskInferable reports whether the Hub works out the task itself: from the
// architecture in config.json for transformers, from the pipeline files for
// diffusers and sentence-transformers, from the file format for GGUF.
func (c *checker) taskInferable(library string) bool {
	_, hasConfig := c.byPath["config.json"]
	switch library {
	case "transformers", "timm":
		return hasConfig
	case "diffusers", "sentence-transformers":
		return true
	}
	return c.hasExt(".gguf")
}

// checkWeights flags pickle weights with no safetensors beside them. The
// sizes come from the LFS pointers: nothing is downloaded.
func (c *checker) checkWeights(library string) {
	if library == "fasttext" {
		return // fastText's .bin files are its own format, not pickles
	}
	safeDirs := make(map[string]bool)
	for _, f := range c.files {
		if path.Ext(f.Path) == ".safetensors" {
			safeDirs[path.Dir(f.Path)] = true
		}
	}
	var bins []File
	var total int64
	for _, f := range c.files {
		if path.Ext(f.Path) != ".bin" || nonWeightBin(path.Base(f.Path)) || safeDirs[path.Dir(f.Path)] {
			continue
		}
		bins = append(bins, f)
		total += f.Size
	}
	if len(bins) == 0 {
		return
	}
	sort.Slice(bins, func(i, j int) bool { return bins[i].Path < bins[j].Path })
	what := fmt.Sprintf("`%s`", sanitize(bins[0].Path, 80))
	if len(bins) > 1 {
		what = fmt.Sprintf("%d files such as `%s`", len(bins), sanitize(bins[0].Path, 80))
	}
	c.add(checkWeightsBinOnly, "", Pos{},
		fmt.Sprintf("the weights are only in pickle .bin files (%s, %s) with no safetensors beside them: loading a pickle can run code, and many tools now refuse it", what, actions.FormatSize(total)),
		"convert them to safetensors with hubbot's safetensors action (`uses = \"safetensors\"`) or `hubbot convert SRC DST`")
}
