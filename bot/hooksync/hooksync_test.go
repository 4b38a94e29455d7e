package hooksync_test

import (
	"net/http"
	"net/http/httptest"
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

func configFor(t *testing.T, doc string, secrets ...string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("c.toml", []byte(doc))
	require.NoError(t, err)
	cfg.Secrets.WebhookSecrets = secrets
	return cfg
}

func TestWanted(t *testing.T) {
	const base = "[server]\npublic_url = \"https://bot.example/\"\n"
	tests := []struct {
		name       string
		doc        string
		namespaces []string
		repos      []hubclient.WatchedItem
		err        []string
	}{
		{"org glob and repos", base + "[repos]\nallow = [\"acme/*\", \"alice/tiny\", \"datasets/alice/data\", \"spaces/alice/demo\"]\n",
			[]string{"acme"}, []hubclient.WatchedItem{{Type: "dataset", Name: "alice/data"}, {Type: "model", Name: "alice/tiny"}, {Type: "space", Name: "alice/demo"}}, nil},
		{"a repo inside a watched namespace is covered", base + "[repos]\nallow = [\"acme/one\", \"acme/*\", \"datasets/acme/*\"]\n",
			[]string{"acme"}, nil, nil},
		{"a pattern in the name watches the namespace", base + "[repos]\nallow = [\"alice/bert-*\"]\n", []string{"alice"}, nil, nil},
		{"watch wins over allow", base + "[hub]\nwatch = [\"bob/*\"]\n[repos]\nallow = [\"*\"]\n", []string{"bob"}, nil, nil},
		{"bare star", base + "[repos]\nallow = [\"acme/*\", \"*\"]\n", nil, nil,
			[]string{`c.toml:4: repos.allow[1]: "*" names every repo on the Hub`, `[hub] watch = [`}},
		{"pattern in the namespace", base + "[repos]\nallow = [\"*/models\"]\n", nil, nil, []string{"repos.allow[0]", "the user or org part is a pattern"}},
		{"no public url", "[repos]\nallow = [\"acme/*\"]\n", nil, nil, []string{"server.public_url: is empty and SPACE_HOST is not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := hooksync.Wanted(configFor(t, tt.doc, "a-long-enough-secret"))
			if tt.err != nil {
				require.Error(t, err)
				for _, e := range tt.err {
					assert.Contains(t, err.Error(), e)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "https://bot.example/webhooks/hub", want.URL)
			assert.Equal(t, "a-long-enough-secret", want.Secret)
			assert.Equal(t, []string{"repo", "discussion"}, want.Domains)
			assert.Equal(t, tt.namespaces, want.Namespaces)
			assert.Equal(t, tt.repos, want.Repos)
		})
	}

	_, err := hooksync.Wanted(configFor(t, base+"[repos]\nallow = [\"acme/*\"]\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WEBHOOK_SECRET is not set")
}

// receiver counts deliveries and remembers their secrets.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	secrets []string
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.secrets = append(rc.secrets, r.Header.Get("X-Webhook-Secret"))
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.secrets...)
}

func TestSyncAgainstHubtest(t *testing.T) {
	srv, err := hubtest.New(hubtest.Options{})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	ctx := t.Context()
	alice, bob, bot := srv.AddUser("alice"), srv.AddUser("bob"), srv.AddUser("hubbot-ci")
	srv.AddOrg("acme", alice)
	srv.AddOrg("botorg", bot)
	for _, spec := range []hubtest.RepoSpec{{ID: "acme/one"}, {ID: "bob/tool"}, {ID: "alice/tiny"}, {ID: "hubbot-ci/own"}} {
		owner := alice
		switch spec.ID {
		case "bob/tool":
			owner = bob
		case "hubbot-ci/own":
			owner = bot
		}
		spec.Files = map[string][]byte{"README.md": []byte("# x\n")}
		_, err := srv.CreateRepo(owner, spec)
		require.NoError(t, err)
	}
	client, err := hubclient.New(hubclient.Options{Endpoint: srv.URL, Token: bot.Token, RetryBaseDelay: time.Millisecond})
	require.NoError(t, err)
	rc := newReceiver(t)
	doc := "[server]\npublic_url = \"" + rc.URL + "\"\n[repos]\nallow = [\"acme/*\", \"bob/*\", \"hubbot-ci/*\", \"botorg/*\"]\n"
	want, err := hooksync.Wanted(configFor(t, doc, "first-secret-0123456"))
	require.NoError(t, err)

	// First sync creates the webhook, with users and orgs told apart.
	plan, hook, err := hooksync.Sync(ctx, client, want)
	require.NoError(t, err)
	assert.Nil(t, plan.Current)
	require.Len(t, plan.Changes, 1)
	assert.Contains(t, plan.Changes[0], "create a webhook for "+rc.URL+"/webhooks/hub")
	assert.Equal(t, rc.URL+"/webhooks/hub", hook.URL)
	assert.Equal(t, []hubclient.WatchedItem{{Type: "org", Name: "acme"}, {Type: "org", Name: "botorg"},
		{Type: "user", Name: "bob"}, {Type: "user", Name: "hubbot-ci"}}, hook.Watched)
	assert.Equal(t, []string{"repo", "discussion"}, hook.Domains)

	// The second changes nothing.
	plan, again, err := hooksync.Sync(ctx, client, want)
	require.NoError(t, err)
	assert.True(t, plan.Unchanged(), "%v", plan.Changes)
	assert.Equal(t, hook, again)
	assert.Len(t, srv.Webhooks(), 1)

	// Deliveries follow the watched accounts, with the secret.
	_, err = srv.Push(alice, "acme/one", "main", hubtest.Change{Files: map[string][]byte{"a": []byte("1")}})
	require.NoError(t, err)
	_, err = srv.Push(alice, "alice/tiny", "main", hubtest.Change{Files: map[string][]byte{"a": []byte("1")}})
	require.NoError(t, err)
	_, err = srv.OpenDiscussion(alice, "bob/tool", "Hello", "hello")
	require.NoError(t, err)
	deliveries, err := srv.WaitIdle(ctx)
	require.NoError(t, err)
	require.Len(t, deliveries, 2)
	assert.Equal(t, "acme/one", deliveries[0].RepoName)
	assert.Equal(t, "bob/tool", deliveries[1].RepoName)
	assert.Equal(t, []string{"first-secret-0123456", "first-secret-0123456"}, rc.got())

	// A new secret, a narrower watch and a disabled webhook: one update fixes all.
	_, err = client.DisableWebhook(ctx, hook.ID)
	require.NoError(t, err)
	want, err = hooksync.Wanted(configFor(t, doc+"[hub]\nwatch = [\"acme/*\", \"alice/tiny\"]\n", "second-secret-0123456"))
	require.NoError(t, err)
	plan, hook, err = hooksync.Sync(ctx, client, want)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"watched: +model:alice/tiny -org:botorg -user:bob -user:hubbot-ci",
		"secret: replaced by the first WEBHOOK_SECRET",
		"enable: the webhook was disabled",
	}, plan.Changes)
	assert.False(t, hook.Disabled)
	assert.Equal(t, []hubclient.WatchedItem{{Type: "model", Name: "alice/tiny"}, {Type: "org", Name: "acme"}}, hook.Watched)
	require.Len(t, srv.Webhooks(), 1)
	assert.Equal(t, "second-secret-0123456", srv.Webhooks()[0].Secret)

	desc := hooksync.Describe(hook, []string{"second-secret-0123456"})
	assert.Contains(t, desc, "state:   enabled")
	assert.Contains(t, desc, "secret:  matches WEBHOOK_SECRET")
	assert.NotContains(t, desc, "second-secret-0123456")
}
