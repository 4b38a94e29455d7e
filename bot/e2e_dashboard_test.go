package bot

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/internal/browsertest"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// The link's host is a placeholder: the bot's port is known only once it
// listens, after the configuration is read. The test swaps it for the
// bot's address, and checks everything after it.
const dashboardConfig = `
[server]
public_url = "http://dashboard.invalid"
` + cardConfig

var fullLogRE = regexp.MustCompile(`\[full log\]\((http://dashboard\.invalid(/[^)]*))\)`)

// TestCommentLinkOpensTheJobPage follows the "full log" link of a report
// comment on a public repo, as the PR's author would, without signing in.
func TestCommentLinkOpensTheJobPage(t *testing.T) {
	h := newHarness(t, dashboardConfig)
	_, err := h.hub.Push(h.alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"README.md": []byte(brokenCard)}})
	require.NoError(t, err)
	list := h.waitJobs(1)
	require.Equal(t, jobs.StateFailed, list[0].State)
	h.idle()
	ds := h.discussions()
	require.Len(t, ds, 1)
	body := comments(ds[0])[0].Content
	m := fullLogRE.FindStringSubmatch(body)
	require.NotNil(t, m, "the report links its full log: %s", body)
	assert.Equal(t, fmt.Sprintf("/jobs/%d", list[0].ID), m[2], "the link opens the job page")

	resp, err := http.Get(h.base + m[2])
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "anonymous, public repo")

	b := browsertest.New(t)
	require.NoError(t, chromedp.Do(b.Ctx, chromedp.Navigate(h.base+m[2]), chromedp.WaitVisible(chromedp.ID("log"))))
	title, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS("h1")))
	require.NoError(t, err)
	assert.Contains(t, title, fmt.Sprintf("Job #%d", list[0].ID))
	state, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.ID("state")))
	require.NoError(t, err)
	assert.Equal(t, "failed", state)
	page, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	assert.Contains(t, page, "apache2", "the result is on the page")
	assert.False(t, strings.Contains(page, "Retry"), "no operator buttons for anonymous")
	b.Screenshot(t, "job-from-comment")
	assert.Empty(t, b.Errors(), "console errors")
}
