package reply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Retry bounds how the bot retries a chat completion that failed in a way
// that may pass: a timeout, a broken connection, 408, 425, 429 or a 5xx.
type Retry struct {
	Attempts int           // calls in all, the first included; default 3
	Base     time.Duration // wait before the second call, doubled each time; default 2s
	Max      time.Duration // cap of one wait, a server's Retry-After included; default 30s
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 3
	}
	if r.Base <= 0 {
		r.Base = 2 * time.Second
	}
	if r.Max <= 0 {
		r.Max = 30 * time.Second
	}
	return r
}

// maxResponseBytes caps what the bot reads from the LLM endpoint. An answer
// of 32768 tokens is about 150 KB of JSON; anything much larger is broken.
const maxResponseBytes = 4 << 20

// chat calls one OpenAI-compatible chat completions endpoint.
type chat struct {
	client    *openai.Client
	model     string
	maxTokens int
	// completionTokens sends max_completion_tokens instead of max_tokens,
	// for the OpenAI reasoning models that refuse the older field.
	completionTokens bool
	timeout          time.Duration
	retry            Retry
}

// newChat builds the client. The HTTP client is wrapped so that answers are
// bounded, redirects are refused (a key must not follow one), and a
// Retry-After header reaches the retry loop.
func newChat(baseURL, key, model string, maxTokens int, timeout time.Duration, retry Retry, hc *http.Client) *chat {
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		}}
	}
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = strings.TrimRight(strings.TrimSpace(baseURL), "/")
	cfg.HTTPClient = &boundedDoer{client: &noRedirect}

	probe := openai.ChatCompletionRequest{Model: model, MaxTokens: maxTokens}
	return &chat{
		client:           openai.NewClientWithConfig(cfg),
		model:            model,
		maxTokens:        maxTokens,
		completionTokens: errors.Is(openai.NewReasoningValidator().Validate(probe), openai.ErrReasoningModelMaxTokensDeprecated),
		timeout:          timeout,
		retry:            retry.withDefaults(),
	}
}

// request is the chat completion request: the system prompt and one user
// message, the configured model and token limit, and nothing else: no
// tools, no functions, no user id.
func (c *chat) request(system, user string) openai.ChatCompletionRequest {
	req := openai.ChatCompletionRequest{
		Model: c.model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: system},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
	}
	if c.completionTokens {
		req.MaxCompletionTokens = c.maxTokens
	} else {
		req.MaxTokens = c.maxTokens
	}
	return req
}

// answer is a usable answer of the model.
type answer struct {
	text             string
	cutShort         bool // stopped at max_tokens
	promptTokens     int
	completionTokens int
	attempts         int
}

// failure is why the model gave no usable answer. Its reason is for the log
// and the job, never for the Hub.
type failure struct {
	reason   string
	attempts int
}

// complete asks the model, retrying transient failures. It returns an
// answer or a failure; the error is only the caller's context ending.
func (c *chat) complete(ctx context.Context, system, user string, logf func(string, ...any)) (*answer, *failure, error) {
	req := c.request(system, user)
	for attempt := 1; ; attempt++ {
		info := &callInfo{}
		actx, cancel := context.WithTimeout(context.WithValue(ctx, callInfoKey{}, info), c.timeout)
		resp, err := c.client.CreateChatCompletion(actx, req)
		cancel()
		if err == nil {
			ans, why := interpret(resp)
			if why != "" {
				return nil, &failure{reason: why, attempts: attempt}, nil
			}
			ans.attempts = attempt
			return ans, nil, nil
		}
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("ask the model: %w", context.Cause(ctx))
		}
		why, transient := classify(err, c.timeout)
		if !transient || attempt >= c.retry.Attempts {
			if transient {
				why = fmt.Sprintf("%s (gave up after %d attempts)", why, attempt)
			}
			return nil, &failure{reason: why, attempts: attempt}, nil
		}
		wait := min(c.retry.Base<<(attempt-1), c.retry.Max)
		if info.retryAfter > 0 {
			wait = min(max(wait, info.retryAfter), c.retry.Max)
		}
		logf("the model did not answer (attempt %d of %d): %s; trying again in %s", attempt, c.retry.Attempts, why, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("ask the model: %w", context.Cause(ctx))
		case <-t.C:
		}
	}
}

// interpret reads a completion; a non-empty reason means it is not usable.
func interpret(resp openai.ChatCompletionResponse) (*answer, string) {
	if len(resp.Choices) == 0 {
		return nil, "the model returned no answer"
	}
	ch := resp.Choices[0]
	switch {
	case strings.TrimSpace(ch.Message.Refusal) != "":
		return nil, "the model refused: " + shorten(ch.Message.Refusal, 200)
	case ch.FinishReason == openai.FinishReasonContentFilter:
		return nil, "the provider's content filter withheld the answer"
	case ch.FinishReason == openai.FinishReasonToolCalls, ch.FinishReason == openai.FinishReasonFunctionCall,
		len(ch.Message.ToolCalls) > 0, ch.Message.FunctionCall != nil:
		return nil, "the model asked for a tool, and it has none"
	}
	text := ch.Message.Content
	if strings.TrimSpace(stripThinking(text)) == "" {
		if ch.FinishReason == openai.FinishReasonLength {
			return nil, "the model used every token before answering (raise reply.max_tokens)"
		}
		return nil, "the model's answer was empty"
	}
	return &answer{
		text:             text,
		cutShort:         ch.FinishReason == openai.FinishReasonLength,
		promptTokens:     resp.Usage.PromptTokens,
		completionTokens: resp.Usage.CompletionTokens,
	}, ""
}

// classify says what went wrong, in a line fit for a log (no body dumps),
// and whether trying again may help.
func classify(err error, timeout time.Duration) (string, bool) {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var tooLarge *tooLargeError
	var redirect *redirectError
	switch {
	case errors.As(err, &tooLarge), errors.As(err, &redirect):
		return err.Error(), false
	// A RequestError first: for an error body that is not OpenAI's shape
	// (the router's {"error": "..."}) it wraps a half-read APIError that
	// has no status.
	case errors.As(err, &reqErr):
		return statusReason(reqErr.HTTPStatusCode, bodyHint(reqErr.Body)), transientStatus(reqErr.HTTPStatusCode)
	case errors.As(err, &apiErr):
		return statusReason(apiErr.HTTPStatusCode, apiErr.Message), transientStatus(apiErr.HTTPStatusCode)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within reply.timeout (%s)", timeout), true
	}
	var netErr net.Error
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr):
		return "the endpoint's answer is not a chat completion", false
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.As(err, &netErr):
		return "connection failed: " + shorten(err.Error(), 200), true
	}
	// go-openai's own checks (a model it knows does not take this request).
	return "the request was refused before it was sent: " + shorten(err.Error(), 200), false
}

// transientStatus reports the statuses worth trying again: timeouts, rate
// limits and server errors. 402 (out of credits) and other 4xx are not.
func transientStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests, 529:
		return true
	}
	return code >= 500
}

func statusReason(code int, msg string) string {
	s := fmt.Sprintf("the endpoint answered %d %s", code, http.StatusText(code))
	if msg = shorten(msg, 200); msg != "" {
		s += ": " + msg
	}
	return s
}

// bodyHint extracts a message from an error body that is not OpenAI's
// shape, such as the router's {"error": "..."}; HTML pages give nothing.
func bodyHint(body []byte) string {
	var shaped struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  string          `json:"detail"`
	}
	if json.Unmarshal(body, &shaped) == nil {
		var s string
		if json.Unmarshal(shaped.Error, &s) == nil && s != "" {
			return s
		}
		if shaped.Message != "" {
			return shaped.Message
		}
		return shaped.Detail
	}
	if t := strings.TrimSpace(string(body)); !strings.HasPrefix(t, "<") {
		return t
	}
	return ""
}

// shorten keeps one line of at most n characters.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(clean(s)), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// callInfo carries what the transport saw back to the retry loop.
type callInfo struct{ retryAfter time.Duration }

type callInfoKey struct{}

// userAgent names the bot to the LLM provider.
const userAgent = "hubbot-reply"

// boundedDoer is the HTTP client go-openai uses.
type boundedDoer struct{ client *http.Client }

// Do sends req, refuses redirects, bounds the body and notes Retry-After.
func (d *boundedDoer) Do(req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", userAgent)
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	if info, ok := req.Context().Value(callInfoKey{}).(*callInfo); ok {
		info.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		return nil, &redirectError{status: resp.StatusCode}
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxResponseBytes}
	return resp, nil
}

// parseRetryAfter reads a Retry-After header in seconds or as a date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

type redirectError struct{ status int }

func (e *redirectError) Error() string {
	return fmt.Sprintf("the endpoint answered with a redirect (%d); set reply.base_url to the final URL", e.status)
}

type tooLargeError struct{}

func (*tooLargeError) Error() string {
	return fmt.Sprintf("the endpoint's answer is larger than %d MiB", maxResponseBytes>>20)
}

// limitedBody fails once more than left bytes are read.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, &tooLargeError{}
		}
		return b.rc.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
