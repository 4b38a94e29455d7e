package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// TestCardRulesFollowRepoType: the repo type the Hub's webhook names picks
// the card rules. A dataset card and a Space card, each with a mistake
// only its own rules know, get their own findings; the same Space card
// with a pickle beside it gets no model findings.
func TestCardRulesFollowRepoType(t *testing.T) {
	h := newHarness(t, cardConfig)
	datasetCard := "---\nlicense: mit\ntask_categories: [text-classification]\nconfigs:\n- data_files: data/train.csv\n---\n\nProduct reviews.\n"
	spaceCard := "---\ntitle: Demo\nsdk: docker\napp_port: \"8080\"\n---\n"
	tests := []struct {
		spec     hubtest.RepoSpec
		readme   string
		contains []string
	}{
		{hubtest.RepoSpec{ID: "alice/reviews", Type: hubtest.TypeDataset, Files: map[string][]byte{"data/train.csv": []byte("text,label\n")}},
			datasetCard, []string{"❌ Dataset card: 1 error", "config&#95;name"}},
		{hubtest.RepoSpec{ID: "alice/demo", Type: hubtest.TypeSpace, SDK: "docker", Files: map[string][]byte{"Dockerfile": []byte("FROM scratch\n"), "pytorch_model.bin": []byte("not weights")}},
			spaceCard, []string{"❌ Space card: 1 error", "app&#95;port"}},
	}
	for i, tt := range tests {
		ref := tt.spec.Type + "s/" + tt.spec.ID
		_, err := h.hub.CreateRepo(h.alice, tt.spec)
		require.NoError(t, err)
		_, err = h.hub.Push(h.alice, ref, "main", hubtest.Change{Files: map[string][]byte{"README.md": []byte(tt.readme)}})
		require.NoError(t, err)
		h.waitJobs(i + 1)
		h.idle()
		d, ok := h.hub.Discussion(ref, 1)
		require.True(t, ok, "%s: the failed check opens a discussion", ref)
		body := comments(d)[0].Content
		for _, s := range tt.contains {
			assert.Contains(t, body, s, ref)
		}
		assert.NotContains(t, body, "pickle", "%s: no model rules", ref)
		assert.NotContains(t, body, "pipeline", "%s: no model rules", ref)
	}
}
