package reply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/lfs"
)

// Names used throughout the tests.
const (
	botID   = "65f0000000000000000000b0"
	botName = "hubbot-bot"
	testKey = "llm-test-key"
)

var testRepo = hubclient.Repo{ID: "alice/tiny-model"}

// llmCall is one request the fake LLM received.
type llmCall struct {
	Path   string
	Header http.Header
	Raw    map[string]any // the body as JSON, to see every key that was sent
	Req    openai.ChatCompletionRequest
}

// User returns the user message of the call.
func (c llmCall) User() string {
	for _, m := range c.Req.Messages {
		if m.Role == openai.ChatMessageRoleUser {
			return m.Content
		}
	}
	return ""
}

// fakeLLM is an OpenAI-compatible chat completions server that records
// every request and answers from a script, one step per call (the last step
// repeats).
type fakeLLM struct {
	srv *httptest.Server

	mu     sync.Mutex
	calls  []llmCall
	script []http.HandlerFunc
}

func newFakeLLM(t *testing.T, script ...http.HandlerFunc) *fakeLLM {
	t.Helper()
	f := &fakeLLM{script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL to configure, as the router's ends in /v1.
func (f *fakeLLM) URL() string { return f.srv.URL + "/v1" }

func (f *fakeLLM) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	call := llmCall{Path: r.URL.Path, Header: r.Header.Clone()}
	_ = json.Unmarshal(body, &call.Raw)
	_ = json.Unmarshal(body, &call.Req)
	f.mu.Lock()
	f.calls = append(f.calls, call)
	n := len(f.calls)
	step := f.script[min(n, len(f.script))-1]
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	step(w, r)
}

// Calls returns the requests so far.
func (f *fakeLLM) Calls() []llmCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]llmCall(nil), f.calls...)
}

// answerWith answers with a completion whose content is text.
func answerWith(text string) http.HandlerFunc {
	return completion(openai.ChatCompletionChoice{
		Message:      openai.ChatCompletionMessage{Role: "assistant", Content: text},
		FinishReason: openai.FinishReasonStop,
	})
}

// completion answers with one choice.
func completion(choice openai.ChatCompletionChoice) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(openai.ChatCompletionResponse{
			ID: "chatcmpl-1", Object: "chat.completion", Model: "test",
			Choices: []openai.ChatCompletionChoice{choice},
			Usage:   openai.Usage{PromptTokens: 1000, CompletionTokens: 50, TotalTokens: 1050},
		})
	}
}

// failWith answers with an HTTP error.
func failWith(status int, contentType, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// hang never answers; it returns when the client gives up.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// fakeHub holds discussions and a card, and posts comments into them. It is
// a Hub and a Poster.
type fakeHub struct {
	mu          sync.Mutex
	discussions map[int]*hubclient.DiscussionDetails
	card        []byte
	cardErr     error
	posted      []string
	// postErrs are returned by the next posts, in order; with landed the
	// comment is added before the error (the answer was lost on the way).
	postErrs []postFault
	nextID   int
}

type postFault struct {
	err    error
	landed bool
}

func newFakeHub() *fakeHub {
	return &fakeHub{discussions: map[int]*hubclient.DiscussionDetails{}, nextID: 0xc0}
}

// GetDiscussion returns a copy of discussion num; every repo sees the same
// discussions, which lets the cap tests use several repos.
func (h *fakeHub) GetDiscussion(_ context.Context, _ hubclient.Repo, num int) (*hubclient.DiscussionDetails, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d, ok := h.discussions[num]
	if !ok {
		return nil, &hubclient.Error{Method: "GET", StatusCode: 404}
	}
	cp := *d
	cp.Events = append([]hubclient.Event(nil), d.Events...)
	return &cp, nil
}

func (h *fakeHub) Download(_ context.Context, _ hubclient.Repo, rev, path string, w io.Writer, _ *lfs.Pointer) (*hubclient.DownloadInfo, error) {
	h.mu.Lock()
	card, cardErr := h.card, h.cardErr
	h.mu.Unlock()
	if rev != "main" || path != "README.md" {
		return nil, fmt.Errorf("unexpected download of %s at %s", path, rev)
	}
	if cardErr != nil {
		return nil, cardErr
	}
	n, err := io.Copy(w, bytes.NewReader(card))
	if err != nil {
		return nil, fmt.Errorf("download README.md: %w", err)
	}
	return &hubclient.DownloadInfo{Size: n}, nil
}

func (h *fakeHub) Comment(_ context.Context, _ hubclient.Repo, num int, text string) (*hubclient.Event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var fault postFault
	if len(h.postErrs) > 0 {
		fault, h.postErrs = h.postErrs[0], h.postErrs[1:]
	}
	if fault.err != nil && !fault.landed {
		return nil, fault.err
	}
	h.nextID++
	ev := event(fmt.Sprintf("65f0000000000000000000%02x", h.nextID%256), botID, botName, text)
	d := h.discussions[num]
	d.Events = append(d.Events, ev)
	h.posted = append(h.posted, text)
	if fault.err != nil {
		return nil, fault.err
	}
	return &ev, nil
}

// Posted returns the comments posted so far.
func (h *fakeHub) Posted() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.posted...)
}

// add puts a discussion on the fake.
func (h *fakeHub) add(d *hubclient.DiscussionDetails) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.discussions[d.Num] = d
}

// update changes a discussion in place.
func (h *fakeHub) update(num int, fn func(d *hubclient.DiscussionDetails)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn(h.discussions[num])
}

// event is a comment event as the Hub's discussion details give it.
func event(id, authorID, authorName, text string) hubclient.Event {
	data, _ := json.Marshal(map[string]any{"latest": map[string]any{"raw": text}, "hidden": false, "edited": false})
	return hubclient.Event{
		ID: id, Type: hubclient.EventComment, CreatedAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		Author: &hubclient.Author{ID: authorID, Name: authorName, Type: "user"}, Data: data,
	}
}

// hiddenEvent is a hidden comment: its content is gone.
func hiddenEvent(id, authorID, authorName string) hubclient.Event {
	e := event(id, authorID, authorName, "")
	e.Data = json.RawMessage(`{"hidden":true,"latest":{"raw":""}}`)
	return e
}

// discussion builds an open discussion opened by its first comment's author.
func discussion(num int, title string, events ...hubclient.Event) *hubclient.DiscussionDetails {
	d := &hubclient.DiscussionDetails{}
	d.Num, d.Title, d.Status = num, title, hubclient.StatusOpen
	if len(events) > 0 {
		d.Author = &hubclient.Author{ID: events[0].Author.ID, Name: events[0].Author.Name}
	}
	d.Events = events
	return d
}

// Comment ids and users of the standard thread.
const (
	descID   = "65f00000000000000000d001"
	bobID    = "65f00000000000000000d002"
	askID    = "65f00000000000000000d003"
	aliceUID = "65f0000000000000000000a1"
	bobUID   = "65f0000000000000000000b2"
	carolUID = "65f0000000000000000000c3"
)

const testCard = `---
license: apache-2.0
library_name: transformers
pipeline_tag: text-classification
---

# tiny-model

<!-- Provide a quick summary of what the model is/does. -->

A tiny text classifier for tests. It takes English text and returns one of three labels.

## How to use

Load it with AutoModelForSequenceClassification.
`

// standardThread is a discussion where carol asks the bot a question.
func standardThread() *hubclient.DiscussionDetails {
	return discussion(7, "Which labels does it predict?",
		event(descID, aliceUID, "alice", "Opening this to collect questions about the labels."),
		event(bobID, bobUID, "bob", "I also wonder about the label order."),
		event(askID, carolUID, "carol", "@hubbot-bot which labels does the model predict, and in which order?"),
	)
}

// testConfig is an enabled [reply] against the fake LLM.
func testConfig(baseURL string) config.Reply {
	return config.Reply{
		Enabled: true, Trigger: TriggerMention, BaseURL: baseURL, Model: "test-org/test-model",
		MaxTokens: 300, MaxRepliesPerDiscussion: 3, MaxRepliesPerHour: 20,
		Timeout: config.Duration(10 * time.Second),
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a bot wired to fakes.
type fixture struct {
	llm    *fakeLLM
	hub    *fakeHub
	ledger *MemoryLedger
	clock  *fakeClock
	bot    *Bot
	log    *strings.Builder
}

type fixtureOptions struct {
	cfg    func(*config.Reply)
	opts   func(*Options)
	keys   *Keys
	script []http.HandlerFunc
}

func newFixture(t *testing.T, fo fixtureOptions) *fixture {
	t.Helper()
	if len(fo.script) == 0 {
		fo.script = []http.HandlerFunc{answerWith("It predicts negative, neutral and positive, in that order.")}
	}
	f := &fixture{
		llm: newFakeLLM(t, fo.script...), hub: newFakeHub(), ledger: NewMemoryLedger(),
		clock: newFakeClock(), log: &strings.Builder{},
	}
	f.hub.card = []byte(testCard)
	f.hub.add(standardThread())
	cfg := testConfig(f.llm.URL())
	if fo.cfg != nil {
		fo.cfg(&cfg)
	}
	opts := Options{
		Hub: f.hub, Poster: f.hub, Ledger: f.ledger, Now: f.clock.Now,
		Retry: Retry{Attempts: 3, Base: time.Millisecond, Max: 5 * time.Millisecond},
	}
	if fo.opts != nil {
		fo.opts(&opts)
	}
	keys := Keys{LLM: testKey}
	if fo.keys != nil {
		keys = *fo.keys
	}
	bot, err := New(cfg, keys, opts)
	require.NoError(t, err)
	f.bot = bot
	return f
}

// request is the standard request: answer carol's comment in discussion 7.
func (f *fixture) request(commentID string) Request {
	return Request{
		Repo: testRepo, Discussion: 7, CommentID: commentID, BotID: botID, BotName: botName, Owner: "job-1",
		Logf: func(format string, args ...any) { fmt.Fprintf(f.log, format+"\n", args...) },
	}
}
