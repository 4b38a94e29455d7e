package modelcard

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// knownFields are the top-level metadata fields the Hub reads (hub-docs
// modelcard.md, huggingface.js ApiModelMetadata, huggingface_hub
// ModelCardData). Other keys are allowed: they are only flagged when they
// look like a misspelling of one of these.
func knownFields() []string {
	return []string{
		"language", "license", "license_name", "license_link", "library_name", "pipeline_tag",
		"tags", "datasets", "buckets", "metrics", "base_model", "base_model_relation", "new_version",
		"model-index", "widget", "inference", "thumbnail", "co2_eq_emissions",
		"gated", "extra_gated_prompt", "extra_gated_fields", "extra_gated_heading",
		"extra_gated_description", "extra_gated_button_content", "extra_gated_eu_disallowed",
		"language_bcp47", "language_details", "license_details", "mask_token", "finetuned_from",
		"instance_prompt", "description", "model_name", "eval_results",
	}
}

// misspellings maps keys that are common mistakes but too far from the
// right one for an edit distance to catch.
func misspelling(key string) string {
	switch strings.ToLower(key) {
	case "library", "framework", "libraries":
		return "library_name"
	case "pipeline", "task", "tasks", "pipeline_tags", "pipeline-tags":
		return "pipeline_tag"
	case "dataset":
		return "datasets"
	case "languages", "lang":
		return "language"
	case "tag":
		return "tags"
	case "metric":
		return "metrics"
	case "base_models", "basemodel", "base":
		return "base_model"
	case "license-name":
		return "license_name"
	}
	return ""
}

// blankMatters lists fields whose empty value the Hub refuses (an empty
// `license:` or `datasets:` blocks a push) or that are meaningless empty.
func blankMatters(key string) bool {
	switch key {
	case "language", "license", "license_name", "license_link", "library_name", "pipeline_tag",
		"tags", "datasets", "metrics", "base_model", "base_model_relation", "new_version",
		"model-index", "widget", "thumbnail":
		return true
	}
	return false
}

func (c *checker) checkFields() {
	m := c.meta
	c.checkKeys(knownFields(), misspelling, blankMatters)
	c.checkLicense()
	c.checkPipelineTag()
	c.checkLibraryName()
	c.checkLanguages()
	c.checkDatasets()
	c.checkBaseModel()
	c.checkNewVersion()
	c.checkOtherTypes()
	c.checkRecommended()
	if mi := m.get("model-index"); mi != nil && mi.kind != kindNull {
		c.checkModelIndex(mi)
	}
	if w := m.get("widget"); w != nil && w.kind != kindNull {
		c.checkWidget(w)
	}
}

// checkKeys checks the top-level keys against the fields the Hub reads
// for this repo type: a known field left blank where that matters, and an
// unknown key that looks like a misspelt known one.
func (c *checker) checkKeys(knownList []string, misspelt func(string) string, blank func(string) bool) {
	m := c.meta
	known := make(map[string]bool, len(knownList))
	for _, f := range knownList {
		known[f] = true
	}
	fieldVocab := parseVocab(strings.Join(knownList, "\n"))
	for _, p := range m.pairs {
		if p.merged {
			continue
		}
		if known[p.key] {
			if p.val.kind == kindNull && !p.val.broken && blank(p.key) {
				why := "the Hub rejects a push with it blank"
				if p.key != "license" && p.key != "datasets" {
					why = "the Hub ignores it at best, and rejects some blank fields (license, datasets) outright"
				}
				c.add(checkBlankValue, p.key, p.keyPos,
					fmt.Sprintf("`%s` is present with no value; %s", p.key, why),
					fmt.Sprintf("give `%s` a value or remove the line", p.key))
			}
			continue
		}
		guess := misspelt(p.key)
		if guess == "" && len(p.key) >= 4 {
			guess = fieldVocab.closest(p.key)
		}
		if guess != "" && guess != p.key && m.get(guess) == nil {
			c.add(checkUnknownField, sanitize(p.key, 40), p.keyPos,
				fmt.Sprintf("`%s` is not a field the Hub reads; did you mean `%s`?", sanitize(p.key, 40), guess),
				fmt.Sprintf("rename it to `%s`", guess))
		}
	}
}

// strItem is one string taken from a field that holds a string or a list
// of strings.
type strItem struct {
	s     string
	pos   Pos
	field string
}

// stringsOf returns the strings of a field that takes a string or (when
// list is true) a list of strings, reporting values of other types under
// check.
func (c *checker) stringsOf(n *node, field, check string, list bool) []strItem {
	want := "a string"
	if list {
		want = "a string or a list of strings"
	}
	switch {
	case n == nil || n.kind == kindNull:
		return nil
	case n.kind == kindString:
		return []strItem{{n.text, n.pos, field}}
	case n.kind == kindSeq && list:
		var out []strItem
		for i, it := range n.items {
			f := indexField(field, i)
			if it.kind != kindString {
				c.add(check, f, it.pos, fmt.Sprintf("`%s` must be %s; this entry is %s", field, want, it.kind),
					"write each entry as a plain string")
				continue
			}
			out = append(out, strItem{it.text, it.pos, f})
		}
		return out
	default:
		c.add(check, field, n.pos, fmt.Sprintf("`%s` must be %s, not %s", field, want, n.kind), "")
		return nil
	}
}

// --- license ---------------------------------------------------------------

func (c *checker) checkLicense() {
	p, ok := c.meta.getPair("license")
	if !ok {
		if c.typ == Space {
			return // optional for a Space: its config reference does not list it
		}
		c.add(checkLicenseMissing, "license", c.fm.open,
			fmt.Sprintf("no `license`: the Hub shows the %s's license as unknown and license filters miss it", c.typ.noun()),
			"add `license:` with an identifier such as `apache-2.0` or `mit`, or `other` with license_name and license_link")
		return
	}
	isOther := false
	for _, it := range c.stringsOf(p.val, "license", checkLicense, true) {
		if c.voc.licenses.has(it.s) {
			isOther = isOther || it.s == "other"
			continue
		}
		fix := "use an identifier from https://huggingface.co/docs/hub/repositories-licenses, or `other` with license_name and license_link"
		if g := c.guessLicense(it.s); g != "" {
			fix = fmt.Sprintf("use `%s`", g)
		}
		c.add(checkLicense, it.field, it.pos,
			fmt.Sprintf("`%s` is not a license identifier the Hub accepts; it rejects the push", sanitize(it.s, 60)), fix)
	}
	if isOther {
		c.checkLicenseOther(p)
	}
}

func (c *checker) guessLicense(s string) string {
	lower := strings.ToLower(strings.TrimSpace(s))
	for _, w := range []string{"license", "licence"} {
		lower = strings.ReplaceAll(lower, w, "")
	}
	lower = strings.TrimSpace(lower)
	if lower == "" {
		return ""
	}
	return c.voc.licenses.closest(lower)
}

// licenseNameRe is the shape of license_name in the Hub's documentation
// (`my-license-1.0`): lowercase words joined by dashes or dots.
var licenseNameRe = regexp.MustCompile(`^[a-z0-9]+(?:[.\-_][a-z0-9]+)*$`)

func (c *checker) checkLicenseOther(license pair) {
	name := c.meta.get("license_name")
	switch {
	case name == nil || name.kind == kindNull:
		c.add(checkLicenseOther, "license_name", license.val.pos,
			"`license: other` needs `license_name`, an identifier for the license, or the Hub shows it as an unnamed license",
			"add `license_name:` with a short id such as `my-license-1.0`")
	case name.kind != kindString:
		c.add(checkFieldType, "license_name", name.pos, fmt.Sprintf("`license_name` must be a string, not %s", name.kind), "")
	case !licenseNameRe.MatchString(name.text):
		c.add(checkFieldType, "license_name", name.pos,
			fmt.Sprintf("`license_name` `%s` is not an identifier: the Hub expects lowercase letters, digits and dashes", sanitize(name.text, 60)),
			fmt.Sprintf("use something like `%s`", slugify(name.text)))
	}
	link := c.meta.get("license_link")
	switch {
	case link == nil || link.kind == kindNull:
		c.add(checkLicenseOther, "license_link", license.val.pos,
			"`license: other` needs `license_link`, so readers can find the license text",
			"commit the license text as LICENSE and add `license_link: LICENSE`, or link to a URL")
	case link.kind != kindString:
		c.add(checkFieldType, "license_link", link.pos, fmt.Sprintf("`license_link` must be a string, not %s", link.kind), "")
	default:
		c.checkLicenseLink(link)
	}
}

func (c *checker) checkLicenseLink(link *node) {
	target := strings.TrimSpace(link.text)
	if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(target, "./"), "/")
	// Links copied from the Hub's file view: blob/main/LICENSE.
	for _, prefix := range []string{"blob/main/", "resolve/main/", "raw/main/"} {
		rel = strings.TrimPrefix(rel, prefix)
	}
	rel = path.Clean(rel)
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		c.add(checkLicenseOther, "license_link", link.pos,
			fmt.Sprintf("`license_link` `%s` does not point to a file in the repo", sanitize(target, 80)),
			"point it at the license file, such as `LICENSE`, or at a URL")
		return
	}
	if _, ok := c.byPath[rel]; ok {
		return
	}
	fix := fmt.Sprintf("commit the license text as `%s`, or point license_link at the file that holds it", sanitize(rel, 80))
	if actual, ok := c.byLower[strings.ToLower(rel)]; ok {
		fix = fmt.Sprintf("the file is named `%s`; paths on the Hub are case-sensitive", sanitize(actual, 80))
	} else if cand := c.licenseFiles(); len(cand) > 0 {
		fix = fmt.Sprintf("point it at `%s`, which is in the repo", sanitize(cand[0], 80))
	}
	c.add(checkLicenseOther, "license_link", link.pos,
		fmt.Sprintf("`license_link` points to `%s`, which is not in the repo", sanitize(rel, 80)), fix)
}

// licenseFiles lists files at the repo root that look like license texts.
func (c *checker) licenseFiles() []string {
	var out []string
	for _, f := range c.files {
		if strings.Contains(f.Path, "/") {
			continue
		}
		up := strings.ToUpper(f.Path)
		if strings.HasPrefix(up, "LICENSE") || strings.HasPrefix(up, "LICENCE") || strings.HasPrefix(up, "COPYING") {
			out = append(out, f.Path)
		}
	}
	return out
}

// slugify proposes an identifier for a license name written as a title.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.':
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
		if b.Len() >= 60 {
			break
		}
	}
	out := strings.Trim(b.String(), "-.")
	if out == "" {
		return "my-license-1.0"
	}
	return out
}

// --- pipeline_tag and library_name -------------------------------------------

func (c *checker) checkPipelineTag() {
	v := c.meta.get("pipeline_tag")
	if v == nil || v.kind == kindNull {
		return
	}
	if v.kind != kindString {
		c.add(checkPipelineTag, "pipeline_tag", v.pos, fmt.Sprintf("`pipeline_tag` must be one task id, not %s", v.kind),
			"set one task, such as `text-generation`")
		return
	}
	if c.voc.pipelines.has(v.text) {
		return
	}
	fix := "use a task id from https://huggingface.co/tasks, such as `text-generation` or `image-classification`"
	switch v.text {
	case "text2text-generation":
		fix = "that task is no longer in the Hub's list: use `text-generation`, or `translation` or `summarization` when that is what the model does"
	case "conversational":
		fix = "use `pipeline_tag: text-generation` and add `conversational` to tags"
	default:
		if g := taskAlias(v.text); g != "" {
			fix = fmt.Sprintf("use `%s`", g)
		} else if g := c.voc.pipelines.closest(v.text); g != "" {
			fix = fmt.Sprintf("use `%s`", g)
		}
	}
	c.add(checkPipelineTag, "pipeline_tag", v.pos,
		fmt.Sprintf("`%s` is not a task the Hub knows, so the model is not listed under a task and gets no widget", sanitize(v.text, 60)), fix)
}

// taskAlias maps names transformers pipelines and authors use for a task to
// the Hub's task id.
func taskAlias(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sentiment-analysis", "sentiment", "text-classifier":
		return "text-classification"
	case "ner", "named-entity-recognition", "pos":
		return "token-classification"
	case "embedding", "embeddings", "sentence-embedding", "sentence-embeddings", "text-embedding", "text-embeddings":
		return "feature-extraction"
	case "asr", "speech-recognition", "speech-to-text":
		return "automatic-speech-recognition"
	case "tts":
		return "text-to-speech"
	case "vqa":
		return "visual-question-answering"
	case "chat", "llm", "causal-lm", "text-to-text":
		return "text-generation"
	case "reranking", "reranker", "rerank":
		return "text-ranking"
	}
	return ""
}

// fileFormat names library_name values that are file formats or
// frameworks: the Hub detects formats from the files, and a framework does
// not tell it which library loads the model.
func fileFormat(s string) bool {
	switch strings.ToLower(s) {
	case "gguf", "ggml", "onnx", "safetensors", "tensorboard", "pytorch", "torch", "tensorflow", "tf",
		"jax", "flax", "coreml", "tflite", "openvino", "llama.cpp":
		return true
	}
	return false
}

func (c *checker) checkLibraryName() {
	v := c.meta.get("library_name")
	if v == nil || v.kind == kindNull {
		return
	}
	if v.kind != kindString {
		c.add(checkLibraryName, "library_name", v.pos, fmt.Sprintf("`library_name` must be one library id, not %s", v.kind),
			"set the library that loads the model, such as `transformers`")
		return
	}
	if c.voc.libraries.has(v.text) {
		return
	}
	fix := "use a library id from https://huggingface.co/docs/hub/models-libraries, or remove library_name"
	if fileFormat(v.text) {
		fix = "that is a file format or framework, not a library; set the library that loads the model, or remove library_name (the Hub detects file formats itself)"
	} else if g := c.voc.libraries.closest(v.text); g != "" {
		fix = fmt.Sprintf("use `%s`", g)
	}
	c.add(checkLibraryName, "library_name", v.pos,
		fmt.Sprintf("`%s` is not a library the Hub knows (hubbot's list of %s), so the page shows no usage snippet for it", sanitize(v.text, 60), librariesSnapshot), fix)
}

// --- repo ids ----------------------------------------------------------------

// repoPartRe is one part of a Hub repo id: letters, digits, "-", "_" and
// ".", starting and ending with a letter, digit or "_" (huggingface_hub's
// validate_repo_id).
var repoPartRe = regexp.MustCompile(`^[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?$`)

// repoIDProblem says what is wrong with s as a repo id of the given type
// ("model" or "dataset"), and proposes the id it probably means.
func repoIDProblem(s, repoType string) (problem, suggestion string) {
	t := strings.TrimSpace(s)
	if t != s {
		return "has blanks around it", t
	}
	if s == "" {
		return "is empty", ""
	}
	lower := strings.ToLower(s)
	for _, prefix := range []string{"https://huggingface.co/", "http://huggingface.co/", "https://hf.co/", "http://hf.co/", "huggingface.co/", "hf.co/"} {
		if strings.HasPrefix(lower, prefix) {
			rest := strings.Trim(s[len(prefix):], "/")
			return "is a URL, not a repo id", idFromPath(rest)
		}
	}
	if strings.Contains(s, "://") {
		return "is a URL, not a repo id", ""
	}
	if strings.HasPrefix(s, repoType+"s/") {
		return fmt.Sprintf("starts with %q, which is not part of a repo id", repoType+"s/"), idFromPath(s)
	}
	parts := strings.Split(s, "/")
	if len(parts) > 2 {
		return "has more than one \"/\"; a repo id is `name` or `namespace/name`", idFromPath(s)
	}
	for _, p := range parts {
		if !repoPartRe.MatchString(p) || strings.Contains(p, "--") || strings.Contains(p, "..") {
			return "is not a repo id: letters, digits, \"-\", \"_\" and \".\" only, as `namespace/name`", ""
		}
	}
	if len(parts[len(parts)-1]) > 96 {
		return "has a name longer than 96 characters", ""
	}
	return "", ""
}

// idFromPath extracts namespace/name from a Hub URL path such as
// "datasets/org/name/tree/main".
func idFromPath(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) > 0 && (parts[0] == "datasets" || parts[0] == "models" || parts[0] == "spaces") {
		parts = parts[1:]
	}
	if len(parts) < 2 {
		if len(parts) == 1 && repoPartRe.MatchString(parts[0]) {
			return parts[0]
		}
		return ""
	}
	id := parts[0] + "/" + parts[1]
	if repoPartRe.MatchString(parts[0]) && repoPartRe.MatchString(parts[1]) {
		return id
	}
	return ""
}

func (c *checker) checkRepoIDs(items []strItem, field, repoType, check, consequence string) {
	for _, it := range items {
		problem, suggestion := repoIDProblem(it.s, repoType)
		if problem == "" {
			continue
		}
		fix := fmt.Sprintf("write the %s id as `namespace/name`", repoType)
		if suggestion != "" {
			fix = fmt.Sprintf("use `%s`", sanitize(suggestion, 100))
		}
		c.add(check, it.field, it.pos,
			fmt.Sprintf("`%s` in `%s` %s; %s", sanitize(it.s, 80), field, problem, consequence), fix)
	}
}

func (c *checker) checkDatasets() {
	v := c.meta.get("datasets")
	items := c.stringsOf(v, "datasets", checkDatasets, true)
	c.checkRepoIDs(items, "datasets", "dataset", checkDatasets, "the Hub cannot link the model to it")
}

func (c *checker) checkNewVersion() {
	v := c.meta.get("new_version")
	items := c.stringsOf(v, "new_version", checkNewVersion, false)
	c.checkRepoIDs(items, "new_version", "model", checkNewVersion, "the Hub cannot point readers to the newer model")
}

// baseModelRelations are the values base_model_relation takes.
func baseModelRelation(s string) bool {
	switch s {
	case "adapter", "merge", "quantized", "finetune":
		return true
	}
	return false
}

func guessRelation(s string) string {
	switch l := strings.ToLower(strings.TrimSpace(s)); {
	case strings.HasPrefix(l, "fine") || l == "ft" || l == "sft" || strings.HasPrefix(l, "train"):
		return "finetune"
	case strings.HasPrefix(l, "quant") || l == "gguf" || l == "awq" || l == "gptq":
		return "quantized"
	case strings.HasPrefix(l, "merg"):
		return "merge"
	case strings.HasPrefix(l, "adapt") || l == "lora" || l == "peft" || l == "qlora":
		return "adapter"
	}
	return ""
}

func (c *checker) checkBaseModel() {
	bm := c.meta.get("base_model")
	items := c.stringsOf(bm, "base_model", checkBaseModel, true)
	c.checkRepoIDs(items, "base_model", "model", checkBaseModel, "the Hub rejects a base_model that is not a model id")

	relPair, hasRel := c.meta.getPair("base_model_relation")
	if !hasRel || relPair.val.kind == kindNull {
		return
	}
	rel := relPair.val
	if rel.kind != kindString {
		c.add(checkBaseModelRelation, "base_model_relation", rel.pos,
			fmt.Sprintf("`base_model_relation` must be one of adapter, merge, quantized, finetune, not %s", rel.kind), "")
		return
	}
	if !baseModelRelation(rel.text) {
		fix := "use one of `adapter`, `merge`, `quantized`, `finetune`, or remove it and let the Hub infer it"
		if g := guessRelation(rel.text); g != "" {
			fix = fmt.Sprintf("use `%s`", g)
		}
		c.add(checkBaseModelRelation, "base_model_relation", rel.pos,
			fmt.Sprintf("`%s` is not a base_model_relation the Hub knows", sanitize(rel.text, 60)), fix)
		return
	}
	if bm == nil || bm.kind == kindNull {
		c.add(checkBaseModelRelation, "base_model_relation", rel.pos,
			"`base_model_relation` is set but there is no `base_model` for it to describe",
			"add `base_model:` with the id of the model this one derives from")
		return
	}
	n := len(items)
	if bm.kind == kindSeq && n > 1 && rel.text != "merge" {
		c.add(checkBaseModelRelation, "base_model_relation", rel.pos,
			fmt.Sprintf("`base_model` lists %d models, which means a merge, but `base_model_relation` is `%s`", n, rel.text),
			"list only the model this one derives from, or set `base_model_relation: merge`")
	}
	if rel.text == "merge" && n < 2 {
		c.add(checkBaseModelRelation, "base_model_relation", rel.pos,
			"`base_model_relation: merge` needs `base_model` to list the merged models (two or more)",
			"list every merged model under `base_model`, or use another relation")
	}
}

// --- other fields' types -----------------------------------------------------

func (c *checker) checkOtherTypes() {
	m := c.meta
	c.stringsOf(m.get("tags"), "tags", checkFieldType, true)
	c.stringsOf(m.get("metrics"), "metrics", checkFieldType, true)
	c.stringsOf(m.get("language_bcp47"), "language_bcp47", checkFieldType, true)
	if t := m.get("thumbnail"); t != nil && t.kind != kindNull && t.kind != kindString {
		c.add(checkFieldType, "thumbnail", t.pos, fmt.Sprintf("`thumbnail` must be a URL string, not %s", t.kind), "")
	}
	if inf := m.get("inference"); inf != nil && inf.kind != kindNull && inf.kind != kindBool && inf.kind != kindMap {
		c.add(checkFieldType, "inference", inf.pos,
			fmt.Sprintf("`inference` must be `false` or a mapping with `parameters`, not %s", inf.kind),
			"write `inference: false` to turn the widget off")
	}
	if co2 := m.get("co2_eq_emissions"); co2 != nil {
		switch co2.kind {
		case kindNull, kindInt, kindFloat:
		case kindMap:
			if e := co2.get("emissions"); e == nil || (e.kind != kindInt && e.kind != kindFloat) {
				at := co2.pos
				if e != nil {
					at = e.pos
				}
				c.add(checkFieldType, "co2_eq_emissions.emissions", at,
					"`co2_eq_emissions.emissions` must be a number of grams of CO2", "")
			}
		default:
			c.add(checkFieldType, "co2_eq_emissions", co2.pos,
				fmt.Sprintf("`co2_eq_emissions` must be a number (grams) or a mapping with `emissions`, not %s", co2.kind), "")
		}
	}
	if g := m.get("gated"); g != nil && g.kind != kindNull && g.kind != kindBool &&
		!(g.kind == kindString && (g.text == "auto" || g.text == "manual")) {
		c.add(checkFieldType, "gated", g.pos, "`gated` must be true, false, `auto` or `manual`", "")
	}
	if f := m.get("extra_gated_fields"); f != nil && f.kind != kindNull && f.kind != kindMap {
		c.add(checkFieldType, "extra_gated_fields", f.pos,
			fmt.Sprintf("`extra_gated_fields` must be a mapping of field labels to types, not %s", f.kind), "")
	}
}

// languageTask reports whether a task's inputs or outputs are in a human
// language, so that readers look for the model by language.
func languageTask(task string) bool {
	switch task {
	case "text-classification", "token-classification", "table-question-answering", "question-answering",
		"zero-shot-classification", "translation", "summarization", "feature-extraction", "text-generation",
		"fill-mask", "sentence-similarity", "text-to-speech", "automatic-speech-recognition", "text-ranking",
		"text-retrieval", "multiple-choice", "audio-text-to-text", "image-text-to-text", "visual-question-answering",
		"document-question-answering":
		return true
	}
	return false
}

// checkRecommended suggests the fields that make a model findable and
// its training traceable, the ones metadata reviews ask for.
func (c *checker) checkRecommended() {
	m := c.meta
	rel := m.get("base_model_relation")
	derivedOnly := rel != nil && rel.kind == kindString && (rel.text == "merge" || rel.text == "quantized")
	if m.get("datasets") == nil && !derivedOnly {
		c.add(checkRecommended, "datasets", c.fm.open,
			"no `datasets`: readers cannot see what the model was trained on, and the dataset pages do not list it",
			"add `datasets:` with the Hub ids of the training data")
	}
	task := m.get("pipeline_tag")
	if m.get("language") == nil && task != nil && task.kind == kindString && languageTask(task.text) {
		c.add(checkRecommended, "language", c.fm.open,
			fmt.Sprintf("no `language` for a %s model: it does not appear when readers filter models by language", task.text),
			"add `language:` with ISO 639 codes, such as `en`, or `multilingual`")
	}
}
