package reply

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hubbot/hubbot/bot/config"
)

// RouterHost is the host of Hugging Face's OpenAI-compatible router
// (Inference Providers), the default reply.base_url. It is the only host the
// Hub token is ever sent to.
const RouterHost = "router.huggingface.co"

// Keys are the only secrets the reply bot sees. The webhook secret and the
// admin token stay out of its reach.
type Keys struct {
	LLM string // LLM_API_KEY
	HF  string // HF_TOKEN, the Hub token
}

// KeysFrom picks the reply bot's keys out of the configuration's secrets.
func KeysFrom(s config.Secrets) Keys { return Keys{LLM: s.LLMAPIKey, HF: s.HFToken} }

// Where the key sent to the LLM endpoint comes from.
const (
	KeyFromLLM  = "LLM_API_KEY"
	KeyFromHF   = "HF_TOKEN"
	KeyFromNone = "none"
)

// APIKey chooses the key to send to the chat completions endpoint at
// baseURL, and says where it comes from:
//
//   - LLM_API_KEY when it is set, for any endpoint;
//   - else HF_TOKEN, but only when baseURL is the Hugging Face router over
//     https: the Hub token can write to every repo the bot can, so it is
//     never sent to a third party;
//   - else no key (a local server such as vLLM or Ollama needs none).
//
// It refuses a base URL that is not http(s), that carries credentials, or
// that would send a key in clear text to a host other than this machine, and
// the router without any key (every call would fail with 401).
func APIKey(baseURL string, k Keys) (key, source string, err error) {
	u, err := parseBaseURL(baseURL)
	if err != nil {
		return "", "", err
	}
	llm, hf := strings.TrimSpace(k.LLM), strings.TrimSpace(k.HF)
	switch {
	case llm != "":
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return "", "", fmt.Errorf("reply.base_url %s is plain http to another machine: LLM_API_KEY would travel in clear text; use https", u.Redacted())
		}
		return llm, KeyFromLLM, nil
	case isRouter(u):
		if hf == "" {
			return "", "", errors.New("reply.base_url is the Hugging Face router, but neither LLM_API_KEY nor HF_TOKEN is set")
		}
		return hf, KeyFromHF, nil
	}
	return "", KeyFromNone, nil
}

// parseBaseURL checks reply.base_url.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("reply.base_url: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("reply.base_url %q must be an http(s) URL", raw)
	case u.Host == "":
		return nil, fmt.Errorf("reply.base_url %q has no host", raw)
	case u.User != nil:
		return nil, errors.New("reply.base_url must not carry credentials; put the key in LLM_API_KEY")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("reply.base_url %s must not have a query or a fragment", u.Redacted())
	}
	return u, nil
}

// isRouter reports whether u is the Hugging Face router, over https on its
// standard port.
func isRouter(u *url.URL) bool {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return u.Scheme == "https" && host == RouterHost && (u.Port() == "" || u.Port() == "443")
}

// isLoopback reports a host name that stays on this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
