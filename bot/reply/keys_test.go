package reply

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
)

func TestAPIKey(t *testing.T) {
	const hf, llm = "hf_hubtoken", "sk-llm"
	tests := []struct {
		name    string
		baseURL string
		keys    Keys
		key     string
		source  string
		err     string
	}{
		{"router with HF_TOKEN", "https://router.huggingface.co/v1", Keys{HF: hf}, hf, KeyFromHF, ""},
		{"router, host in capitals and a trailing dot", "https://Router.HuggingFace.co./v1", Keys{HF: hf}, hf, KeyFromHF, ""},
		{"router on port 443", "https://router.huggingface.co:443/v1", Keys{HF: hf}, hf, KeyFromHF, ""},
		{"router prefers LLM_API_KEY", "https://router.huggingface.co/v1", Keys{LLM: llm, HF: hf}, llm, KeyFromLLM, ""},
		{"router without any key", "https://router.huggingface.co/v1", Keys{}, "", "", "neither LLM_API_KEY nor HF_TOKEN"},
		{"router over http is not the router", "http://router.huggingface.co/v1", Keys{HF: hf}, "", KeyFromNone, ""},
		{"router on another port is not the router", "https://router.huggingface.co:8443/v1", Keys{HF: hf}, "", KeyFromNone, ""},
		{"a look-alike host", "https://router.huggingface.co.evil.example/v1", Keys{HF: hf}, "", KeyFromNone, ""},
		{"a subdomain", "https://x.router.huggingface.co/v1", Keys{HF: hf}, "", KeyFromNone, ""},
		{"the Hub itself", "https://huggingface.co/v1", Keys{HF: hf}, "", KeyFromNone, ""},
		{"third party with HF_TOKEN only", "https://api.openai.com/v1", Keys{HF: hf}, "", KeyFromNone, ""},
		{"third party with LLM_API_KEY", "https://api.openai.com/v1", Keys{LLM: llm, HF: hf}, llm, KeyFromLLM, ""},
		{"local server, no key", "http://127.0.0.1:8000/v1", Keys{HF: hf}, "", KeyFromNone, ""},
		{"local server with a key", "http://localhost:11434/v1", Keys{LLM: llm}, llm, KeyFromLLM, ""},
		{"IPv6 loopback with a key", "http://[::1]:8000/v1", Keys{LLM: llm}, llm, KeyFromLLM, ""},
		{"key in clear text to another machine", "http://10.0.0.5:8000/v1", Keys{LLM: llm}, "", "", "clear text"},
		{"keys are trimmed", "https://api.example.com/v1", Keys{LLM: " " + llm + "\n"}, llm, KeyFromLLM, ""},
		{"not http", "ftp://router.huggingface.co/v1", Keys{HF: hf}, "", "", "http(s) URL"},
		{"no host", "https:///v1", Keys{HF: hf}, "", "", "no host"},
		{"credentials in the URL", "https://user:pass@api.example.com/v1", Keys{LLM: llm}, "", "", "must not carry credentials"},
		{"a query", "https://api.example.com/v1?key=x", Keys{LLM: llm}, "", "", "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, source, err := APIKey(tt.baseURL, tt.keys)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.NotContains(t, err.Error(), "pass")
				assert.NotContains(t, err.Error(), llm)
				assert.NotContains(t, err.Error(), hf)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.key, key)
			assert.Equal(t, tt.source, source)
			if key == hf {
				assert.Equal(t, KeyFromHF, source, "the Hub token goes to the router only")
			}
		})
	}
}

func TestKeysFrom(t *testing.T) {
	s := config.Secrets{HFToken: "hf", LLMAPIKey: "llm", AdminToken: "admin", WebhookSecrets: []string{"w"}}
	assert.Equal(t, Keys{LLM: "llm", HF: "hf"}, KeysFrom(s))
}
