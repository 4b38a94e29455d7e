package modelcard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// card builds a README.md: a metadata block of the given lines (the first
// one on line 2) and a short body.
func card(lines ...string) string {
	return "---\n" + strings.Join(lines, "\n") + "\n---\n\nA fine-tuned classifier for product reviews.\n"
}

// base are metadata lines that make a card clean with baseFiles, so a case
// only shows the findings it is about.
var base = []string{"license: mit", "library_name: transformers", "pipeline_tag: text-classification"}

func withBase(lines ...string) string { return card(append(append([]string{}, base...), lines...)...) }

func baseFiles(extra ...string) []File {
	return fileList(append([]string{"config.json", "model.safetensors=267832560"}, extra...)...)
}

// at is an expected finding: check name and position.
type at struct {
	check     string
	line, col int
}

func (a at) String() string { return fmt.Sprintf("%s@%d:%d", a.check, a.line, a.col) }

func positions(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, at{f.Check, f.Line, f.Column}.String())
	}
	return out
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name   string
		readme string
		files  []File // nil means baseFiles()
		opts   Options
		want   []at
		// contains are substrings expected in the messages and fixes, in
		// the order of the findings.
		contains []string
	}{
		// Where the Hub finds the metadata.
		{name: "no metadata block", readme: "# A model\n\nSome text.\n",
			want: []at{{checkFrontMatterMissing, 1, 1}}},
		{name: "block never closed", readme: "---\nlicense: mit\n\n# Model\n\nText.\n",
			want: []at{{checkFrontMatterClosed, 1, 1}}, contains: []string{"never closed"}},
		{name: "blank after opening dashes", readme: "--- \nlicense: mit\n---\n\nText.\n",
			want: []at{{checkFrontMatterClosed, 1, 1}}, contains: []string{"blanks after the dashes"}},
		{name: "leading blank lines shift positions", readme: "\n\n---\nlicense: foo\nlibrary_name: transformers\npipeline_tag: text-classification\n---\n\nText.\n",
			want: []at{{checkLicense, 4, 10}}},
		{name: "CRLF line breaks", readme: "---\r\nlicense: foo\r\nlibrary_name: transformers\r\npipeline_tag: text-classification\r\n---\r\n\r\nText.\r\n",
			want: []at{{checkLicense, 2, 10}}},
		{name: "byte order mark", readme: "\ufeff" + withBase(),
			want: []at{{checkBOM, 1, 1}}},
		{name: "empty block", readme: "---\n\n---\n\nText.\n",
			want: []at{{checkFrontMatterEmpty, 1, 1}}},
		{name: "closing line of four dashes is not a close", readme: "---\nlicense: mit\n----\n\nText.\n",
			want: []at{{checkFrontMatterClosed, 1, 1}}},

		// YAML.
		{name: "unclosed flow list", readme: withBase("tags: [a, b"),
			want: []at{{checkYAMLSyntax, 5, 7}}},
		{name: "tab indentation", readme: withBase("model-index:", "\t- name: x"),
			want: []at{{checkYAMLSyntax, 6, 1}}, contains: []string{"YAML syntax error"}},
		{name: "a list, not a mapping", readme: card("- license", "- mit"),
			want: []at{{checkYAMLNotMapping, 2, 1}}, contains: []string{"a list, not a mapping"}},
		{name: "a string, not a mapping", readme: card("just some words"),
			want: []at{{checkYAMLNotMapping, 2, 1}}},
		{name: "two documents", readme: withBase("...", "license: mit"),
			want: []at{{checkYAMLSyntax, 5, 1}}, contains: []string{"more than one YAML document"}},
		{name: "python tag", readme: card("license: !!python/object:os.system mit", "library_name: transformers", "pipeline_tag: text-classification"),
			want: []at{{checkYAMLTag, 2, 10}}},
		{name: "standard tag is fine", readme: withBase("new_version: !!str example-org/v2"), want: nil},
		{name: "duplicate key", readme: withBase("tags: [a]", "license: apache-2.0"),
			want: []at{{checkDuplicateKey, 6, 1}}, contains: []string{"first at line 2"}},
		{name: "unquoted no", readme: withBase("language: no"),
			want: []at{{checkYAML11Bool, 5, 11}}, contains: []string{`quote it: ` + "`\"no\"`"}},
		{name: "quoted no is fine", readme: withBase(`language: "no"`), want: nil},
		{name: "undefined alias", readme: withBase("tags: *nothing"),
			want: []at{{checkYAMLSyntax, 5, 7}}},
		{name: "merge key keeps explicit keys", readme: card("x: &defaults", "  license: foo", "  library_name: transformers", "pipeline_tag: text-classification", "<<: *defaults", "license: mit"),
			want: nil},
		{name: "merged values are checked where they are written", readme: card("x: &defaults", "  license: foo", "  library_name: transformers", "pipeline_tag: text-classification", "<<: *defaults"),
			want: []at{{checkLicense, 3, 12}}},

		// Fields.
		{name: "blank license", readme: card("license:", "library_name: transformers", "pipeline_tag: text-classification"),
			want: []at{{checkBlankValue, 2, 1}}},
		{name: "misspelt field", readme: card("licence: mit", "library_name: transformers", "pipeline_tag: text-classification"),
			want: []at{{checkLicenseMissing, 1, 1}, {checkUnknownField, 2, 1}}, contains: []string{"no `license`", "did you mean `license`?"}},
		{name: "custom field far from any known one", readme: withBase("training_notes: long"), want: nil},
		{name: "license not an identifier", readme: card("license: Apache 2.0", "library_name: transformers", "pipeline_tag: text-classification"),
			want: []at{{checkLicense, 2, 10}}, contains: []string{"`Apache 2.0` is not a license identifier", "use `apache-2.0`"}},
		{name: "license list with one bad entry", readme: card("license: [mit, MIT License]", "library_name: transformers", "pipeline_tag: text-classification"),
			want: []at{{checkLicense, 2, 16}}, contains: []string{"use `mit`"}},
		{name: "license other without name and link", readme: card("license: other", "library_name: transformers", "pipeline_tag: text-classification"),
			want: []at{{checkLicenseOther, 2, 10}, {checkLicenseOther, 2, 10}}, contains: []string{"needs `license_link`", "needs `license_name`"}},
		{name: "license other linking a missing file", readme: card("license: other", "license_name: acme-1.0", "license_link: LICENSE.md", "library_name: transformers", "pipeline_tag: text-classification"),
			files: baseFiles("LICENSE"),
			want:  []at{{checkLicenseOther, 4, 15}}, contains: []string{"`LICENSE.md`, which is not in the repo", "point it at `LICENSE`"}},
		{name: "license link with wrong case", readme: card("license: other", "license_name: acme-1.0", "license_link: ./license.txt", "library_name: transformers", "pipeline_tag: text-classification"),
			files: baseFiles("LICENSE.txt"),
			want:  []at{{checkLicenseOther, 4, 15}}, contains: []string{"the file is named `LICENSE.txt`"}},
		{name: "license link to a URL or a present file", readme: card("license: other", "license_name: acme-1.0", "license_link: https://example.org/license", "library_name: transformers", "pipeline_tag: text-classification"),
			want: nil},
		{name: "license name written as a title", readme: card("license: other", "license_name: Acme Research License", "license_link: LICENSE", "library_name: transformers", "pipeline_tag: text-classification"),
			files: baseFiles("LICENSE"),
			want:  []at{{checkFieldType, 3, 15}}, contains: []string{"use something like `acme-research-license`"}},
		{name: "retired task", readme: card("license: mit", "library_name: transformers", "pipeline_tag: text2text-generation"),
			want: []at{{checkPipelineTag, 4, 15}}, contains: []string{"`text2text-generation` is not a task"}},
		{name: "misspelt task", readme: card("license: mit", "library_name: transformers", "pipeline_tag: text_classification"),
			want: []at{{checkPipelineTag, 4, 15}}, contains: []string{"use `text-classification`"}},
		{name: "task as a list", readme: card("license: mit", "library_name: transformers", "pipeline_tag: [text-classification]"),
			want: []at{{checkPipelineTag, 4, 15}}},
		{name: "library in the wrong case", readme: card("license: mit", "library_name: Transformers", "pipeline_tag: text-classification"),
			want: []at{{checkLibraryName, 3, 15}}, contains: []string{"use `transformers`"}},
		{name: "file format as library", readme: card("license: mit", "library_name: gguf", "pipeline_tag: text-generation"),
			files: fileList("model-Q4_K_M.gguf=4920734656"),
			want:  []at{{checkLibraryName, 3, 15}}, contains: []string{"file format"}},
		{name: "languages", readme: withBase("language:", "- en", "- EN", "- english", "- en-US", "- xx", "- iw", "- code", "- multilingual", "- yue", "- fra", "- 7"),
			want: []at{
				{checkLanguageForm, 7, 3}, {checkLanguage, 8, 3}, {checkLanguageForm, 9, 3}, {checkLanguage, 10, 3},
				{checkLanguageForm, 11, 3}, {checkLanguage, 16, 3}},
			contains: []string{"use `en`", "use `en`", "`en-US` is a BCP 47 tag", "`xx` is not an ISO 639", "use `he`", "this entry is an integer"}},
		{name: "language by native name", readme: withBase("language: français"),
			want: []at{{checkLanguage, 5, 11}}, contains: []string{"use `fr`"}},
		{name: "datasets", readme: withBase("datasets:", "- imdb", "- stanfordnlp/imdb", "- https://huggingface.co/datasets/allenai/c4/tree/main", "- Common Voice", "- datasets/foo/bar"),
			want:     []at{{checkDatasets, 8, 3}, {checkDatasets, 9, 3}, {checkDatasets, 10, 3}},
			contains: []string{"use `allenai/c4`", "namespace/name", "use `foo/bar`"}},
		{name: "base model URL", readme: withBase("base_model: https://huggingface.co/google-bert/bert-base-uncased"),
			want: []at{{checkBaseModel, 5, 13}}, contains: []string{"use `google-bert/bert-base-uncased`"}},
		{name: "base model list with finetune", readme: withBase("base_model: [a/one, b/two]", "base_model_relation: finetune"),
			want: []at{{checkBaseModelRelation, 6, 22}}, contains: []string{"lists 2 models"}},
		{name: "merge of one model", readme: withBase("base_model: a/one", "base_model_relation: merge"),
			want: []at{{checkBaseModelRelation, 6, 22}}},
		{name: "relation without base model", readme: withBase("base_model_relation: adapter"),
			want: []at{{checkBaseModelRelation, 5, 22}}},
		{name: "unknown relation", readme: withBase("base_model: a/one", "base_model_relation: fine-tuned"),
			want: []at{{checkBaseModelRelation, 6, 22}}, contains: []string{"use `finetune`"}},
		{name: "new version", readme: withBase("new_version: example org/v2"),
			want: []at{{checkNewVersion, 5, 14}}},
		{name: "other field types", readme: withBase("tags: 5", "thumbnail: [a]", "inference: sometimes", "co2_eq_emissions: {source: x}", "gated: maybe"),
			want: []at{{checkFieldType, 5, 7}, {checkFieldType, 6, 12}, {checkFieldType, 7, 12}, {checkFieldType, 8, 19}, {checkFieldType, 9, 8}}},
		{name: "required fields", readme: card("license: mit", "library_name: transformers", "pipeline_tag: text-classification"),
			opts: Options{Required: []string{"license", "datasets", "language"}},
			want: []at{{checkRequired, 1, 1}, {checkRequired, 1, 1}}, contains: []string{"`datasets` is required", "`language` is required"}},

		// model-index.
		{name: "model-index is a string", readme: withBase("model-index: foo"),
			want: []at{{checkModelIndex, 5, 14}}},
		{name: "model-index structure", readme: withBase(
			"model-index:",
			"- results:",
			"  - task: {name: Classification}",
			"    dataset: {type: imdb, name: IMDB, config: 2023, split: test, args: 5}",
			"    metrics:",
			"    - type: accuracy",
			"      valeu: 0.9",
			"      verified: yes",
			"    - type: f1",
			"      value: [1, 2]",
			"    source: {name: paper}",
			"  - task: text-classification",
			"    dataset: {name: IMDB}",
			"    metrics: []"),
			want: []at{
				{checkModelIndex, 6, 3},    // model without name
				{checkModelIndex, 7, 11},   // task without type
				{checkModelIndex, 8, 47},   // config is an integer
				{checkModelIndex, 8, 72},   // args is not a mapping
				{checkModelIndex, 10, 7},   // metric without value
				{checkModelIndex, 14, 14},  // value is a list
				{checkModelIndex, 15, 13},  // source without url
				{checkModelIndex, 16, 11},  // task is a string
				{checkModelIndex, 17, 14},  // dataset without type
				{checkModelIndex, 18, 14},  // empty metrics
				{checkYAML11Bool, 12, 17},  // yes
				{checkUnknownField, 11, 7}, // valeu
				{checkModelIndex, 12, 17},  // verified is not a boolean
			}},

		// widget.
		{name: "widget shapes", readme: withBase(
			"widget:",
			"- I love this product",
			"- title: Positive",
			"  text: I love it",
			"- example_title: nothing",
			"- src: samples/cat.png",
			"- source_sentence: a",
			"- messages:",
			"  - {role: human, content: hi}",
			"  - {role: user}",
			"- table: {a: [1, 2], b: [1]}",
			"  text: sum?",
			"- text: good",
			"  output: {label: pos}"),
			want: []at{
				{checkWidget, 6, 3}, {checkWidget, 7, 3}, {checkWidget, 9, 3}, {checkWidget, 10, 8},
				{checkWidget, 11, 3}, {checkWidget, 13, 12}, {checkWidget, 14, 5}, {checkWidget, 15, 25},
				{checkWidget, 18, 11}},
			contains: []string{"write `- text: I love this product`", "use `example_title`", "no input", "`samples/cat.png`, which is not in the repo",
				"both `source_sentence` and `sentences`", "not a chat role", "needs a `content`", "the same number", "unknown shape"}},
		{name: "widget src present", readme: withBase("widget:", "- src: samples/cat.png"), files: baseFiles("samples/cat.png"), want: nil},
		{name: "widget output image missing", readme: withBase("widget:", "- text: a cat", "  output:", "    url: images/cat.png"),
			want: []at{{checkWidget, 8, 10}}, contains: []string{"`output.url` points to `images/cat.png`"}},

		// The repo's files.
		{name: "pickle weights only", readme: withBase(),
			files: fileList("config.json", "pytorch_model-00001-of-00002.bin=9976576152", "pytorch_model-00002-of-00002.bin=3500296424", "training_args.bin"),
			want:  []at{{checkWeightsBinOnly, 0, 0}}, contains: []string{"2 files such as `pytorch_model-00001-of-00002.bin`, 13.5 GB"}},
		{name: "pickle beside safetensors", readme: withBase(),
			files: baseFiles("pytorch_model.bin=267832560"), want: nil},
		{name: "fastText bin", readme: card("license: mit", "library_name: fasttext", "pipeline_tag: text-classification"),
			files: fileList("model.bin=789000000"), want: nil},
		{name: "transformers without config", readme: withBase(),
			files: fileList("model.safetensors=267832560"),
			want:  []at{{checkTransformersConfig, 3, 15}}},
		{name: "transformers on an adapter", readme: withBase(),
			files: fileList("adapter_config.json", "adapter_model.safetensors=54560368"),
			want:  []at{{checkTransformersConfig, 3, 15}}, contains: []string{"set `library_name: peft`"}},
		{name: "adapter without library or task", readme: card("license: mit", "base_model: mistralai/Mistral-7B-v0.1"),
			files: fileList("adapter_config.json", "adapter_model.safetensors=54560368"),
			want:  []at{{checkLibraryMissing, 1, 1}, {checkPipelineMissing, 1, 1}}, contains: []string{"add `library_name: peft`", "task of an adapter"}},
		{name: "transformers task is inferred", readme: card("license: mit", "library_name: transformers"), want: nil},

		// Suggestions.
		{name: "recommended fields", readme: withBase(), opts: Options{Severity: map[string]string{}},
			want: []at{{checkRecommended, 1, 1}, {checkRecommended, 1, 1}}, contains: []string{"no `datasets`", "no `language` for a text-classification model"}},
		{name: "no datasets expected of a merge", readme: withBase("language: en", "base_model: [a/one, b/two]", "base_model_relation: merge"),
			opts: Options{Severity: map[string]string{}}, want: nil},
		{name: "no language expected of an image model", readme: card("license: mit", "library_name: timm", "pipeline_tag: image-classification", "datasets: [imagenet-1k]"),
			opts: Options{Severity: map[string]string{}}, want: nil},

		// The body.
		{name: "empty body", readme: "---\nlicense: mit\nlibrary_name: transformers\npipeline_tag: text-classification\n---\n\n<!-- fill me -->\n",
			want: []at{{checkBodyEmpty, 5, 1}}},
		{name: "template left in", readme: withBase() + "\n## Uses\n\n[More Information Needed]\n\n## Bias\n\n[More Information Needed]\n",
			want: []at{{checkBodyPlaceholder, 11, 1}}, contains: []string{"(2 times; the first is here)"}},

		// README.md itself.
		{name: "no README", readme: "", files: []File{{Path: "config.json"}},
			want: []at{{checkReadmeMissing, 0, 0}}},
		{name: "lowercase readme", readme: "", files: []File{{Path: "readme.md"}},
			want: []at{{checkReadmeMissing, 0, 0}}, contains: []string{"rename `readme.md` to `README.md`"}},
		{name: "README in LFS", readme: "", files: []File{{Path: "README.md", LFS: true, Size: 4000}},
			want: []at{{checkReadmeFile, 0, 0}}, contains: []string{"Git LFS"}},
		{name: "README in UTF-16", readme: "\xff\xfe-\x00-\x00-\x00", files: fileList(),
			want: []at{{checkReadmeFile, 0, 0}}, contains: []string{"UTF-16"}},
		{name: "README is a link", readme: "", files: []File{{Path: "README.md", Symlink: true}},
			want: []at{{checkReadmeFile, 0, 0}}, contains: []string{"symbolic link"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files
			if files == nil {
				files = baseFiles()
			}
			var readme []byte
			if tt.readme != "" {
				readme = []byte(tt.readme)
			}
			opts := tt.opts
			if opts.Severity == nil {
				// Most cases are about one problem; the suggestions every
				// small card gets are tested in their own cases.
				opts.Severity = map[string]string{checkRecommended: "off"}
			}
			rep := Check(readme, files, opts)
			var want []string
			for _, w := range tt.want {
				want = append(want, w.String())
			}
			assert.ElementsMatch(t, want, positions(rep), "findings: %+v", rep.Findings)
			var text []string
			for _, f := range rep.Findings {
				text = append(text, f.Message+" / "+f.Fix)
			}
			for _, c := range tt.contains {
				assert.Contains(t, strings.Join(text, "\n"), c)
			}
		})
	}
}
