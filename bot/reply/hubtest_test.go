package reply

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// The Hub side through the real client, against the fake Hub: the seams
// declared here fit hubclient, the card is read from README.md, and a
// comment whose answer is lost is found again instead of posted twice.
func TestWithRealClientAndFakeHub(t *testing.T) {
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	alice, carol, botUser := hub.AddUser("alice"), hub.AddUser("carol"), hub.AddUser("hubbot-ci")
	_, err := hub.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/tiny", Files: map[string][]byte{"README.md": []byte(testCard)}})
	require.NoError(t, err)
	num, err := hub.OpenDiscussion(carol, "alice/tiny", "Labels?", "@hubbot-ci which labels does it predict?")
	require.NoError(t, err)
	d, ok := hub.Discussion("alice/tiny", num)
	require.True(t, ok)
	first := d.Events[0].ID

	client, err := hubclient.New(hubclient.Options{Endpoint: hub.URL, Token: botUser.Token, RetryBaseDelay: time.Millisecond})
	require.NoError(t, err)
	llm := newFakeLLM(t, answerWith("It predicts negative, neutral and positive."))
	cfg := testConfig(llm.URL())
	cfg.Trigger = TriggerBoth
	bot, err := New(cfg, Keys{HF: botUser.Token}, Options{Hub: client, Poster: client, Ledger: NewMemoryLedger(),
		Retry: Retry{Base: time.Millisecond, Max: time.Millisecond}})
	require.NoError(t, err)
	repo := hubclient.Repo{ID: "alice/tiny"}
	req := Request{Repo: repo, Discussion: num, CommentID: first, BotID: botUser.ID, BotName: botUser.Name, Owner: "job-1"}

	res, err := bot.Reply(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, Posted, res.Status, res.Reason)
	require.Len(t, llm.Calls(), 1)
	user := llm.Calls()[0].User()
	assert.Contains(t, user, "> license: apache-2.0", "the card was read through the resolve endpoint")
	assert.Contains(t, user, "--- comment 1 by carol (opened the discussion; the comment to answer) ---")
	assert.Empty(t, llm.Calls()[0].Header.Get("Authorization"), "the Hub token is not sent to a local test endpoint")

	d, _ = hub.Discussion("alice/tiny", num)
	require.Len(t, d.Events, 2)
	assert.Equal(t, "hubbot-ci", d.Events[1].Author)
	assert.True(t, strings.HasSuffix(d.Events[1].Content, Marker(first)))
	assert.Equal(t, res.Comment.ID, d.Events[1].ID)

	// The bot's reply, delivered back as a webhook, is not answered.
	ok, why := Decide(TriggerOf(cfg), EventFacts{Scope: "discussion.comment", Action: "create", Status: "open",
		Text: d.Events[1].Content, AuthorID: botUser.ID, BotID: botUser.ID, BotName: botUser.Name})
	assert.False(t, ok, why)

	// A replay posts nothing.
	res, err = bot.Reply(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, Posted, res.Status)
	d, _ = hub.Discussion("alice/tiny", num)
	assert.Len(t, d.Events, 2)
	assert.Len(t, llm.Calls(), 1)

	// A second question whose reply is posted but the answer lost: found, not posted again.
	askID, err := hub.Comment(alice, "alice/tiny", num, "@hubbot-ci and the label order?")
	require.NoError(t, err)
	hub.Fail(hubtest.Fault{Method: "POST", Path: "/api/models/alice/tiny/discussions/", DropResponse: true})
	req.CommentID = askID
	var steps strings.Builder
	req.Logf = func(format string, args ...any) { fmt.Fprintf(&steps, format+"\n", args...) }
	res, err = bot.Reply(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, Posted, res.Status)
	assert.Contains(t, steps.String(), "posting got an ambiguous answer")
	assert.Contains(t, steps.String(), "the reply was posted after all")
	assert.Contains(t, res.Comment.Content(), Marker(askID))
	d, _ = hub.Discussion("alice/tiny", num)
	require.Len(t, d.Events, 4, "one reply per question")
	assert.Contains(t, d.Events[3].Content, Marker(askID))
	assert.Contains(t, llm.Calls()[1].User(), "--- comment 2 by hubbot-ci (this bot) ---\n> It predicts negative, neutral and positive.\n\n--- comment 3 by alice (repo owner; the comment to answer) ---")
}
