package modelcard

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hubbot/hubbot/actions"
)

// Severity says how much a finding matters. Errors fail the check; warnings
// and suggestions are reported but do not.
type Severity string

// Severities, most serious first.
const (
	Error      Severity = "error"      // the Hub rejects the push or shows the page wrong
	Warning    Severity = "warning"    // likely a mistake, or a card that works worse than it could
	Suggestion Severity = "suggestion" // an improvement
)

// rank orders severities for sorting: lower is more serious.
func (s Severity) rank() int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	default:
		return 2
	}
}

// Check names, as used in findings and in the severity option.
const (
	checkReadmeMissing      = "readme-missing"
	checkReadmeFile         = "readme-file"
	checkBOM                = "byte-order-mark"
	checkFrontMatterMissing = "front-matter-missing"
	checkFrontMatterClosed  = "front-matter-delimiters"
	checkFrontMatterEmpty   = "front-matter-empty"
	checkYAMLSyntax         = "yaml-syntax"
	checkYAMLLimits         = "yaml-limits"
	checkYAMLNotMapping     = "yaml-not-mapping"
	checkYAMLTag            = "yaml-tag"
	checkDuplicateKey       = "duplicate-key"
	checkYAML11Bool         = "yaml11-boolean"
	checkBlankValue         = "blank-value"
	checkFieldType          = "field-type"
	checkUnknownField       = "unknown-field"
	checkRequired           = "required-field"
	checkLicense            = "license"
	checkLicenseMissing     = "license-missing"
	checkLicenseOther       = "license-other"
	checkPipelineTag        = "pipeline-tag"
	checkPipelineMissing    = "pipeline-tag-missing"
	checkLibraryName        = "library-name"
	checkLibraryMissing     = "library-name-missing"
	checkLanguage           = "language"
	checkLanguageForm       = "language-form"
	checkDatasets           = "datasets"
	checkBaseModel          = "base-model"
	checkBaseModelRelation  = "base-model-relation"
	checkNewVersion         = "new-version"
	checkModelIndex         = "model-index"
	checkWidget             = "widget"
	checkWeightsBinOnly     = "weights-bin-only"
	checkTransformersConfig = "transformers-config"
	checkBodyEmpty          = "body-empty"
	checkBodyPlaceholder    = "body-placeholder"
	checkRecommended        = "recommended-field"

	// Dataset cards.
	checkTaskCategories = "task-categories"
	checkDatasetEnum    = "dataset-tags"
	checkConfigs        = "configs"
	checkDataFiles      = "data-files"
	checkDatasetInfo    = "dataset-info"

	// Space cards.
	checkSpaceSDK        = "space-sdk"
	checkSpaceConfig     = "space-config"
	checkSpaceAppFile    = "space-app-file"
	checkSpaceRepoIDs    = "space-repo-ids"
	checkSpaceUnused     = "space-unused-field"
	checkSpaceDeprecated = "space-deprecated"
)

// CheckInfo describes one check: its name, the severity it reports at
// unless configured otherwise, and what it looks at.
type CheckInfo struct {
	Name     string
	Severity Severity
	About    string
}

// Checks lists every check this action runs, for documentation and for
// validating the severity option.
func Checks() []CheckInfo {
	return []CheckInfo{
		{checkReadmeMissing, Error, "README.md is missing at the repo root (the Hub reads no other name)"},
		{checkReadmeFile, Error, "README.md is stored with Git LFS, is a symbolic link, or is too large to be a card"},
		{checkBOM, Warning, "README.md starts with a byte order mark, which hides the metadata from Python tools"},
		{checkFrontMatterMissing, Warning, "README.md has no metadata block"},
		{checkFrontMatterClosed, Error, "the metadata block's delimiters are not ones the Hub recognises"},
		{checkFrontMatterEmpty, Warning, "the metadata block is empty"},
		{checkYAMLSyntax, Error, "the metadata is not valid YAML"},
		{checkYAMLLimits, Error, "the metadata is over hubbot's size, depth or alias limits"},
		{checkYAMLNotMapping, Error, "the metadata is not a mapping of keys to values"},
		{checkYAMLTag, Error, "the metadata uses a YAML tag that safe loaders refuse"},
		{checkDuplicateKey, Error, "a key appears twice in the same mapping"},
		{checkYAML11Bool, Warning, "an unquoted yes/no/on/off, which YAML 1.1 loaders read as a boolean"},
		{checkBlankValue, Error, "a known field is present with no value"},
		{checkFieldType, Warning, "a known field has a value of the wrong type"},
		{checkUnknownField, Warning, "an unknown field that looks like a misspelt known one"},
		{checkRequired, Error, "a field listed in the required option is missing"},
		{checkLicense, Error, "license is not one of the Hub's license identifiers"},
		{checkLicenseMissing, Warning, "no license"},
		{checkLicenseOther, Error, "license: other without license_name and license_link, or linking to a missing file"},
		{checkPipelineTag, Error, "pipeline_tag is not one of the Hub's tasks"},
		{checkPipelineMissing, Warning, "no pipeline_tag where the Hub cannot infer the task"},
		{checkLibraryName, Warning, "library_name is not a library the Hub knows"},
		{checkLibraryMissing, Warning, "no library_name although the files show which library the model uses"},
		{checkLanguage, Error, "a language is not an ISO 639 code or one of the Hub's special values"},
		{checkLanguageForm, Warning, "a language is written in a form the Hub does not use (region, script, case, old code)"},
		{checkDatasets, Warning, "a datasets entry is not shaped as a Hub dataset id"},
		{checkBaseModel, Error, "base_model is not shaped as a Hub model id"},
		{checkBaseModelRelation, Error, "base_model_relation is unknown or inconsistent with base_model"},
		{checkNewVersion, Warning, "new_version is not shaped as a Hub model id"},
		{checkModelIndex, Error, "model-index does not have the structure and types the Hub requires"},
		{checkWidget, Warning, "a widget example has an unknown shape or points to a missing file"},
		{checkWeightsBinOnly, Warning, "weights are only in pickle-based .bin files, with no safetensors"},
		{checkTransformersConfig, Warning, "library_name: transformers without a config.json"},
		{checkBodyEmpty, Warning, "the card has metadata but no text"},
		{checkBodyPlaceholder, Warning, "the card still contains template placeholder text"},
		{checkRecommended, Suggestion, "a field readers filter by is missing: datasets, or language for a text or speech model; task_categories for a dataset"},
		{checkTaskCategories, Warning, "dataset: a task_categories entry is not one of the Hub's tasks"},
		{checkDatasetEnum, Warning, "dataset: size_categories, multilinguality, annotations_creators or language_creators has a value the Hub does not list"},
		{checkConfigs, Error, "dataset: configs is not a list of subsets with config_name and well-formed data_files"},
		{checkDataFiles, Error, "dataset: a data_files path or pattern, or a data_dir, matches nothing in the repo"},
		{checkDatasetInfo, Warning, "dataset: dataset_info does not have the shape the datasets library writes"},
		{checkSpaceSDK, Error, "Space: sdk is missing or not gradio, docker or static"},
		{checkSpaceConfig, Error, "Space: a configuration field has a wrong type or value (colors, ports, versions, short_description length, OAuth, headers)"},
		{checkSpaceRepoIDs, Warning, "Space: a models, datasets or preload_from_hub entry is not shaped as a Hub repo id"},
		{checkSpaceAppFile, Error, "Space: app_file is not in the repo, or a Docker Space has no Dockerfile"},
		{checkSpaceUnused, Warning, "Space: a field that the Space's SDK or settings make ineffective"},
		{checkSpaceDeprecated, Warning, "Space: a setting the Hub no longer honours (sdk: streamlit, suggested_storage)"},
	}
}

// Options are the modelcard action's settings, from `[actions.with]`:
//
//	[actions.with]
//	required = ["license", "pipeline_tag"]   # missing ones are errors
//	fail_on = "error"                        # or "warning"
//	[actions.with.severity]                  # per check: error | warning | suggestion | off
//	weights-bin-only = "error"
//	body-placeholder = "off"
type Options struct {
	// Severity overrides the severity of checks, by check name.
	Severity map[string]string `toml:"severity"`
	// Required lists top-level metadata fields that must be present.
	Required []string `toml:"required"`
	// FailOn is the lowest severity that fails the check: "error" (the
	// default) or "warning".
	FailOn string `toml:"fail_on"`
}

// DecodeOptions decodes and validates `[actions.with]`. Problems are
// *actions.OptionError values naming the offending key.
func DecodeOptions(raw actions.Options) (Options, error) {
	var o Options
	if err := raw.Decode(&o); err != nil {
		return Options{}, err
	}
	return o, o.Validate()
}

// Validate reports the first invalid setting.
func (o Options) Validate() error {
	known := make(map[string]bool)
	for _, c := range Checks() {
		known[c.Name] = true
	}
	names := make([]string, 0, len(o.Severity))
	for name := range o.Severity {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !known[name] {
			return &actions.OptionError{Key: "severity." + name, Msg: "unknown check; see the modelcard checks list"}
		}
		switch o.Severity[name] {
		case string(Error), string(Warning), string(Suggestion), "off":
		default:
			return &actions.OptionError{Key: "severity." + name,
				Msg: fmt.Sprintf("severity %q is not one of error, warning, suggestion, off", o.Severity[name])}
		}
	}
	for i, f := range o.Required {
		if strings.TrimSpace(f) == "" || f != strings.TrimSpace(f) {
			return &actions.OptionError{Key: "required", Msg: fmt.Sprintf("entry %d is not a field name", i+1)}
		}
	}
	switch o.FailOn {
	case "", string(Error), string(Warning):
	default:
		return &actions.OptionError{Key: "fail_on", Msg: fmt.Sprintf("%q is not error or warning", o.FailOn)}
	}
	return nil
}

// severityOf returns the configured severity of a check, and false when the
// check is turned off.
func (o Options) severityOf(check string, def Severity) (Severity, bool) {
	s, ok := o.Severity[check]
	if !ok {
		return def, true
	}
	if s == "off" {
		return "", false
	}
	return Severity(s), true
}
