package modelcard

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
)

// typedCards are dataset and Space cards with the files such repos hold.
func typedCards() map[string]struct {
	typ   RepoType
	files []File
} {
	type entry = struct {
		typ   RepoType
		files []File
	}
	return map[string]entry{
		"dataset-reviews.md": {Dataset, fileList("data/en/train-00000-of-00002.parquet=52428800",
			"data/en/train-00001-of-00002.parquet=52428800", "data/en/test.parquet=10485760",
			"data/fr/train-00000-of-00001.parquet=10485760", "data/fr/test.parquet=1048576")},
		"dataset-broken.md": {Dataset, fileList("data/train.csv=2097152", "data/valid-0.csv=262144", "raw/tickets.json=4194304")},
		"space-gradio.md":   {Space, fileList("app.py", "requirements.txt")},
		"space-docker.md":   {Space, fileList("Dockerfile", "start.sh")},
		"space-broken.md":   {Space, fileList("app.py", "requirements.txt")},
	}
}

func TestTypedCardsClean(t *testing.T) {
	for _, name := range []string{"dataset-reviews.md", "space-gradio.md", "space-docker.md"} {
		tc := typedCards()[name]
		t.Run(name, func(t *testing.T) {
			for _, typ := range []RepoType{tc.typ, ""} {
				rep := CheckRepo(readCard(t, name), tc.files, typ, Options{})
				assert.Empty(t, rep.Findings, "type %q", typ)
				assert.Equal(t, tc.typ, rep.Type, "type %q", typ)
			}
		})
	}
}

// TestTypedCardsGolden shows each broken card's own findings, in the
// text form `hubbot check` prints.
func TestTypedCardsGolden(t *testing.T) {
	for _, name := range []string{"dataset-broken.md", "space-broken.md"} {
		tc := typedCards()[name]
		t.Run(name, func(t *testing.T) {
			rep := CheckRepo(readCard(t, name), tc.files, tc.typ, Options{})
			assert.True(t, rep.Failed())
			var text bytes.Buffer
			require.NoError(t, rep.WriteText(&text))
			golden(t, strings.TrimSuffix(name, ".md")+".txt", text.String())
			res := rep.Result()
			golden(t, name, res.Summary+"\n\n"+res.Details)
			assert.Equal(t, rep.Findings, CheckRepo(readCard(t, name), tc.files, "", Options{}).Findings,
				"detection finds the same type")
		})
	}
}

// typedCase is one card checked with the rules of typ.
type typedCase struct {
	name     string
	typ      RepoType // "" detects
	readme   string
	files    []File
	want     []at
	contains []string // substrings of the findings' messages and fixes, in order
}

func runTyped(t *testing.T, tests []typedCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := CheckRepo([]byte(tt.readme), tt.files, tt.typ, Options{})
			var want []string
			for _, w := range tt.want {
				want = append(want, w.String())
			}
			assert.ElementsMatch(t, want, positions(rep), "findings: %+v", rep.Findings)
			var text []string
			for _, f := range rep.Findings {
				text = append(text, f.Message+" / "+f.Fix)
			}
			all := strings.Join(text, "\n")
			for _, s := range tt.contains {
				i := strings.Index(all, s)
				if !assert.GreaterOrEqual(t, i, 0, "%q not in\n%s", s, all) {
					continue
				}
				all = all[i+len(s):]
			}
		})
	}
}

// dataset builds a dataset card: the given metadata lines after a license
// and a task (so a case shows only its own findings) and a short body.
func dataset(lines ...string) string {
	return card(append([]string{"license: mit", "task_categories: [text-classification]"}, lines...)...)
}

func TestDatasetChecks(t *testing.T) {
	files := fileList("data/train.csv", "data/test.csv", "extra/a.jsonl", "extra/sub/b.jsonl")
	runTyped(t, []typedCase{
		{name: "a clean minimal card", typ: Dataset, readme: dataset(), files: files},
		{name: "no model rules: no library, task or weights findings", typ: Dataset,
			readme: dataset(), files: fileList("pytorch_model.bin=1000000", "config.json")},
		{name: "missing license and task", typ: Dataset, readme: card("pretty_name: X"), files: files,
			want:     []at{{checkLicenseMissing, 1, 1}, {checkRecommended, 1, 1}},
			contains: []string{"the dataset's license", "no `task_categories`"}},
		{name: "old plural keys", typ: Dataset, readme: dataset("languages: [en]", "licenses: [mit]"), files: files,
			want: []at{{checkUnknownField, 4, 1}}, contains: []string{"did you mean `language`?"}},
		{name: "blank task_categories", typ: Dataset, readme: card("license: mit", "task_categories:"), files: files,
			want: []at{{checkBlankValue, 3, 1}}},
		{name: "task categories", typ: Dataset, readme: card("license: mit", "task_categories: [text_classification, ner, teleportation]"), files: files,
			want:     []at{{checkTaskCategories, 3, 19}, {checkTaskCategories, 3, 40}, {checkTaskCategories, 3, 45}},
			contains: []string{"use `text-classification`", "use `token-classification`", "`teleportation` is not a task"}},
		{name: "enumerated tags", typ: Dataset,
			readme: dataset("size_categories: 1k<n<10k", "multilinguality: [monolingual, bilingual]", "annotations_creators: [expert_generated]", "language_creators: [no-annotation]"),
			files:  files,
			want:   []at{{checkDatasetEnum, 4, 18}, {checkDatasetEnum, 5, 32}, {checkDatasetEnum, 6, 24}, {checkDatasetEnum, 7, 21}},
			contains: []string{"use `1K<n<10K`", "`bilingual` is not a value of `multilinguality`", "use `expert-generated`",
				"`no-annotation` is not a value of `language_creators`"}},
		{name: "language rules as for models", typ: Dataset, readme: dataset("language: [english]"), files: files,
			want: []at{{checkLanguage, 4, 12}}, contains: []string{"use `en`"}},
		{name: "wrong types", typ: Dataset, readme: dataset("pretty_name: [a]", "viewer: no-thanks", "task_ids: {a: b}"), files: files,
			want: []at{{checkFieldType, 4, 14}, {checkFieldType, 5, 9}, {checkFieldType, 6, 11}}},
		{name: "configs with every data_files form", typ: Dataset, files: files, readme: dataset(
			"configs:",
			"- config_name: default",
			"  data_files:",
			"  - split: train",
			"    path: data/train.csv",
			"  - split: test",
			"    path: [data/test.csv]",
			"  default: true",
			"- config_name: extra",
			"  data_dir: extra",
			"  data_files: \"**/*.jsonl\"",
			"- config_name: globbed",
			"  data_files: [\"data/*.csv\", \"extra/[ab].jsonl\"]",
			"  sep: \";\"",
			"- config_name: remote",
			"  data_files: https://example.org/data.csv")},
		{name: "configs mistakes", typ: Dataset, files: files, readme: dataset(
			"configs:",
			"- config_name: default",
			"  data_files:",
			"  - split: train",
			"    path: data/Train.csv",
			"  - path: data/test.csv",
			"  - split: train",
			"    path: data/test.csv",
			"  default: true",
			"- config_name: default",
			"  data_dir: missing",
			"  default: true",
			"- just-a-string",
			"- data_files: 7"),
			want: []at{
				{checkDataFiles, 8, 11}, {checkConfigs, 9, 5}, {checkConfigs, 10, 12}, {checkConfigs, 13, 16},
				{checkDataFiles, 14, 13}, {checkConfigs, 15, 12}, {checkConfigs, 16, 3}, {checkConfigs, 17, 3}, {checkConfigs, 17, 15}},
			contains: []string{"the file is named `data/train.csv`", "needs a `split` name", "split `train` is listed twice",
				"`default` names two subsets", "`missing` is not a folder", "only one subset can be the default",
				"must be a mapping, not a string", "no `config_name`", "not an integer"}},
		{name: "configs not a list", typ: Dataset, files: files, readme: dataset("configs: {config_name: x}"),
			want: []at{{checkConfigs, 4, 10}}},
		{name: "dataset_info shapes", typ: Dataset, files: files, readme: dataset(
			"dataset_info:",
			"  features: 3",
			"  splits:",
			"  - name: train",
			"    num_bytes: 1.5",
			"  - num_examples: 10",
			"  dataset_size: big"),
			want: []at{{checkDatasetInfo, 5, 13}, {checkDatasetInfo, 8, 16}, {checkDatasetInfo, 9, 5}, {checkDatasetInfo, 10, 17}}},
		{name: "dataset_info as a list per subset", typ: Dataset, files: files, readme: dataset(
			"dataset_info:",
			"- config_name: a",
			"  splits: [{name: train, num_bytes: 10, num_examples: 2}]",
			"- 7"),
			want: []at{{checkDatasetInfo, 7, 3}}},
	})
}

// space builds a Space card: a title and the given metadata lines.
func space(lines ...string) string {
	return "---\n" + strings.Join(append([]string{"title: Demo"}, lines...), "\n") + "\n---\n"
}

func TestSpaceChecks(t *testing.T) {
	gradio := fileList("app.py", "requirements.txt")
	docker := fileList("Dockerfile", "server.py")
	runTyped(t, []typedCase{
		{name: "docker", typ: Space, readme: space("sdk: docker", "app_port: 7860"), files: docker},
		{name: "gradio", typ: Space, readme: space("sdk: gradio", "sdk_version: 5.9.1", "app_file: app.py", "python_version: '3.12'"), files: gradio},
		{name: "static built by a command", typ: Space, readme: space("sdk: static", "app_build_command: npm run build", "app_file: dist/index.html"),
			files: fileList("package.json")},
		{name: "no model or dataset rules", typ: Space, readme: space("sdk: docker"), files: append(docker, File{Path: "pytorch_model.bin", Size: 1 << 20})},
		{name: "an empty body is normal for a Space", typ: Space, readme: space("sdk: docker") + "\n\n", files: docker},
		{name: "no sdk", typ: Space, readme: space("emoji: 🚀"), files: docker,
			want: []at{{checkSpaceSDK, 1, 1}}, contains: []string{"no `sdk`"}},
		{name: "unknown sdk", typ: Space, readme: space("sdk: flask"), files: docker,
			want: []at{{checkSpaceSDK, 3, 6}}, contains: []string{"`flask` is not a Space SDK"}},
		{name: "streamlit is deprecated", typ: Space, readme: space("sdk: streamlit", "app_file: app.py"), files: gradio,
			want: []at{{checkSpaceDeprecated, 3, 6}}, contains: []string{"use `sdk: docker`"}},
		{name: "docker without Dockerfile", typ: Space, readme: space("sdk: docker"), files: fileList("dockerfile"),
			want: []at{{checkSpaceAppFile, 3, 6}}, contains: []string{"rename `dockerfile` to `Dockerfile`"}},
		{name: "gradio app file missing", typ: Space, readme: space("sdk: gradio", "app_file: main.py"), files: gradio,
			want: []at{{checkSpaceAppFile, 4, 11}}},
		{name: "ports", typ: Space, readme: space("sdk: docker", "app_port: \"8080\""), files: docker,
			want: []at{{checkSpaceConfig, 4, 11}}, contains: []string{"write the port unquoted: `app_port: 8080`"}},
		{name: "port out of range", typ: Space, readme: space("sdk: docker", "app_port: 70000"), files: docker,
			want: []at{{checkSpaceConfig, 4, 11}}},
		{name: "settings another sdk ignores", typ: Space, readme: space("sdk: gradio", "app_file: app.py", "app_port: 8080"), files: gradio,
			want: []at{{checkSpaceUnused, 5, 11}}},
		{name: "sdk_version on docker", typ: Space, readme: space("sdk: docker", "sdk_version: '5.0'"), files: docker,
			want: []at{{checkSpaceUnused, 4, 14}}},
		{name: "versions", typ: Space, readme: space("sdk: gradio", "app_file: app.py", "python_version: 3.10", "sdk_version: 5", "colorFromm: red"), files: gradio,
			want:     []at{{checkSpaceConfig, 5, 17}, {checkSpaceConfig, 6, 14}, {checkUnknownField, 7, 1}},
			contains: []string{"3.10 reads as 3.1", `quote it: ` + "`sdk_version: \"5\"`", "did you mean `colorFrom`?"}},
		{name: "python 2", typ: Space, readme: space("sdk: gradio", "app_file: app.py", "python_version: '2.7'"), files: gradio,
			want: []at{{checkSpaceConfig, 5, 17}}},
		{name: "looks", typ: Space, readme: space("sdk: docker", "emoji: A", "colorFrom: grey", "colorTo: 3", "header: tiny", "base_path: app", "fullWidth: yes please"), files: docker,
			want: []at{{checkSpaceConfig, 4, 8}, {checkSpaceConfig, 5, 12}, {checkSpaceConfig, 6, 10}, {checkSpaceConfig, 7, 9},
				{checkSpaceConfig, 8, 12}, {checkSpaceConfig, 9, 12}},
			contains: []string{"one emoji", "not a color", "must be a string, not an integer", "`mini` or `default`", "use `/app`", "true or false"}},
		{name: "short description at the limit and over it", typ: Space, readme: space("sdk: docker", "short_description: "+strings.Repeat("é", 60)), files: docker},
		{name: "short description over the limit", typ: Space, readme: space("sdk: docker", "short_description: "+strings.Repeat("a", 61)), files: docker,
			want: []at{{checkSpaceConfig, 4, 20}}, contains: []string{"61 characters"}},
		{name: "linked repos", typ: Space, readme: space("sdk: docker", "models: [gpt2, org/a/b]", "datasets: [https://hf.co/datasets/org/d]"), files: docker,
			want: []at{{checkSpaceRepoIDs, 4, 16}, {checkSpaceRepoIDs, 5, 12}}, contains: []string{"more than one", "use `org/d`"}},
		{name: "oauth", typ: Space, readme: space("sdk: docker", "hf_oauth: true", "hf_oauth_scopes: [read-repos, inference]", "hf_oauth_expiration_minutes: 50000"), files: docker,
			want: []at{{checkSpaceConfig, 5, 31}, {checkSpaceConfig, 6, 30}}, contains: []string{"use one of `inference-api`", "43200"}},
		{name: "oauth settings without oauth", typ: Space, readme: space("sdk: docker", "hf_oauth_authorized_org: [acme]"), files: docker,
			want: []at{{checkSpaceUnused, 4, 1}}},
		{name: "hardware and storage", typ: Space, readme: space("sdk: docker", "suggested_hardware: a10g-smal", "suggested_storage: small"), files: docker,
			want: []at{{checkSpaceConfig, 4, 21}, {checkSpaceDeprecated, 5, 20}}, contains: []string{"use `a10g-small`", "no longer"}},
		{name: "startup timeout", typ: Space, readme: space("sdk: docker", "startup_duration_timeout: 1h30m"), files: docker},
		{name: "bad startup timeout", typ: Space, readme: space("sdk: docker", "startup_duration_timeout: 90"), files: docker,
			want: []at{{checkSpaceConfig, 4, 27}}},
		{name: "headers", typ: Space, readme: space("sdk: docker", "custom_headers:", "  Cross-Origin-Opener-Policy: same-origin", "  cross-origin-embedder-policy: Require-Corp", "  x-frame-options: deny"), files: docker,
			want:     []at{{checkSpaceConfig, 5, 3}, {checkSpaceConfig, 6, 33}, {checkSpaceConfig, 7, 3}},
			contains: []string{"must be lowercase", "use `require-corp`", "only the COEP, COOP and CORP"}},
		{name: "preload", typ: Space, readme: space("sdk: docker", "preload_from_hub:", "- openai-community/gpt2 config.json 11c5a3d5811f50298f278a704980280950aedb10", "- datasets/org/d", "- a b c d", "- https://hf.co/x/y"), files: docker,
			want: []at{{checkSpaceConfig, 7, 3}, {checkSpaceRepoIDs, 8, 3}}},
		{name: "license checked when present", typ: Space, readme: space("sdk: docker", "license: MIT"), files: docker,
			want: []at{{checkLicense, 4, 10}}},
	})
}

func TestDetectRepoType(t *testing.T) {
	tests := []struct {
		readme string
		want   RepoType
	}{
		{"---\nsdk: docker\nlicense: mit\n---\n", Space},
		{"---\ntask_categories: [translation]\n---\nText.\n", Dataset},
		{"---\nconfigs:\n- config_name: default\n  data_files: a.csv\n---\nText.\n", Dataset},
		{"---\nsize_categories: n<1K\n---\nText.\n", Dataset},
		{"---\nlicense: mit\npipeline_tag: fill-mask\n---\nText.\n", Model},
		{"---\n---\nText.\n", Model},
		{"no metadata\n", Model},
		{"---\n- a list\n---\n", Model},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, CheckRepo([]byte(tt.readme), fileList("a.csv"), "", Options{}).Type, "%q", tt.readme)
	}
	for in, want := range map[string]RepoType{"": "", "model": Model, "datasets": Dataset, "Space": Space} {
		got, err := ParseRepoType(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseRepoType("bucket")
	assert.ErrorContains(t, err, `unknown repo type "bucket"`)
}

// Template text in code blocks is an example, not a leftover, whatever
// the repo type.
func TestPlaceholdersInCode(t *testing.T) {
	const ph = "[More Information Needed]"
	bodies := []struct {
		name  string
		body  string
		lines []int // lines (in the body) where the placeholder is prose
	}{
		{"fenced", "Intro.\n\n```markdown\n" + ph + "\n```\n", nil},
		{"tilde fence with info", "Intro.\n\n~~~~ text\n" + ph + "\n~~~~\n", nil},
		{"unclosed fence runs to the end", "Intro.\n\n```\n" + ph + "\n", nil},
		{"indented", "Intro.\n\n    " + ph + "\n", nil},
		{"fence in a list", "- item\n\n  ```\n  " + ph + "\n  ```\n", nil},
		{"indented continuation of a list item is prose", "- item\n\n    " + ph + "\n", []int{3}},
		{"paragraph continuation is prose", "Intro\n    " + ph + "\n", []int{2}},
		{"inline code is still prose", "Use `" + ph + "` here.\n", []int{1}},
		{"prose after a code block", "```\n" + ph + "\n```\n\n" + ph + "\n", []int{5}},
	}
	kinds := []struct {
		typ   RepoType
		meta  string
		files []File
	}{
		{Model, "license: mit\nlibrary_name: transformers\npipeline_tag: text-classification\ndatasets: [imdb]\nlanguage: en", baseFiles()},
		{Dataset, "license: mit\ntask_categories: [text-classification]", fileList("a.csv")},
		{Space, "title: x\nsdk: docker", fileList("Dockerfile")},
	}
	for _, k := range kinds {
		for _, b := range bodies {
			t.Run(string(k.typ)+"/"+b.name, func(t *testing.T) {
				readme := "---\n" + k.meta + "\n---\n" + b.body
				offset := strings.Count(k.meta, "\n") + 3 // the lines before the body
				rep := CheckRepo([]byte(readme), k.files, k.typ, Options{})
				var got []int
				for _, f := range rep.Findings {
					if f.Check == checkBodyPlaceholder {
						got = append(got, f.Line-offset)
					} else {
						t.Errorf("unexpected finding %+v", f)
					}
				}
				assert.Equal(t, b.lines, got)
			})
		}
	}
}

// TestActionRulesFollowRepoType: the action applies the rules of the type
// the bot puts in the workspace, and detects it for a folder without one.
func TestActionRulesFollowRepoType(t *testing.T) {
	a, err := New(nil)
	require.NoError(t, err)
	// A Space card in a repo that also holds a pickle: as a Space it is
	// clean; checked as a model it gets the model rules.
	dir := writeRepo(t, map[string]any{
		"README.md":  string(readCard(t, "space-docker.md")),
		"Dockerfile": "FROM scratch\n",
		"model.bin":  int64(1 << 20),
	})
	tests := []struct {
		repoType string
		summary  string
		log      string
	}{
		{"space", "✅ Space card: no problems found", "applied the Space card rules"},
		{"", "✅ Space card: no problems found", "applied the Space card rules"},
		{"unknown", "✅ Space card: no problems found", "applied the Space card rules"},
		{"model", "⚠️ Model card: no errors, 4 warnings, 1 suggestion", "applied the model card rules"},
		{"dataset", "⚠️ Dataset card: no errors, 3 warnings, 1 suggestion", "applied the dataset card rules"},
	}
	for _, tt := range tests {
		t.Run(tt.repoType, func(t *testing.T) {
			var log bytes.Buffer
			ws := &actions.Workspace{Dir: dir, Repo: actions.Repo{ID: "example-org/tool", Type: tt.repoType}}
			res, err := a.Run(t.Context(), ws, &log)
			require.NoError(t, err)
			assert.Equal(t, tt.summary, res.Summary)
			assert.Contains(t, log.String(), tt.log)
		})
	}
}

func TestRunCLIRepoType(t *testing.T) {
	ds := typedCards()["dataset-broken.md"]
	files := map[string]any{"README.md": string(readCard(t, "dataset-broken.md"))}
	for _, f := range ds.files[1:] {
		files[f.Path] = f.Size
	}
	broken := writeRepo(t, files)
	space := writeRepo(t, map[string]any{"README.md": string(readCard(t, "space-gradio.md")), "app.py": "import gradio\n", "requirements.txt": ""})
	tests := []struct {
		name, dir, typ string
		code           int
		stdout, stderr string
	}{
		{"dataset detected", broken, "", ExitFindings, "dataset card FAILED: 4 errors, 6 warnings", ""},
		{"dataset named", broken, "dataset", ExitFindings, "[configs]", ""},
		{"space detected", space, "", ExitOK, "space card ok: 0 errors, 0 warnings, 0 suggestions", ""},
		{"space checked as a model", space, "model", ExitOK, "model card ok", ""},
		{"unknown type", space, "bucket", ExitUnusable, "", `unknown repo type "bucket"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tt.code, RunCLI(t.Context(), tt.dir, "text", tt.typ, Options{}, &stdout, &stderr))
			assert.Contains(t, stdout.String(), tt.stdout)
			assert.Contains(t, stderr.String(), tt.stderr)
		})
	}
	var out bytes.Buffer
	require.Equal(t, ExitFindings, RunCLI(t.Context(), broken, "json", "", Options{}, &out, &out))
	var decoded struct {
		Type string `json:"type"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &decoded))
	assert.Equal(t, "dataset", decoded.Type)
}

// A body nested deeper than any real card is searched as plain text, so
// the parser never sees it; its placeholders are all reported.
func TestPlaceholdersInDeepNesting(t *testing.T) {
	assert.Equal(t, 0, containerDepth([]byte("Text.\n"+strings.Repeat(" ", 40)+"x = 1\n")), "indentation is not nesting")
	assert.Equal(t, 3, containerDepth([]byte("a\n> - 1. x\n- y\n")))
	assert.Equal(t, 1, containerDepth([]byte("-x\n1.5 litres\n- y\n")))

	deep := strings.Repeat("> ", maxContainerDepth+1) + "x\n\n```\n[More Information Needed]\n```\n"
	rep := CheckRepo([]byte("---\ntitle: x\nsdk: docker\n---\n"+deep), fileList("Dockerfile"), Space, Options{})
	assert.Equal(t, []string{"body-placeholder@8:1"}, positions(rep))

	long := strings.Repeat("Text.\n", maxParsedBody/6+1) + "```\n[More Information Needed]\n```\n"
	rep = CheckRepo([]byte("---\ntitle: x\nsdk: docker\n---\n"+long), fileList("Dockerfile"), Space, Options{})
	assert.Len(t, rep.Findings, 1)
}

// hubbot's own README.md is the card of the Space it deploys as.
func TestOwnReadmeIsACleanSpaceCard(t *testing.T) {
	readme, files, err := Load(t.Context(), &actions.Workspace{Dir: filepath.Join("..", "..")})
	require.NoError(t, err)
	require.NotNil(t, readme)
	rep := CheckRepo(readme, files, "", Options{})
	assert.Equal(t, Space, rep.Type)
	assert.Empty(t, rep.Findings)
}
