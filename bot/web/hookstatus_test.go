package web_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/hooksync"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// clock is a settable clock for the dashboard's caches.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func webhookLists(hub *hubtest.Server) int {
	n := 0
	for _, r := range hub.Requests() {
		if r.Method == http.MethodGet && r.Path == "/api/settings/webhooks" {
			n++
		}
	}
	return n
}

// TestHomeShowsWebhookSync: / says whether the Hub's webhook is what the
// configuration wants (what `hubbot webhook status` says), asking the Hub
// once a minute at most; operators see what differs.
func TestHomeShowsWebhookSync(t *testing.T) {
	const hookURL = "http://127.0.0.1:9/webhooks/hub" // nothing listens: no delivery leaves the machine
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	w := newWorld(t, worldOpts{now: clk.Now, configure: func(c *config.Config) {
		c.Server.PublicURL = "http://127.0.0.1:9"
		c.Hub.Watch = []string{"acme/*"}
	}})
	admin := []string{"Authorization", "Bearer " + adminToken}
	home := func(header ...string) string {
		t.Helper()
		a := get(t, http.DefaultClient, w.url+"/", header...)
		require.Equal(t, http.StatusOK, a.status)
		return a.body
	}

	w.hub.ResetRequests()
	page := home(admin...)
	assert.Contains(t, page, `id="webhook-state">missing<`)
	assert.Contains(t, page, "create a webhook for "+hookURL+" watching org:acme")
	assert.Contains(t, page, "hubbot webhook sync")
	anon := home()
	assert.Contains(t, anon, `id="webhook-state">missing<`)
	assert.NotContains(t, anon, "create a webhook for", "the details are for operators")
	assert.Equal(t, 1, webhookLists(w.hub), "two views within a minute ask the Hub once")

	bot, hook := syncWebhook(t, w, "http://127.0.0.1:9", "acme/*")

	assert.Contains(t, home(admin...), `id="webhook-state">missing<`, "still the answer of a moment ago")
	clk.Add(61 * time.Second)
	page = home(admin...)
	assert.Contains(t, page, `id="webhook-state">in sync<`)
	assert.Contains(t, page, "webhook "+hook.ID+" is as the configuration wants it")
	assert.NotContains(t, page, `id="webhook-changes"`)

	// Someone edits the webhook on the Hub.
	_, err := bot.UpdateWebhook(t.Context(), hook.ID, hubclient.WebhookSpec{URL: hookURL, Secret: "webhook-secret-for-tests",
		Watched: []hubclient.WatchedItem{{Type: "org", Name: "acme"}, {Type: "user", Name: "bob"}}, Domains: []string{"repo"}})
	require.NoError(t, err)
	clk.Add(61 * time.Second)
	page = home(admin...)
	assert.Contains(t, page, `id="webhook-state">differs<`)
	assert.Contains(t, page, "watched: -user:bob")
	assert.Contains(t, page, "domains: repo -&gt; repo, discussion")
	anon = home()
	assert.Contains(t, anon, `id="webhook-state">differs<`)
	assert.NotContains(t, anon, "user:bob", "a page anyone reads names no repo or user the configuration does not")

	// The Hub does not answer: not checked, and why; asked again soon.
	w.hub.Fail(hubtest.Fault{Path: "/api/settings/webhooks", Times: -1})
	clk.Add(61 * time.Second)
	page = home(admin...)
	assert.Contains(t, page, `id="webhook-state">not checked<`)
	assert.Contains(t, page, "the Hub did not answer")
	assert.Contains(t, page, `id="webhook-error"`)
	assert.NotContains(t, page, w.bot.Token)
	w.hub.ClearFaults()
	clk.Add(16 * time.Second)
	assert.Contains(t, home(admin...), `id="webhook-state">differs<`, "a failure is remembered only briefly")
}

// TestHomeWebhookNotChecked: without a token or a public URL there is
// nothing to check, and / says which is missing without asking the Hub.
func TestHomeWebhookNotChecked(t *testing.T) {
	for _, tt := range []struct {
		name      string
		configure func(*config.Config)
		why       string
	}{
		{"no public url", func(c *config.Config) { c.Hub.Watch = []string{"acme/*"} }, "server.public_url is not set"},
		{"no token", func(c *config.Config) { c.Server.PublicURL, c.Secrets.HFToken = "http://127.0.0.1:9", "" }, "HF_TOKEN is not set"},
		{"nothing to watch", func(c *config.Config) { c.Server.PublicURL = "http://127.0.0.1:9" }, "the configuration does not say which webhook it wants"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, worldOpts{configure: tt.configure})
			w.hub.ResetRequests()
			a := get(t, http.DefaultClient, w.url+"/", "Authorization", "Bearer "+adminToken)
			require.Equal(t, http.StatusOK, a.status)
			assert.Contains(t, a.body, `id="webhook-state">not checked<`)
			assert.Contains(t, a.body, tt.why)
			assert.Zero(t, webhookLists(w.hub))
		})
	}
}

// syncWebhook makes the bot's webhook on the fake Hub what a configuration
// with publicURL and watch wants, as `hubbot webhook sync` does.
func syncWebhook(t *testing.T, w *world, publicURL string, watch ...string) (*hubclient.Client, *hubclient.Webhook) {
	t.Helper()
	bot, err := hubclient.New(hubclient.Options{Endpoint: w.hub.URL, Token: w.bot.Token})
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Server.PublicURL, cfg.Hub.Watch = publicURL, watch
	cfg.Secrets.WebhookSecrets = []string{"webhook-secret-for-tests"}
	want, err := hooksync.Wanted(cfg)
	require.NoError(t, err)
	_, hook, err := hooksync.Sync(t.Context(), bot, want)
	require.NoError(t, err)
	return bot, hook
}
