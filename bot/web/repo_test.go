package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// discussionLists counts the Hub calls that list a repo's pull requests.
func discussionLists(hub *hubtest.Server, repo string) int {
	n := 0
	for _, r := range hub.Requests() {
		if r.Method == http.MethodGet && r.Path == "/api/models/"+repo+"/discussions" {
			n++
		}
	}
	return n
}

// TestRepoPageShowsOpenPullRequests: a repo's page has the latest result of
// each action on each branch and on each open pull request; a closed or
// merged one's results are left out, as the Hub says, asked once in a
// while, not on every view.
func TestRepoPageShowsOpenPullRequests(t *testing.T) {
	w := newWorld(t, worldOpts{})
	repo := w.public.String()
	var prs []hubtest.PR
	for _, title := range []string{"Fix the license", "Add a dataset card link", "Typo"} {
		pr, err := w.hub.OpenPR(w.alice, repo, title, "", hubtest.Change{Files: map[string][]byte{"README.md": []byte("# " + title + "\n")}})
		require.NoError(t, err)
		prs = append(prs, pr)
	}
	require.NoError(t, w.hub.SetStatus(w.alice, repo, prs[0].Num, "closed"))
	_, err := w.hub.MergePR(w.alice, repo, prs[2].Num)
	require.NoError(t, err)

	mainJob := w.push(t, w.public, "model-card", jobs.StateSucceeded)
	devJob := w.record(t, jobs.Spec{Kind: jobs.KindRun, Action: "model-card", Trigger: "push", Repo: w.public, Ref: "refs/heads/dev",
		SHA: strings.Repeat("d", 40)}, jobs.StateSucceeded)
	prJobs := map[int]int64{}
	for _, pr := range prs {
		prJobs[pr.Num] = w.record(t, jobs.Spec{Kind: jobs.KindRun, Action: "model-card", Trigger: "pull_request", Repo: w.public,
			Ref: pr.Ref, SHA: pr.SHA, Discussion: pr.Num}, jobs.StateFailed)
	}

	w.hub.ResetRequests()
	page := get(t, http.DefaultClient, w.url+"/repos/"+repo)
	require.Equal(t, http.StatusOK, page.status)
	assert.Contains(t, page.body, jobLink(mainJob), "the main branch")
	assert.Contains(t, page.body, jobLink(devJob), "another branch")
	assert.Contains(t, page.body, ">dev<")
	assert.Contains(t, page.body, jobLink(prJobs[prs[1].Num]), "the open pull request")
	assert.Contains(t, page.body, "PR #2")
	assert.NotContains(t, page.body, jobLink(prJobs[prs[0].Num]), "not the closed one")
	assert.NotContains(t, page.body, jobLink(prJobs[prs[2].Num]), "not the merged one")
	assert.Contains(t, page.body, "2 closed pull requests are left out")
	assert.NotContains(t, page.body, `id="open-unknown"`)

	again := get(t, http.DefaultClient, w.url+"/repos/"+repo)
	assert.Equal(t, page.body, again.body)
	assert.Equal(t, 1, discussionLists(w.hub, repo), "the Hub is asked once for both views")

	// A repo whose pull requests the Hub will not list: every pull request
	// stays, and the page says why.
	prID := w.record(t, jobs.Spec{Kind: jobs.KindRun, Action: "model-card", Trigger: "pull_request", Repo: w.private,
		Ref: "refs/pr/7", SHA: strings.Repeat("7", 40), Discussion: 7}, jobs.StateFailed)
	w.hub.Fail(hubtest.Fault{Path: "/api/models/" + w.private.String() + "/discussions", Times: -1})
	page = get(t, http.DefaultClient, w.url+"/repos/"+w.private.String(), "Authorization", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, page.status)
	assert.Contains(t, page.body, jobLink(prID))
	assert.Contains(t, page.body, `id="open-unknown"`)
}

func jobLink(id int64) string { return fmt.Sprintf(`href="/jobs/%d"`, id) }
