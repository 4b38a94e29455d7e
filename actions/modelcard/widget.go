package modelcard

import (
	"fmt"
	"path"
	"strings"
)

// Widget examples (huggingface.js widget-example.ts): each is a mapping
// with one input shape, plus optional title, group, parameters and an
// expected output. An entry the widget does not understand is silently
// dropped by the Hub, so its shape is checked here.

// widgetFieldKind is the kind a widget example field takes; kindNull means
// the field is checked separately.
func widgetFieldKind(key string) (kind, bool) {
	switch key {
	case "text", "context", "prompt", "src", "candidate_labels", "source_sentence", "example_title", "group":
		return kindString, true
	case "multi_class":
		return kindBool, true
	case "sentences", "messages":
		return kindSeq, true
	case "table", "structured_data", "parameters", "output":
		return kindNull, true
	}
	return kindNull, false
}

func (c *checker) checkWidget(w *node) {
	const field = "widget"
	if w.kind != kindSeq {
		c.add(checkWidget, field, w.pos, fmt.Sprintf("`widget` must be a list of examples, not %s", w.kind),
			"write each example as `- text: …` (or `- src: …` for images and audio)")
		return
	}
	for i, ex := range w.items {
		c.checkWidgetExample(ex, indexField(field, i))
	}
}

func (c *checker) checkWidgetExample(ex *node, field string) {
	if ex.kind != kindMap {
		fix := "write the example as a mapping, such as `- text: …`"
		if ex.kind == kindString {
			fix = fmt.Sprintf("write `- text: %s`", sanitize(ex.text, 40))
		}
		c.add(checkWidget, field, ex.pos, fmt.Sprintf("a widget example must be a mapping, not %s", ex.kind), fix)
		return
	}
	allKeys := []string{"text", "context", "prompt", "src", "candidate_labels", "multi_class", "source_sentence",
		"sentences", "messages", "table", "structured_data", "example_title", "group", "parameters", "output"}
	keyVocab := parseVocab(strings.Join(allKeys, "\n"))
	for _, p := range ex.pairs {
		want, known := widgetFieldKind(p.key)
		f := joinField(field, p.key)
		if !known {
			fix := "remove it; the widget ignores it"
			switch k := strings.ToLower(p.key); {
			case k == "title" || k == "name":
				fix = "use `example_title`"
			case k == "input" || k == "inputs":
				fix = "use `text` (or `src` for a file)"
			case keyVocab.closest(p.key) != "":
				fix = fmt.Sprintf("did you mean `%s`?", keyVocab.closest(p.key))
			}
			c.add(checkWidget, f, p.keyPos, fmt.Sprintf("`%s` is not a widget example field", sanitize(p.key, 40)), fix)
			continue
		}
		v := p.val
		if want != kindNull && v.kind != want && !(want == kindString && v.isScalar() && v.kind != kindNull) {
			c.add(checkWidget, f, v.pos, fmt.Sprintf("`%s` must be %s, not %s", p.key, want, v.kind), "")
			continue
		}
		switch p.key {
		case "src":
			c.checkWidgetSrc(v, f, "src")
		case "sentences":
			for i, s := range v.items {
				if s.kind != kindString {
					c.add(checkWidget, indexField(f, i), s.pos, fmt.Sprintf("each sentence must be a string, not %s", s.kind), "")
				}
			}
		case "messages":
			c.checkWidgetMessages(v, f)
		case "table", "structured_data":
			c.checkWidgetTable(v, f)
		case "parameters":
			if v.kind != kindMap {
				c.add(checkWidget, f, v.pos, fmt.Sprintf("`parameters` must be a mapping, not %s", v.kind), "")
			}
		case "output":
			c.checkWidgetOutput(v, f)
		}
	}
	has := func(k string) bool { return ex.get(k) != nil }
	switch {
	case !has("text") && !has("src") && !has("messages") && !has("table") && !has("structured_data") && !has("source_sentence"):
		c.add(checkWidget, field, ex.pos,
			"this widget example has no input (`text`, `src`, `messages`, `table`, `structured_data` or `source_sentence`), so the widget cannot show it",
			"add the input the model takes, such as `text: …`")
	case has("source_sentence") != has("sentences"):
		c.add(checkWidget, field, ex.pos, "a sentence-similarity example needs both `source_sentence` and `sentences`", "add the missing one")
	case has("candidate_labels") && !has("text") && !has("src"):
		c.add(checkWidget, field, ex.pos, "a zero-shot example needs `text` or `src` with its `candidate_labels`", "add the input to classify")
	case has("context") && !has("text"):
		c.add(checkWidget, field, ex.pos, "a question-answering example needs the question in `text` with its `context`", "add `text:` with the question")
	}
}

// checkWidgetSrc checks that a relative src (or output url) names a file
// of the repo.
func (c *checker) checkWidgetSrc(v *node, field, name string) {
	src := strings.TrimSpace(v.text)
	if src == "" || strings.Contains(src, "://") || strings.HasPrefix(src, "data:") {
		return
	}
	rel := path.Clean(strings.TrimPrefix(strings.TrimPrefix(src, "./"), "/"))
	if _, ok := c.byPath[rel]; ok {
		return
	}
	fix := "commit the file or use a URL"
	if actual, ok := c.byLower[strings.ToLower(rel)]; ok {
		fix = fmt.Sprintf("the file is named `%s`; paths are case-sensitive", sanitize(actual, 80))
	}
	c.add(checkWidget, field, v.pos, fmt.Sprintf("`%s` points to `%s`, which is not in the repo", name, sanitize(rel, 80)), fix)
}

func (c *checker) checkWidgetMessages(v *node, field string) {
	for i, m := range v.items {
		f := indexField(field, i)
		if m.kind != kindMap {
			c.add(checkWidget, f, m.pos, fmt.Sprintf("a message must be a mapping with `role` and `content`, not %s", m.kind), "")
			continue
		}
		role := m.get("role")
		switch {
		case role == nil || role.kind != kindString:
			c.add(checkWidget, f, m.pos, "a message needs a `role` (`system`, `user` or `assistant`)", "")
		case role.text != "system" && role.text != "user" && role.text != "assistant" && role.text != "tool":
			c.add(checkWidget, f+".role", role.pos, fmt.Sprintf("`%s` is not a chat role", sanitize(role.text, 40)), "use `system`, `user` or `assistant`")
		}
		if content := m.get("content"); content == nil || (content.kind != kindString && content.kind != kindSeq) {
			c.add(checkWidget, f, m.pos, "a message needs a `content` string (or a list of content parts)", "")
		}
	}
}

func (c *checker) checkWidgetTable(v *node, field string) {
	if v.kind != kindMap {
		c.add(checkWidget, field, v.pos, fmt.Sprintf("a table must map column names to lists of cells, not be %s", v.kind), "")
		return
	}
	rows := -1
	for _, col := range v.pairs {
		f := joinField(field, col.key)
		if col.val.kind != kindSeq {
			c.add(checkWidget, f, col.val.pos, fmt.Sprintf("a table column must be a list of cells, not %s", col.val.kind), "")
			continue
		}
		if rows >= 0 && len(col.val.items) != rows {
			c.add(checkWidget, f, col.val.pos,
				fmt.Sprintf("this column has %d cells and an earlier one %d; every column needs the same number", len(col.val.items), rows), "")
		}
		if rows < 0 {
			rows = len(col.val.items)
		}
	}
}

func (c *checker) checkWidgetOutput(v *node, field string) {
	switch v.kind {
	case kindMap:
		// {text}, {answer, score} or {url}; a url may be a file of the repo.
		if u := v.get("url"); u != nil && u.kind == kindString {
			c.checkWidgetSrc(u, field+".url", "output.url")
			return
		}
		if v.get("text") != nil || v.get("url") != nil || (v.get("answer") != nil && v.get("score") != nil) {
			return
		}
	case kindSeq:
		// [{label, score}, …]
		ok := true
		for _, it := range v.items {
			if it.kind != kindMap || it.get("label") == nil || it.get("score") == nil {
				ok = false
			}
		}
		if ok {
			return
		}
	}
	c.add(checkWidget, field, v.pos, "`output` has an unknown shape",
		"use `{text: …}`, `{url: …}`, `{answer: …, score: …}` or a list of `{label: …, score: …}`")
}
