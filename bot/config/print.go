package config

import (
	"fmt"
	"io"
	"net/url"

	"github.com/pelletier/go-toml/v2"
)

// Print writes the effective configuration as TOML, followed by which
// secrets are set. Secret values are never written.
func (c *Config) Print(w io.Writer) error {
	enc := toml.NewEncoder(w)
	enc.SetIndentTables(true)
	shown := *c
	shown.Store.URL = MaskURL(c.Store.URL)
	if err := enc.Encode(&shown); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	set := func(ok bool) string {
		if ok {
			return "set"
		}
		return "not set"
	}
	_, err := fmt.Fprintf(w, "\n# environment (values never shown)\n# HF_TOKEN: %s%s\n# WEBHOOK_SECRET: %s\n# HUBBOT_ADMIN_TOKEN: %s\n# LLM_API_KEY: %s\n",
		set(c.Secrets.HFToken != ""), map[bool]string{true: " (dry-run: Hub writes are only logged)", false: ""}[c.DryRun()],
		plural(len(c.Secrets.WebhookSecrets)), set(c.Secrets.AdminToken != ""), set(c.Secrets.LLMAPIKey != ""))
	return err
}

func plural(n int) string {
	switch n {
	case 0:
		return "not set"
	case 1:
		return "set"
	}
	return fmt.Sprintf("set (%d secrets, rotation)", n)
}

// MaskURL hides the password of a database URL, for printing; text that is
// not a URL is hidden whole, since it may hold one.
func MaskURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(not shown: not a valid URL)"
	}
	return u.Redacted()
}
