package modelcard

import (
	"fmt"
	"strings"
)

// RepoType is the kind of Hub repo a card belongs to. The Hub reads the same
// README.md front matter for all three, but with different fields: a model
// card describes weights, a dataset card data files and their subsets, a
// Space card the app the Space runs. Each gets its own rules.
type RepoType string

// Repo types, as the Hub names them.
const (
	Model   RepoType = "model"
	Dataset RepoType = "dataset"
	Space   RepoType = "space"
)

// ParseRepoType reads a repo type as written on the command line or in a
// workspace: "model", "dataset" or "space" (plurals accepted, since the
// Hub's URLs use them); the empty string means "detect from the card".
func ParseRepoType(s string) (RepoType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "model", "models":
		return Model, nil
	case "dataset", "datasets":
		return Dataset, nil
	case "space", "spaces":
		return Space, nil
	}
	return "", fmt.Errorf("unknown repo type %q (want model, dataset or space)", s)
}

// noun names the repo type in findings and summaries.
func (t RepoType) noun() string {
	switch t {
	case Dataset:
		return "dataset"
	case Space:
		return "Space"
	}
	return "model"
}

// datasetOnlyFields are front matter keys only dataset cards use
// (hub-docs datasetcard.md and datasets-manual-configuration.md); one of
// them marks a card as a dataset's when the repo type is not known.
func datasetOnlyFields() []string {
	return []string{"task_categories", "task_ids", "size_categories", "multilinguality",
		"annotations_creators", "language_creators", "source_datasets", "pretty_name",
		"paperswithcode_id", "configs", "dataset_info", "train-eval-index"}
}

// detectRepoType guesses the repo type of a card whose repo is unknown (a
// local folder): `sdk` is the one key every Space card has and no other
// card uses; a dataset-only key marks a dataset; anything else is a model.
func detectRepoType(meta *node) RepoType {
	if meta.get("sdk") != nil {
		return Space
	}
	for _, k := range datasetOnlyFields() {
		if meta.get(k) != nil {
			return Dataset
		}
	}
	return Model
}
