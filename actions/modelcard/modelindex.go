package modelcard

import (
	"fmt"
	"strings"
)

// model-index holds evaluation results; the Hub type-checks it on push
// (hub-docs modelcard.md, huggingface.js ApiModelIndex):
//
//	model-index:
//	- name: <model id>
//	  results:
//	  - task: {type: <task id>, name: <optional>}
//	    dataset: {type: <dataset id>, name: <name>, config, split, revision: <strings>, args: {…}}
//	    metrics:
//	    - {type: <metric id>, value: <number or string>, name, config: <strings>, args: {…}, verifyToken, verified}
//	    source: {url: <required>, name: <optional>}

const rejects = "the Hub rejects the push"

func (c *checker) checkModelIndex(mi *node) {
	const field = "model-index"
	if mi.kind != kindSeq {
		c.add(checkModelIndex, field, mi.pos,
			fmt.Sprintf("`model-index` must be a list of models, not %s; %s", mi.kind, rejects),
			"write `model-index:` then `- name: <model id>` with its `results:` list")
		return
	}
	if len(mi.items) == 0 {
		c.add(checkModelIndex, field, mi.pos, "`model-index` is an empty list", "add results or remove model-index")
	}
	for i, m := range mi.items {
		mf := indexField(field, i)
		if !c.wantMap(m, mf, "a model with `name` and `results`") {
			continue
		}
		c.unknownKeys(m, mf, "name", "results")
		c.wantString(m, mf, "name", true, "the model's id or name")
		res, ok := c.requireValue(m, mf, "results", "the list of evaluation results")
		if !ok {
			continue
		}
		if res.kind != kindSeq {
			c.add(checkModelIndex, mf+".results", res.pos,
				fmt.Sprintf("`results` must be a list, not %s; %s", res.kind, rejects), "write each result as a `- task: …` entry")
			continue
		}
		for j, r := range res.items {
			c.checkResult(r, indexField(mf+".results", j))
		}
	}
}

func (c *checker) checkResult(r *node, field string) {
	if !c.wantMap(r, field, "a result with `task`, `dataset` and `metrics`") {
		return
	}
	c.unknownKeys(r, field, "task", "dataset", "metrics", "source")

	if task := c.requireMap(r, field, "task", "`type`, the task id"); task != nil {
		tf := field + ".task"
		c.unknownKeys(task, tf, "type", "name")
		c.wantString(task, tf, "type", true, "the task id, such as `text-classification`")
		c.wantString(task, tf, "name", false, "")
	}

	if ds := c.requireMap(r, field, "dataset", "`type` (the dataset id) and `name`"); ds != nil {
		df := field + ".dataset"
		c.unknownKeys(ds, df, "type", "name", "config", "split", "revision", "args")
		if t := c.wantString(ds, df, "type", true, "the dataset id, such as `imdb` or `org/name`"); t != nil {
			c.checkRepoIDs([]strItem{{t.text, t.pos, df + ".type"}}, df+".type", "dataset", checkDatasets,
				"the evaluation cannot link to the dataset")
		}
		c.wantString(ds, df, "name", true, "the dataset's display name")
		for _, k := range []string{"config", "split", "revision"} {
			c.wantString(ds, df, k, false, "")
		}
		c.optionalMap(ds, df, "args")
	}

	metrics, ok := c.requireValue(r, field, "metrics", "a list of `- type: …, value: …`")
	if ok {
		mf := field + ".metrics"
		switch {
		case metrics.kind != kindSeq:
			c.add(checkModelIndex, mf, metrics.pos,
				fmt.Sprintf("`metrics` must be a list, not %s; %s", metrics.kind, rejects), "write each metric as `- type: accuracy` and `value: 0.91`")
		case len(metrics.items) == 0:
			c.add(checkModelIndex, mf, metrics.pos, "`metrics` is empty: a result needs at least one metric", "add `- type: <metric>` and `value: <number>`")
		}
		if metrics.kind == kindSeq {
			for k, m := range metrics.items {
				c.checkMetric(m, indexField(mf, k))
			}
		}
	}

	if src := r.get("source"); src != nil {
		sf := field + ".source"
		if src.kind != kindMap {
			c.add(checkModelIndex, sf, src.pos,
				fmt.Sprintf("`source` must be a mapping with `url`, not %s; %s", src.kind, rejects), "write `source: {url: https://…, name: …}`")
			return
		}
		c.unknownKeys(src, sf, "url", "name")
		if u := c.wantString(src, sf, "url", true, "the URL the results come from"); u != nil &&
			!strings.HasPrefix(u.text, "https://") && !strings.HasPrefix(u.text, "http://") {
			c.add(checkModelIndex, sf+".url", u.pos, fmt.Sprintf("`source.url` `%s` is not an http(s) URL", sanitize(u.text, 80)),
				"link to the page the results come from")
		}
		c.wantString(src, sf, "name", false, "")
	}
}

func (c *checker) checkMetric(m *node, field string) {
	if !c.wantMap(m, field, "a metric with `type` and `value`") {
		return
	}
	c.unknownKeys(m, field, "type", "value", "name", "config", "args", "verifyToken", "verified")
	c.wantString(m, field, "type", true, "the metric id, such as `accuracy`")
	if v, ok := c.requireValue(m, field, "value", "the metric's value"); ok {
		switch v.kind {
		case kindInt, kindFloat, kindString:
		default:
			c.add(checkModelIndex, field+".value", v.pos,
				fmt.Sprintf("a metric `value` must be a number or a string, not %s; %s", v.kind, rejects), "write the value, such as `0.912`")
		}
	}
	for _, k := range []string{"name", "config", "verifyToken"} {
		c.wantString(m, field, k, false, "")
	}
	c.optionalMap(m, field, "args")
	if v := m.get("verified"); v != nil && v.kind != kindBool {
		c.add(checkModelIndex, field+".verified", v.pos, fmt.Sprintf("`verified` must be true or false, not %s", v.kind), "")
	}
}

// wantMap reports a model-index entry that is not a mapping.
func (c *checker) wantMap(n *node, field, what string) bool {
	if n.kind == kindMap {
		return true
	}
	c.add(checkModelIndex, field, n.pos, fmt.Sprintf("expected %s, found %s; %s", what, n.kind, rejects), "")
	return false
}

// requireValue returns m[key], reporting it when it is missing or empty.
func (c *checker) requireValue(m *node, field, key, what string) (*node, bool) {
	p, ok := m.getPair(key)
	switch {
	case !ok:
		c.add(checkModelIndex, field, m.pos, fmt.Sprintf("`%s` is missing; %s", key, rejects), fmt.Sprintf("add `%s:` with %s", key, what))
		return nil, false
	case p.val.kind == kindNull:
		c.add(checkModelIndex, field+"."+key, p.keyPos, fmt.Sprintf("`%s` is empty; %s", key, rejects), fmt.Sprintf("give `%s` %s", key, what))
		return nil, false
	}
	return p.val, true
}

// requireMap is requireValue for a value that must be a mapping.
func (c *checker) requireMap(m *node, field, key, what string) *node {
	v, ok := c.requireValue(m, field, key, "a mapping with "+what)
	if !ok {
		return nil
	}
	if v.kind != kindMap {
		c.add(checkModelIndex, field+"."+key, v.pos,
			fmt.Sprintf("`%s` must be a mapping with %s, not %s; %s", key, what, v.kind, rejects), "")
		return nil
	}
	return v
}

// wantString checks that m[key] is a string (present when required) and
// returns it when it is.
func (c *checker) wantString(m *node, field, key string, required bool, what string) *node {
	if required {
		v, ok := c.requireValue(m, field, key, what)
		if !ok {
			return nil
		}
		return c.stringValue(v, field+"."+key, key)
	}
	v := m.get(key)
	if v == nil || v.kind == kindNull {
		return nil
	}
	return c.stringValue(v, field+"."+key, key)
}

func (c *checker) stringValue(v *node, field, key string) *node {
	if v.kind == kindString {
		return v
	}
	fix := ""
	if v.isScalar() {
		fix = fmt.Sprintf("quote it: `\"%s\"`", sanitize(v.text, 60))
	}
	c.add(checkModelIndex, field, v.pos, fmt.Sprintf("`%s` must be a string, not %s; %s", key, v.kind, rejects), fix)
	return nil
}

func (c *checker) optionalMap(m *node, field, key string) {
	if v := m.get(key); v != nil && v.kind != kindNull && v.kind != kindMap {
		c.add(checkModelIndex, field+"."+key, v.pos,
			fmt.Sprintf("`%s` must be a mapping of argument names to values, not %s; %s", key, v.kind, rejects), "")
	}
}

// unknownKeys flags keys a model-index mapping does not define: usually a
// misspelling, which leaves the intended field missing.
func (c *checker) unknownKeys(m *node, field string, allowed ...string) {
	ok := make(map[string]bool, len(allowed))
	for _, a := range allowed {
		ok[a] = true
	}
	for _, p := range m.pairs {
		if ok[p.key] {
			continue
		}
		fix := "remove it"
		if g := parseVocab(strings.Join(allowed, "\n")).closest(p.key); g != "" {
			fix = fmt.Sprintf("did you mean `%s`?", g)
		}
		c.add(checkUnknownField, joinField(field, p.key), p.keyPos,
			fmt.Sprintf("`%s` is not a field here; the Hub ignores or rejects it", sanitize(p.key, 40)), fix)
	}
}
