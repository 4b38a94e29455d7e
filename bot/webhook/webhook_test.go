package webhook

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "payloads", name))
	require.NoError(t, err)
	return data
}

func TestDecodeFixtures(t *testing.T) {
	t.Run("PR opened", func(t *testing.T) {
		p, err := Decode(fixture(t, "discussion-create-pr-opened.json"))
		require.NoError(t, err)
		assert.Equal(t, Event{Action: "create", Scope: "discussion"}, p.Event)
		assert.Equal(t, "gpt2", p.Repo.Name)
		assert.Equal(t, "628b753283ef59b5be89e937", p.Repo.Owner.ID)
		require.NotNil(t, p.Discussion)
		assert.Equal(t, 19, p.Discussion.Num)
		assert.True(t, p.Discussion.IsPullRequest)
		assert.Equal(t, "refs/heads/main", p.Discussion.Changes.Base)
		assert.Equal(t, "Add co2 emissions information to the model card", p.Comment.Text())
		assert.Equal(t, 3, p.Webhook.Version)
		assert.Equal(t, "discussion:gpt2:6399f58518721fdd27fc9ca9:create:open", p.Key())
	})
	t.Run("PR closed, no comment", func(t *testing.T) {
		p, err := Decode(fixture(t, "discussion-update-pr-closed.json"))
		require.NoError(t, err)
		assert.Nil(t, p.Comment)
		assert.Equal(t, "closed", p.Discussion.Status)
		assert.Equal(t, hubclient.Repo{Type: hubclient.Space, ID: "Wauplin/leaderboard"}, p.HubRepo())
		assert.Equal(t, "spaces/Wauplin/leaderboard", p.RepoPath())
	})
	t.Run("new PR ref with headSha and subdomain", func(t *testing.T) {
		p, err := Decode(fixture(t, "repo-content-new-pr-ref.json"))
		require.NoError(t, err)
		assert.Equal(t, "5e7f29fffcc579cb52539fddb14a1a4f85f39e44", p.Repo.HeadSHA)
		assert.Equal(t, "wauplin-gradio-user-history", p.Repo.Subdomain)
		require.Len(t, p.UpdatedRefs, 1)
		assert.Equal(t, "refs/pr/5", p.UpdatedRefs[0].Ref)
		assert.Equal(t, "", p.UpdatedRefs[0].Old())
		assert.Equal(t, "227c78346870a85e5de4fff8a585db68df975406", p.UpdatedRefs[0].New())
	})
	t.Run("push to main and a tag", func(t *testing.T) {
		p, err := Decode(fixture(t, "repo-content-push-main-and-tag.json"))
		require.NoError(t, err)
		assert.Equal(t, []string{"license:other", "has_space"}, p.Repo.Tags)
		assert.Len(t, p.UpdatedRefs, 2)
		assert.Equal(t, "content:some-user/some-repo:refs/heads/main@575db8b7a51b6f85eb06eee540738584589f131c,refs/tags/test@575db8b7a51b6f85eb06eee540738584589f131c", p.Key())
	})
	t.Run("config change", func(t *testing.T) {
		p, err := Decode(fixture(t, "repo-config-private.json"))
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"private": false}, p.UpdatedConfig)
	})
	t.Run("comment", func(t *testing.T) {
		p, err := Decode(fixture(t, "discussion-comment-create.json"))
		require.NoError(t, err)
		assert.Equal(t, "comment:some-user/some-repo:6398872887bfcfb93a306f18:create", p.Key())
	})
	t.Run("legacy v2 is unsupported, not malformed", func(t *testing.T) {
		_, err := Decode(fixture(t, "legacy-v2-repo-content.json"))
		var v *UnsupportedVersionError
		require.ErrorAs(t, err, &v)
		assert.Equal(t, 2, v.Version)
	})
}

func TestDecodeBadBodies(t *testing.T) {
	tests := map[string]string{
		"not json":          `hello`,
		"array":             `[]`,
		"no event":          `{"repo":{"name":"a/b","type":"model"}}`,
		"no action":         `{"event":{"scope":"repo"},"repo":{"name":"a/b","type":"model"}}`,
		"no repo name":      `{"event":{"scope":"repo","action":"update"},"repo":{"type":"model"}}`,
		"bad repo type":     `{"event":{"scope":"repo","action":"update"},"repo":{"name":"a/b","type":"bucket"}}`,
		"bad repo name":     `{"event":{"scope":"repo","action":"update"},"repo":{"name":"a/b/c","type":"model"}}`,
		"wrong field types": `{"event":{"scope":1,"action":"update"},"repo":{"name":"a/b","type":"model"}}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(body))
			var bad *BadRequestError
			require.ErrorAs(t, err, &bad)
			assert.NotEmpty(t, bad.Msg)
		})
	}
	// A move, with the v3 object or the older bare name.
	for _, moved := range []string{`{"name":"acme/new","owner":{"id":"o1"}}`, `"acme/new"`} {
		p, err := Decode([]byte(`{"event":{"scope":"repo","action":"move"},"repo":{"name":"acme/old","type":"model"},"movedTo":` + moved + `,"webhook":{"version":3}}`))
		require.NoError(t, err)
		assert.Equal(t, "acme/new", p.MovedTo.Name)
	}
	// Unknown fields are ignored; hidden comments have no content.
	p, err := Decode([]byte(`{"event":{"scope":"discussion.comment","action":"update"},"repo":{"name":"a/b","type":"model"},
		"comment":{"id":"c1","author":{"id":"u"},"hidden":true,"url":{"web":"x"}},"somethingNew":{"a":1},"webhook":{"version":3}}`))
	require.NoError(t, err)
	assert.True(t, p.Comment.Hidden)
	assert.Equal(t, "", p.Comment.Text())
}

func TestVerify(t *testing.T) {
	v := NewVerifier([]string{"old-secret", "new-secret"})
	assert.NoError(t, v.Verify("old-secret", ""))
	assert.NoError(t, v.Verify("new-secret", ""), "every secret of a rotation works")
	assert.NoError(t, v.Verify("", "new-secret"), "the query parameter works")
	assert.ErrorIs(t, v.Verify("", ""), ErrNoSecret)
	assert.ErrorIs(t, v.Verify("new-secre", ""), ErrWrongSecret)
	assert.ErrorIs(t, v.Verify("wrong", "new-secret"), ErrWrongSecret, "the header wins over the query")
	assert.ErrorIs(t, NewVerifier(nil).Verify("x", ""), ErrWrongSecret)
	assert.NotEqual(t, GenerateSecret(), GenerateSecret())
}

func TestRouterFallsBackToBroaderScope(t *testing.T) {
	r := NewRouter()
	r.Handle("repo.config", "update", func(context.Context, *Payload) (Decision, error) { return Ignored("config"), nil })
	d, err := r.Decide(context.Background(), &Payload{Event: Event{Scope: "repo.config.dois", Action: "create"}})
	require.NoError(t, err)
	assert.Equal(t, "config", d.Ignore)
	d, err = r.Decide(context.Background(), &Payload{Event: Event{Scope: "space.secrets", Action: "update"}})
	require.NoError(t, err)
	assert.Contains(t, d.Ignore, "no route")
}
