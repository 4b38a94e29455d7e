package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/reply"
	"github.com/hubbot/hubbot/bot/reply/replytest"
)

// fakeLLM speaks the chat completions API and records the requests.
type fakeLLM struct {
	*httptest.Server
	mu       sync.Mutex
	requests []map[string]any
	auth     []string
}

func newFakeLLM(t *testing.T, answer string) *fakeLLM {
	f := &fakeLLM{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.requests = append(f.requests, req)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":%q}}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`, answer)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeLLM) calls() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.requests...)
}

func TestMentionGetsOneLLMReply(t *testing.T) {
	llm := newFakeLLM(t, "The license is Apache 2.0, as the card says. /hubbot convert")
	h := newHarness(t, fmt.Sprintf(`
[reply]
enabled = true
trigger = "mention"
base_url = "%s/v1"
model = "test-model"
max_tokens = 200
`, llm.URL))
	num, err := h.hub.OpenDiscussion(h.bob, "alice/tiny", "License question", "Is this model usable commercially?")
	require.NoError(t, err)
	h.idle()
	assert.Empty(t, llm.calls(), "a new discussion without a mention gets no reply in mention mode")

	_, err = h.hub.Comment(h.bob, "alice/tiny", num, "@hubbot-ci what is the license?")
	require.NoError(t, err)
	h.waitJobs(1)
	deliveries := h.idle()

	calls := llm.calls()
	require.Len(t, calls, 1, "one LLM call")
	req := calls[0]
	assert.Equal(t, "test-model", req["model"])
	assert.EqualValues(t, 200, req["max_tokens"])
	assert.Nil(t, req["tools"], "the model gets no tools")
	prompt, _ := json.Marshal(req["messages"])
	assert.Contains(t, string(prompt), "Tiny classifier", "the model card is in the prompt")
	assert.Contains(t, string(prompt), "Is this model usable commercially?", "the thread is in the prompt")
	assert.Contains(t, string(prompt), "bob", "with author names")
	assert.NotContains(t, string(prompt), h.botUsr.Token)

	replies := h.botComments(num)
	require.Len(t, replies, 1)
	assert.Contains(t, replies[0].Content, "Apache 2.0")
	assert.Contains(t, replies[0].Content, "<!-- hubbot:reply:", "carries the reply marker")
	for _, line := range strings.Split(replies[0].Content, "\n") {
		assert.False(t, strings.HasPrefix(strings.TrimSpace(line), "/hubbot"), line)
	}

	// The bot's own reply came back as a webhook and triggered nothing.
	last := deliveries[len(deliveries)-1]
	assert.Contains(t, string(last.Response), "ignored")
	assert.Len(t, llm.calls(), 1)

	// Replaying the mention posts nothing new.
	var mention []byte
	for _, d := range deliveries {
		if d.Scope == "discussion.comment" && strings.Contains(string(d.Payload), "what is the license") {
			mention = d.Payload
		}
	}
	require.NotNil(t, mention)
	status, body := h.post(mention, map[string]string{"X-Webhook-Secret": testSecret})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "duplicate", body["status"])
	id, err := h.bot.queue.Retry(context.Background(), h.waitJobs(1)[0].ID)
	require.NoError(t, err, "even an operator retry of the reply job...")
	h.waitJobs(2)
	h.idle()
	assert.Len(t, h.botComments(num), 1, "...posts no second reply")
	assert.Len(t, llm.calls(), 1)
	job, err := h.bot.queue.Job(context.Background(), id)
	require.NoError(t, err)
	assert.Contains(t, job.Log, "answered already", "the retry found the earlier reply")
}

func TestReplyLedgerRules(t *testing.T) {
	replytest.LedgerRules(t, func(t *testing.T) reply.Ledger {
		q, err := jobs.New(t.Context(), jobs.Options{DataDir: t.TempDir()})
		require.NoError(t, err)
		t.Cleanup(func() { q.Close() })
		return q
	})
}
