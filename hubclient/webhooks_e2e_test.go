package hubclient_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// receiver records the deliveries it gets with their secret header.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []string // the X-Webhook-Secret of each delivery
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.got = append(rc.got, r.Header.Get("X-Webhook-Secret"))
		rc.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) secrets() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.got...)
}

func TestWebhookLifecycleAgainstHubtest(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	ctx := t.Context()
	alice := h.client(t, h.alice.Token)
	bob := h.client(t, h.bob.Token)
	rc := newReceiver(t)

	none, err := alice.ListWebhooks(ctx)
	require.NoError(t, err)
	assert.Empty(t, none)

	// Watch the acme org: a push to acme/secret is delivered, one to alice/tiny is not.
	created, err := alice.CreateWebhook(ctx, hubclient.WebhookSpec{URL: rc.URL + "/hook", Secret: "first-secret-1234",
		Watched: []hubclient.WatchedItem{{Type: "org", Name: "acme"}}, Domains: []string{hubclient.DomainRepo}})
	require.NoError(t, err)
	assert.Len(t, created.ID, 24)
	assert.Equal(t, rc.URL+"/hook", created.URL)
	assert.Equal(t, []hubclient.WatchedItem{{Type: "org", Name: "acme"}}, created.Watched)
	assert.Equal(t, []string{"repo"}, created.Domains)
	assert.False(t, created.Disabled)

	_, err = h.srv.Push(h.alice, tinyID, "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	_, err = h.srv.Push(h.alice, secretID, "main", hubtest.Change{Files: map[string][]byte{"a.txt": []byte("a")}})
	require.NoError(t, err)
	deliveries, err := h.srv.WaitIdle(ctx)
	require.NoError(t, err)
	require.Len(t, deliveries, 1)
	assert.Equal(t, "acme/secret", deliveries[0].RepoName)
	assert.Equal(t, created.ID, deliveries[0].WebhookID)
	assert.Equal(t, []string{"first-secret-1234"}, rc.secrets())

	// Other users neither see nor change it.
	theirs, err := bob.ListWebhooks(ctx)
	require.NoError(t, err)
	assert.Empty(t, theirs)
	_, err = bob.GetWebhook(ctx, created.ID)
	assert.True(t, hubclient.IsNotFound(err), "%v", err)
	_, err = bob.UpdateWebhook(ctx, created.ID, hubclient.WebhookSpec{Watched: []hubclient.WatchedItem{{Type: "user", Name: "bob"}}})
	assert.True(t, hubclient.IsNotFound(err), "%v", err)

	// Update: watch one dataset repo, both domains, a new secret.
	updated, err := alice.UpdateWebhook(ctx, created.ID, hubclient.WebhookSpec{URL: rc.URL + "/hook", Secret: "second-secret-123",
		Watched: []hubclient.WatchedItem{{Type: "dataset", Name: dataID}}, Domains: []string{"repo", "discussion"}})
	require.NoError(t, err)
	assert.Equal(t, []hubclient.WatchedItem{{Type: "dataset", Name: dataID}}, updated.Watched)
	got, err := alice.GetWebhook(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, updated, got)
	assert.Equal(t, "second-secret-123", got.Secret)

	_, err = h.srv.OpenDiscussion(h.bob, "datasets/"+dataID, "Question", "What is in it?")
	require.NoError(t, err)
	deliveries, err = h.srv.WaitIdle(ctx)
	require.NoError(t, err)
	require.Len(t, deliveries, 2)
	assert.Equal(t, "discussion", deliveries[1].Scope)
	assert.Equal(t, "second-secret-123", rc.secrets()[1])

	// Disabled webhooks deliver nothing; enabled ones deliver again.
	off, err := alice.DisableWebhook(ctx, created.ID)
	require.NoError(t, err)
	assert.True(t, off.Disabled)
	_, err = h.srv.OpenDiscussion(h.bob, "datasets/"+dataID, "Again", "?")
	require.NoError(t, err)
	deliveries, err = h.srv.WaitIdle(ctx)
	require.NoError(t, err)
	assert.Len(t, deliveries, 2)
	on, err := alice.EnableWebhook(ctx, created.ID)
	require.NoError(t, err)
	assert.False(t, on.Disabled)

	// Bad requests are refused with 400; a read token may not write.
	_, err = alice.CreateWebhook(ctx, hubclient.WebhookSpec{URL: rc.URL, Watched: nil})
	assert.True(t, hubclient.IsBadRequest(err), "%v", err)
	_, err = alice.CreateWebhook(ctx, hubclient.WebhookSpec{URL: rc.URL, Domains: []string{"everything"},
		Watched: []hubclient.WatchedItem{{Type: "user", Name: "alice"}}})
	assert.True(t, hubclient.IsBadRequest(err), "%v", err)
	require.NoError(t, h.srv.AddToken(h.alice, "hf_alice_read_only_token", hubtest.RoleRead))
	_, err = h.client(t, "hf_alice_read_only_token").CreateWebhook(ctx, hubclient.WebhookSpec{URL: rc.URL,
		Watched: []hubclient.WatchedItem{{Type: "user", Name: "alice"}}})
	assert.True(t, hubclient.IsForbidden(err), "%v", err)
	_, err = h.client(t, "").ListWebhooks(ctx)
	assert.True(t, hubclient.IsUnauthorized(err), "%v", err)

	// Delete: gone from the list and from get.
	require.NoError(t, alice.DeleteWebhook(ctx, created.ID))
	_, err = alice.GetWebhook(ctx, created.ID)
	assert.True(t, hubclient.IsNotFound(err), "%v", err)
	all, err := alice.ListWebhooks(ctx)
	require.NoError(t, err)
	assert.Empty(t, all)
}

func TestOrgOverviewTellsOrgsFromUsers(t *testing.T) {
	h := newHub(t, hubtest.Options{})
	c := h.client(t, h.alice.Token)
	org, err := c.GetOrgOverview(t.Context(), "acme")
	require.NoError(t, err)
	assert.Equal(t, "acme", org.Name)
	_, err = c.GetOrgOverview(t.Context(), "alice")
	assert.True(t, hubclient.IsNotFound(err), "%v", err)
}
