package modelcard

// Dataset card rules.
//
// Sources: hub-docs datasetcard.md (the field list with examples),
// docs/hub/datasets-cards.md (metadata and tags),
// docs/hub/datasets-manual-configuration.md (`configs`: `config_name` is
// required, `data_files` as a pattern, a list of patterns or a list of
// {split, path}, `data_dir`, `default: true`, other keys are builder
// parameters) and docs/hub/datasets-viewer-configure.md (`viewer`);
// huggingface_hub's DatasetCardData docstring for the values of
// annotations_creators, language_creators, multilinguality and
// size_categories; task_categories take the Hub's task ids (datasetcard.md
// points at huggingface.js pipelines.ts, the list pipeline_tags.txt holds).
// license and language follow the same rules as for models.

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// datasetKnownFields are the top-level fields the Hub reads in a dataset card.
func datasetKnownFields() []string {
	return append(datasetOnlyFields(),
		"language", "license", "license_name", "license_link", "license_details", "language_details",
		"tags", "viewer", "thumbnail", "gated", "extra_gated_prompt", "extra_gated_fields",
		"extra_gated_heading", "extra_gated_description", "extra_gated_button_content",
		"extra_gated_eu_disallowed", "arxiv")
}

// datasetMisspelling maps keys too far from the right one for an edit
// distance to catch. `languages` and `licenses` are the names old dataset
// cards used; the Hub no longer reads them.
func datasetMisspelling(key string) string {
	switch strings.ToLower(key) {
	case "languages", "lang":
		return "language"
	case "licenses", "licence":
		return "license"
	case "task_category", "tasks", "task", "pipeline_tag":
		return "task_categories"
	case "size_category", "size", "sizes":
		return "size_categories"
	case "config", "subsets":
		return "configs"
	case "task_id", "subtasks":
		return "task_ids"
	case "tag":
		return "tags"
	case "name", "title":
		return "pretty_name"
	}
	return ""
}

func datasetBlankMatters(key string) bool {
	switch key {
	case "language", "license", "license_name", "license_link", "tags", "task_categories", "task_ids",
		"size_categories", "multilinguality", "annotations_creators", "language_creators",
		"source_datasets", "pretty_name", "configs", "dataset_info":
		return true
	}
	return false
}

// datasetEnums are the fields that take values from a fixed list, with
// that list (huggingface_hub DatasetCardData).
func datasetEnums() []struct {
	field  string
	values []string
} {
	return []struct {
		field  string
		values []string
	}{
		{"size_categories", []string{"n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M",
			"100M<n<1B", "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T", "other"}},
		{"multilinguality", []string{"monolingual", "multilingual", "translation", "other"}},
		{"annotations_creators", []string{"found", "crowdsourced", "expert-generated", "machine-generated", "no-annotation", "other"}},
		{"language_creators", []string{"found", "crowdsourced", "expert-generated", "machine-generated", "other"}},
	}
}

func (c *checker) checkDatasetFields() {
	m := c.meta
	c.checkKeys(datasetKnownFields(), datasetMisspelling, datasetBlankMatters)
	c.checkLicense()
	c.checkLanguages()
	c.checkTaskCategories()
	for _, e := range datasetEnums() {
		c.checkEnumList(e.field, e.values)
	}
	for _, f := range []string{"task_ids", "source_datasets", "tags", "language_details"} {
		c.stringsOf(m.get(f), f, checkFieldType, true)
	}
	if v := m.get("pretty_name"); v != nil && v.kind != kindNull && v.kind != kindString {
		c.add(checkFieldType, "pretty_name", v.pos, fmt.Sprintf("`pretty_name` must be a string, not %s", v.kind), "")
	}
	if v := m.get("viewer"); v != nil && v.kind != kindNull && v.kind != kindBool {
		c.add(checkFieldType, "viewer", v.pos, fmt.Sprintf("`viewer` must be true or false, not %s", v.kind),
			"write `viewer: false` to turn the Dataset Viewer off")
	}
	if v := m.get("configs"); v != nil && v.kind != kindNull {
		c.checkConfigs(v)
	}
	if v := m.get("dataset_info"); v != nil && v.kind != kindNull {
		c.checkDatasetInfo(v)
	}
	if m.get("task_categories") == nil {
		c.add(checkRecommended, "task_categories", c.fm.open,
			"no `task_categories`: the dataset does not appear when readers filter datasets by task",
			"add `task_categories:` with the Hub's task ids, such as `text-classification`")
	}
}

// checkTaskCategories checks task_categories against the Hub's task ids.
func (c *checker) checkTaskCategories() {
	for _, it := range c.stringsOf(c.meta.get("task_categories"), "task_categories", checkTaskCategories, true) {
		if c.voc.pipelines.has(it.s) {
			continue
		}
		fix := "use task ids from https://huggingface.co/tasks, such as `text-classification` or `question-answering`"
		if g := taskAlias(it.s); g != "" {
			fix = fmt.Sprintf("use `%s`", g)
		} else if g := c.voc.pipelines.closest(it.s); g != "" {
			fix = fmt.Sprintf("use `%s`", g)
		}
		c.add(checkTaskCategories, it.field, it.pos,
			fmt.Sprintf("`%s` is not a task the Hub knows, so the dataset is not listed under it", sanitize(it.s, 60)), fix)
	}
}

// checkEnumList checks a field that takes one value or a list of values
// from a fixed list.
func (c *checker) checkEnumList(field string, values []string) {
	set := make(map[string]bool, len(values))
	for _, v := range values {
		set[v] = true
	}
	for _, it := range c.stringsOf(c.meta.get(field), field, checkDatasetEnum, true) {
		if set[it.s] {
			continue
		}
		fix := fmt.Sprintf("use one of %s", strings.Join(quoteAll(values), ", "))
		for _, v := range values {
			if strings.EqualFold(v, it.s) || foldID(v) == foldID(it.s) {
				fix = fmt.Sprintf("use `%s`", v)
				break
			}
		}
		c.add(checkDatasetEnum, it.field, it.pos,
			fmt.Sprintf("`%s` is not a value of `%s` the Hub knows, so dataset filters miss it", sanitize(it.s, 60), field), fix)
	}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + s + "`"
	}
	return out
}

// --- configs -------------------------------------------------------------------

// checkConfigs checks `configs`, which the Dataset Viewer and the datasets
// library read to find the data files of each subset and split.
func (c *checker) checkConfigs(v *node) {
	if v.kind != kindSeq {
		c.add(checkConfigs, "configs", v.pos,
			fmt.Sprintf("`configs` must be a list of subsets, each with `config_name` and `data_files`, not %s", v.kind),
			"write `configs:` followed by `- config_name: default` and its `data_files`")
		return
	}
	names := make(map[string]bool)
	defaults := 0
	for i, cfg := range v.items {
		field := indexField("configs", i)
		if cfg.kind != kindMap {
			c.add(checkConfigs, field, cfg.pos, fmt.Sprintf("each subset in `configs` must be a mapping, not %s", cfg.kind),
				"write `- config_name: NAME` and `data_files:` under it")
			continue
		}
		name := cfg.get("config_name")
		switch {
		case name == nil || name.kind == kindNull:
			c.add(checkConfigs, field, cfg.pos,
				"this subset has no `config_name`; it is required even when there is only one subset",
				"add `config_name: default`")
		case name.kind != kindString:
			c.add(checkConfigs, field+".config_name", name.pos,
				fmt.Sprintf("`config_name` must be a string, not %s", name.kind), "")
		case names[name.text]:
			c.add(checkConfigs, field+".config_name", name.pos,
				fmt.Sprintf("`%s` names two subsets; the second hides the first", sanitize(name.text, 60)),
				"give every subset its own `config_name`")
		default:
			names[name.text] = true
		}
		if d := cfg.get("default"); d != nil {
			if d.kind != kindBool {
				c.add(checkConfigs, field+".default", d.pos, fmt.Sprintf("`default` must be true or false, not %s", d.kind), "")
			} else if strings.EqualFold(d.text, "true") {
				defaults++
				if defaults == 2 {
					c.add(checkConfigs, field+".default", d.pos,
						"a second subset is marked `default: true`; only one subset can be the default",
						"keep `default: true` on one subset")
				}
			}
		}
		dir := ""
		if d := cfg.get("data_dir"); d != nil && d.kind != kindNull {
			if d.kind != kindString {
				c.add(checkConfigs, field+".data_dir", d.pos, fmt.Sprintf("`data_dir` must be a string, not %s", d.kind), "")
			} else {
				dir = strings.Trim(d.text, "/")
				if !c.dirExists(dir) {
					c.add(checkDataFiles, field+".data_dir", d.pos,
						fmt.Sprintf("`data_dir` `%s` is not a folder of the repo", sanitize(d.text, 80)),
						"point it at the folder that holds this subset's files")
				}
			}
		}
		if df := cfg.get("data_files"); df != nil {
			c.checkDataFiles(df, field+".data_files", dir)
		}
	}
}

// checkDataFiles checks a data_files value: a pattern, a list of patterns,
// or a list of {split, path} where path is a pattern or a list of them.
func (c *checker) checkDataFiles(df *node, field, dir string) {
	switch df.kind {
	case kindNull:
		c.add(checkConfigs, field, df.pos, "`data_files` is empty", "list the files of this subset, or remove `data_files`")
	case kindString:
		c.checkDataPattern(strItem{df.text, df.pos, field}, dir)
	case kindSeq:
		splits := make(map[string]bool)
		for i, it := range df.items {
			f := indexField(field, i)
			switch it.kind {
			case kindString:
				c.checkDataPattern(strItem{it.text, it.pos, f}, dir)
			case kindMap:
				split := it.get("split")
				if split == nil || split.kind != kindString || split.text == "" {
					at := it.pos
					if split != nil {
						at = split.pos
					}
					c.add(checkConfigs, f+".split", at, "each entry of `data_files` needs a `split` name, such as `train` or `test`",
						"add `split: train` (or the split these files form)")
				} else if splits[split.text] {
					c.add(checkConfigs, f+".split", split.pos,
						fmt.Sprintf("split `%s` is listed twice in this subset", sanitize(split.text, 60)),
						"list all its files under one entry: `path` takes a list")
				} else {
					splits[split.text] = true
				}
				p := it.get("path")
				if p == nil || p.kind == kindNull {
					c.add(checkConfigs, f+".path", it.pos, "this split has no `path`", "add `path:` with the file or pattern of the split")
					continue
				}
				for _, s := range c.stringsOf(p, f+".path", checkConfigs, true) {
					c.checkDataPattern(s, dir)
				}
			default:
				c.add(checkConfigs, f, it.pos,
					fmt.Sprintf("an entry of `data_files` must be a path or a mapping with `split` and `path`, not %s", it.kind), "")
			}
		}
	default:
		c.add(checkConfigs, field, df.pos,
			fmt.Sprintf("`data_files` must be a path, a list of paths, or a list of `split`/`path` entries, not %s", df.kind), "")
	}
}

// checkDataPattern reports a data_files path or pattern that matches no
// file of the repo: the Viewer then shows an error and load_dataset fails.
func (c *checker) checkDataPattern(it strItem, dir string) {
	p := it.s
	if strings.Contains(p, "://") {
		return // a remote file: nothing to check in the repo
	}
	full := strings.TrimPrefix(path.Join(dir, p), "/")
	if c.matchesFile(full) {
		return
	}
	fix := "fix the path; paths are relative to the repo root (or to data_dir) and case-sensitive"
	if actual, ok := c.byLower[strings.ToLower(full)]; ok {
		fix = fmt.Sprintf("the file is named `%s`; paths on the Hub are case-sensitive", sanitize(actual, 80))
	}
	c.add(checkDataFiles, it.field, it.pos,
		fmt.Sprintf("`%s` matches no file in the repo, so the Dataset Viewer and load_dataset find no data for it", sanitize(p, 80)), fix)
}

// matchesFile reports whether a path or glob pattern (`*`, `?`, `[...]`,
// and `**` across folders, as the datasets library reads them) matches a
// file of the repo.
func (c *checker) matchesFile(pattern string) bool {
	if !strings.ContainsAny(pattern, "*?[") {
		_, ok := c.byPath[pattern]
		return ok
	}
	re, err := globRegexp(pattern)
	if err != nil {
		return true // a pattern hubbot cannot read is not reported as matching nothing
	}
	for _, f := range c.files {
		if re.MatchString(f.Path) {
			return true
		}
	}
	return false
}

// globRegexp translates a glob into an anchored regular expression.
func globRegexp(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > 500 {
		return nil, fmt.Errorf("pattern too long")
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		ch := pattern[i]
		switch ch {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
				if i+1 < len(pattern) && pattern[i+1] == '/' {
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				b.WriteString(regexp.QuoteMeta("["))
				continue
			}
			class := pattern[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// dirExists reports whether some file of the repo is under dir.
func (c *checker) dirExists(dir string) bool {
	if dir == "" || dir == "." {
		return true
	}
	prefix := dir + "/"
	for _, f := range c.files {
		if strings.HasPrefix(f.Path, prefix) {
			return true
		}
	}
	return false
}

// --- dataset_info ----------------------------------------------------------------

// checkDatasetInfo checks the shape of dataset_info, which the datasets
// library writes and reads back: one mapping, or a list of them (one per
// subset).
func (c *checker) checkDatasetInfo(v *node) {
	switch v.kind {
	case kindMap:
		c.checkOneDatasetInfo(v, "dataset_info")
	case kindSeq:
		for i, it := range v.items {
			if it.kind != kindMap {
				c.add(checkDatasetInfo, indexField("dataset_info", i), it.pos,
					fmt.Sprintf("each entry of `dataset_info` must be a mapping, not %s", it.kind), "")
				continue
			}
			c.checkOneDatasetInfo(it, indexField("dataset_info", i))
		}
	default:
		c.add(checkDatasetInfo, "dataset_info", v.pos,
			fmt.Sprintf("`dataset_info` must be a mapping or a list of mappings, not %s", v.kind), "")
	}
}

func (c *checker) checkOneDatasetInfo(info *node, field string) {
	if f := info.get("features"); f != nil && f.kind != kindNull && f.kind != kindSeq && f.kind != kindMap {
		c.add(checkDatasetInfo, field+".features", f.pos,
			fmt.Sprintf("`features` must be a list of `name`/`dtype` entries, not %s", f.kind), "")
	}
	for _, k := range []string{"download_size", "dataset_size"} {
		if n := info.get(k); n != nil && n.kind != kindNull && n.kind != kindInt {
			c.add(checkDatasetInfo, field+"."+k, n.pos, fmt.Sprintf("`%s` must be a number of bytes, not %s", k, n.kind), "")
		}
	}
	splits := info.get("splits")
	if splits == nil || splits.kind == kindNull {
		return
	}
	if splits.kind != kindSeq {
		c.add(checkDatasetInfo, field+".splits", splits.pos,
			fmt.Sprintf("`splits` must be a list of `name`/`num_bytes`/`num_examples` entries, not %s", splits.kind), "")
		return
	}
	for i, s := range splits.items {
		f := indexField(field+".splits", i)
		if s.kind != kindMap {
			c.add(checkDatasetInfo, f, s.pos, fmt.Sprintf("a split must be a mapping, not %s", s.kind), "")
			continue
		}
		if n := s.get("name"); n == nil || n.kind != kindString {
			c.add(checkDatasetInfo, f+".name", s.pos, "a split needs a `name`", "add `name:` with the split's name, such as `train`")
		}
		for _, k := range []string{"num_bytes", "num_examples"} {
			if n := s.get(k); n != nil && n.kind != kindNull && n.kind != kindInt {
				c.add(checkDatasetInfo, f+"."+k, n.pos, fmt.Sprintf("`%s` must be a whole number, not %s", k, n.kind), "")
			}
		}
	}
}
