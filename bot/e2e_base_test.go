package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// cardPathsConfig runs only when the model card changes.
const cardPathsConfig = `
[[actions]]
name = "card"
uses = "run"
on = ["pull_request"]
paths = ["README.md"]
[actions.with]
command = ["sh", "-c", "echo card changed"]
`

// TestPullRequestAgainstAnotherBranch opens a pull request into dev, which
// differs from main in README.md, with a change to config.json only.
// Against dev nothing the action watches changed; against main, README.md
// would have.
func TestPullRequestAgainstAnotherBranch(t *testing.T) {
	h := newHarness(t, cardPathsConfig)
	_, err := h.hub.Push(h.alice, "alice/tiny", "dev", hubtest.Change{Files: map[string][]byte{"README.md": []byte(readme + "\nOn dev.\n")}})
	require.NoError(t, err)

	alice, err := hubclient.New(hubclient.Options{Endpoint: h.hub.URL, Token: h.alice.Token})
	require.NoError(t, err)
	res, err := alice.CreateCommit(t.Context(), hubclient.Repo{Type: hubclient.Model, ID: "alice/tiny"}, hubclient.CommitRequest{
		Revision: "dev", CreatePR: true, Summary: "Tweak the config",
		Files: []hubclient.CommitFile{{PathInRepo: "config.json", Content: []byte(`{"architectures":["BertModel"]}`)}},
	})
	require.NoError(t, err)
	require.NotZero(t, res.PullRequestNum)

	list := h.waitJobs(1)
	require.Len(t, list, 1)
	job := list[0]
	assert.Equal(t, refs.PR(res.PullRequestNum), job.Spec.Ref)
	assert.Equal(t, jobs.StateSkipped, job.State, "only config.json changed against dev: %s", job.Summary)
	assert.Equal(t, "no-change", job.Conclusion)
	full, err := h.bot.queue.Job(t.Context(), job.ID)
	require.NoError(t, err)
	assert.Contains(t, full.Log, "merges into refs/heads/dev")

	h.idle()
	comments := h.botComments(res.PullRequestNum)
	require.Len(t, comments, 1, "one sticky comment")
	h.golden("pr-into-dev-sticky", comments[0].Content) // it names the real base
}
