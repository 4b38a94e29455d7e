package run_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/run"
	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/git"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// TestRunOnACheckout runs a command the way the bot does: on a checkout of a
// pull request from the (fake) Hub, with the weights it asks for downloaded
// through the resolve API.
func TestRunOnACheckout(t *testing.T) {
	srv := hubtest.NewServer()
	t.Cleanup(srv.Close)
	alice := srv.AddUser("alice")
	_, err := srv.CreateRepo(alice, hubtest.RepoSpec{
		ID:      "alice/tiny",
		Private: true,
		Files:   map[string][]byte{"README.md": []byte("# tiny\n"), "model.safetensors": []byte("the real weights")},
		LFS:     []string{"*.safetensors"},
	})
	require.NoError(t, err)
	pr, err := srv.OpenPR(alice, "alice/tiny", "Better card", "", hubtest.Change{Files: map[string][]byte{"README.md": []byte("# tiny, better\n")}})
	require.NoError(t, err)

	client, err := hubclient.New(hubclient.Options{Endpoint: srv.URL, Token: alice.Token})
	require.NoError(t, err)
	repo := hubclient.Repo{ID: "alice/tiny"}
	workspaces, err := git.New(filepath.Join(t.TempDir(), "workspaces"))
	require.NoError(t, err)
	co, err := workspaces.Checkout(t.Context(), git.CheckoutRequest{
		Repo: repo, URL: client.GitURL(repo), Token: client.Token(), Ref: pr.Ref, SHA: pr.SHA, JobID: "7",
	})
	require.NoError(t, err)
	defer co.Close()
	ws := &actions.Workspace{
		Dir: co.Dir, Repo: actions.Repo{ID: repo.ID, Type: "model"}, Ref: co.Ref, SHA: co.SHA, Content: co.Content(client),
	}

	env := run.Env{Token: client.Token(), Endpoint: client.Endpoint(), Path: os.Getenv("PATH"), TempDir: t.TempDir()}
	if sandbox.Probe().ABI > 0 {
		// The way serve runs it: in the sandbox, which (as root) hands the
		// checkout to the sandbox's user.
		env.Sandbox = newSandbox(t, 1, t.TempDir())
	}
	a, err := run.New(actions.Options{
		"command": []any{"sh", "-c", `cat README.md model.safetensors; echo; echo "$HUBBOT_REF $HUBBOT_SHA $HF_ENDPOINT token:$HF_TOKEN"; echo changed > README.md`},
		"lfs":     []any{"*.safetensors"},
		"token":   true,
		"outputs": []any{"README.md"},
	}, env)
	require.NoError(t, err)
	var log bytes.Buffer
	res, err := a.Run(t.Context(), ws, &log)
	require.NoError(t, err)
	assert.Equal(t, actions.Success, res.Conclusion, log.String())
	assert.Contains(t, res.Details, "# tiny, better\nthe real weights\n")
	assert.Contains(t, res.Details, pr.Ref+" "+pr.SHA+" "+srv.URL+" token:[redacted]")
	assert.NotContains(t, log.String(), alice.Token)
	require.NotNil(t, res.Proposal)
	assert.Equal(t, "README.md", res.Proposal.Files[0].PathInRepo)
}
