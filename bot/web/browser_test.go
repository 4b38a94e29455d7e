package web_test

// Browser tests: Debian's Chromium, headless, drives the dashboard as people
// do. Each test saves screenshots in its artifact directory (go test
// -artifacts) and fails on any console error, a CSP violation included.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/internal/browsertest"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// newBrowser starts a browser; expected are URLs whose failed load (a 404
// or 403 page) is what the test looks at. The fake Hub's pages (its login
// form has no icon) are not under test.
func newBrowser(t *testing.T, w *world, expected ...string) *browsertest.Browser {
	t.Helper()
	b := browsertest.New(t)
	for _, e := range append(expected, w.hub.URL) {
		b.ExpectFailedLoad(e)
	}
	t.Cleanup(func() { assert.Empty(t, b.Errors(), "console errors") })
	return b
}

func visit(t *testing.T, b *browsertest.Browser, u string) {
	t.Helper()
	require.NoError(t, chromedp.Do(b.Ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("body"))))
}

func text(t *testing.T, b *browsertest.Browser, sel string) string {
	t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err, "text of %s", sel)
	return s
}

func exists(t *testing.T, b *browsertest.Browser, sel string) bool {
	t.Helper()
	ok, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, sel)))
	require.NoError(t, err)
	return ok
}

// waitPath waits until the tab has loaded a page other than not, and
// returns its path. Evaluating during a navigation fails; it asks again.
func waitPath(t *testing.T, b *browsertest.Browser, not string) string {
	t.Helper()
	var p string
	require.Eventually(t, func() bool {
		var err error
		p, err = chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? location.pathname : ""`))
		return err == nil && p != "" && p != not
	}, 10*time.Second, 20*time.Millisecond, "the page never left %s", not)
	return p
}

// signInBrowser follows the sign-in button to the fake Hub's form and back.
func signInBrowser(t *testing.T, b *browsertest.Browser, u hubtest.User) {
	t.Helper()
	require.True(t, exists(t, b, "#signin"), "a sign-in button on the page")
	before, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`location.pathname`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(b.Ctx, chromedp.Click(chromedp.ID("signin")), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), u.Name), chromedp.SendKeys(chromedp.ID("password"), u.Token),
		chromedp.Click(chromedp.ID("authorize")), chromedp.WaitVisible(chromedp.CSS("header.top"))))
	assert.Equal(t, before, waitPath(t, b, "/oauth/authorize"), "back on the page where sign-in started")
	assert.Contains(t, text(t, b, ".who"), u.Name)
}

func TestBrowserPrivateRepoNeedsAMember(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.push(t, w.private, "model-card", jobs.StateSucceeded)

	b := newBrowser(t, w, w.url+"/repos/acme/secret-model")
	visit(t, b, w.url+"/repos/acme/secret-model")
	assert.Equal(t, "Not found", text(t, b, "h1"), "anonymous")
	assert.NotContains(t, text(t, b, "main"), "model card is fine")
	b.Screenshot(t, "private-repo-anonymous")
	signInBrowser(t, b, w.alice)
	assert.Equal(t, "acme/secret-model", text(t, b, "h1"), "a member, once signed in")
	assert.Contains(t, text(t, b, ".targets"), "model-card")
	b.Screenshot(t, "private-repo-member")

	other := newBrowser(t, w, w.url+"/repos/acme/secret-model")
	visit(t, other, w.url+"/repos/acme/secret-model")
	signInBrowser(t, other, w.bob)
	assert.Equal(t, "Not found", text(t, other, "h1"), "a signed-in non-member")
	other.Screenshot(t, "private-repo-non-member")
}

func TestBrowserRetryIsForOperators(t *testing.T) {
	w := newWorld(t, worldOpts{})
	id := w.push(t, w.public, "model-card", jobs.StateSucceeded)
	jobURL := fmt.Sprintf("%s/jobs/%d", w.url, id)
	count := func() int {
		list, err := w.queue.FindJobs(t.Context(), jobs.JobQuery{})
		require.NoError(t, err)
		return len(list)
	}

	// A page on another origin that posts to the retry URL, as a forger would.
	evil := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, `<!doctype html><form method="post" action="%s/retry"><button id="go">win a prize</button></form>`, jobURL)
	}))
	t.Cleanup(evil.Close)

	b := newBrowser(t, w, evil.URL, jobURL+"/retry")
	visit(t, b, jobURL)
	assert.False(t, exists(t, b, "#retry"), "no retry button for anonymous")
	signInBrowser(t, b, w.olga)
	require.True(t, exists(t, b, "#retry"), "the operator has a retry button")

	before := count()
	visit(t, b, evil.URL)
	require.NoError(t, chromedp.Do(b.Ctx, chromedp.Click(chromedp.ID("go"))))
	waitPath(t, b, "/")
	assert.Equal(t, "Refused", text(t, b, "h1"), "a forged POST without the CSRF token")
	assert.Equal(t, before, count())

	visit(t, b, jobURL)
	require.NoError(t, chromedp.Do(b.Ctx, chromedp.Click(chromedp.ID("retry"))))
	newPath := waitPath(t, b, fmt.Sprintf("/jobs/%d", id))
	assert.Equal(t, before+1, count())
	assert.Contains(t, text(t, b, "main"), fmt.Sprintf("#%d", id), "the new job names the one it retries")
	assert.True(t, strings.HasPrefix(newPath, "/jobs/"))
	b.Screenshot(t, "retried")

	member := newBrowser(t, w, jobURL+"/retry")
	visit(t, member, jobURL)
	signInBrowser(t, member, w.alice)
	assert.False(t, exists(t, member, "#retry"), "a signed-in non-operator has no retry button")
	// Even a hand-made form from the dashboard's own page is refused.
	_, err := chromedp.Run(member.Ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(function () {
		var f = document.createElement("form"); f.method = "post"; f.action = "/jobs/%d/retry";
		var i = document.createElement("input"); i.name = "csrf"; i.value = document.querySelector("input[name=csrf]").value;
		f.appendChild(i); document.body.appendChild(f); f.submit(); return true; })()`, id)))
	require.NoError(t, err)
	waitPath(t, member, fmt.Sprintf("/jobs/%d", id))
	_, err = chromedp.Run(member.Ctx, chromedp.Poll[bool](`document.querySelector("h1") && document.querySelector("h1").textContent === "Operators only"`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "a member's POST, with her valid CSRF token, is refused: she is no operator")
	assert.Equal(t, before+1, count())
	member.Screenshot(t, "retry-refused")
}

func TestBrowserLiveLog(t *testing.T) {
	w := newWorld(t, worldOpts{})
	id := w.push(t, w.public, "convert", jobs.StateRunning)
	log := <-w.started

	b := newBrowser(t, w)
	visit(t, b, fmt.Sprintf("%s/jobs/%d", w.url, id))
	assert.Equal(t, "running", text(t, b, "#state"))
	assert.Contains(t, text(t, b, "#log"), "checking acme/open-model")
	// A mark that a reload would wipe out.
	_, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`window.notReloaded = true`))
	require.NoError(t, err)

	for i := 1; i <= 3; i++ {
		log.Printf("step %d of 3: converting shard %d", i, i)
		_, err := chromedp.Run(b.Ctx, chromedp.Poll[bool](
			fmt.Sprintf(`document.getElementById("log").textContent.includes("step %d of 3")`, i), chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err, "line %d never showed", i)
	}
	b.Screenshot(t, "live-log-running")

	// The log outgrows its cap at once: the page shows the cut and follows on.
	log.Write([]byte(numberedLines(0, 40000))) // 2.5 MB
	log.Printf("after the cut")
	_, err = chromedp.Run(b.Ctx, chromedp.Poll[bool](`document.getElementById("log").textContent.includes("after the cut")`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the live log goes on past the cut")
	shown := text(t, b, "#log")
	assert.Regexp(t, `\[\.\.\. \d+ bytes cut \.\.\.\]`, shown, "the cut is marked")
	assert.Contains(t, shown, "step 3 of 3", "what was shown stays")
	assert.Contains(t, shown, "line 039999", "the tail follows")
	assert.Equal(t, 1, strings.Count(shown, "line 039999"), "nothing twice")
	w.finish(id)
	_, err = chromedp.Run(b.Ctx, chromedp.Poll[bool](`document.getElementById("state").textContent === "succeeded"`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the state badge follows the job")
	still, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`window.notReloaded === true`))
	require.NoError(t, err)
	assert.True(t, still, "the log grew without a reload")
	assert.Contains(t, text(t, b, "#log"), "conversion done")
	assert.Equal(t, "model card is fine", text(t, b, "#summary"))
	b.Screenshot(t, "live-log-finished")
}

// TestBrowserEveryPage visits each page as an operator and as anonymous,
// on a wide and a phone-sized window, and fails on any console error (the
// cleanup checks). It also makes the screenshots in docs/.
func TestBrowserEveryPage(t *testing.T) {
	w := newWorld(t, worldOpts{publicURL: true, configure: func(c *config.Config) { c.Hub.Watch = []string{"acme/*"} }})
	syncWebhook(t, w, w.url, "acme/*")
	w.push(t, w.public, "model-card", jobs.StateSucceeded)
	w.push(t, w.private, "model-card", jobs.StateSucceeded)
	failed := w.push(t, w.public, "model-card-pr", jobs.StateFailed)
	running := w.push(t, w.public, "convert", jobs.StateRunning)
	log := <-w.started
	log.Printf("loading pytorch_model.bin (12 tensors)")
	log.Printf("writing model.safetensors")
	t.Cleanup(func() { w.finish(running) })

	pages := []string{"/", "/jobs", "/jobs?state=failed", "/jobs?repo=nobody/nothing", "/deliveries", "/deliveries/1",
		"/repos/acme/open-model", "/repos/acme/secret-model", fmt.Sprintf("/jobs/%d", failed), fmt.Sprintf("/jobs/%d", running),
		"/jobs/424242"}
	b := newBrowser(t, w, w.url+"/jobs/424242")
	visit(t, b, w.url+"/")
	signInBrowser(t, b, w.olga)
	for _, p := range pages {
		visit(t, b, w.url+p)
		assert.NotEmpty(t, text(t, b, "h1"), p)
	}
	visit(t, b, w.url+"/")
	assert.Equal(t, "in sync", text(t, b, "#webhook-state"))
	b.Screenshot(t, "dashboard-home")
	visit(t, b, fmt.Sprintf("%s/jobs/%d", w.url, failed))
	b.Screenshot(t, "dashboard-job")
	visit(t, b, fmt.Sprintf("%s/jobs/%d", w.url, running))
	b.Screenshot(t, "job-running")

	anon := newBrowser(t, w, w.url+"/jobs/424242", w.url+"/deliveries/1", w.url+"/repos/acme/secret-model")
	require.NoError(t, chromedp.Do(anon.Ctx, chromedp.EmulateViewport(390, 844)))
	for _, p := range pages {
		visit(t, anon, w.url+p)
		assert.NotEmpty(t, text(t, anon, "h1"), p)
	}
	visit(t, anon, fmt.Sprintf("%s/jobs/%d", w.url, failed))
	anon.Screenshot(t, "job-phone")
	visit(t, anon, w.url+"/jobs")
	anon.Screenshot(t, "jobs-phone")
}
