package modelcard

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
