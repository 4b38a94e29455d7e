package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestDefaultsAreValid(t *testing.T) {
	require.NoError(t, Default().Validate())
}

func TestRepoConfigTomlLoads(t *testing.T) {
	// The documented config.toml at the repo root must run as is.
	cfg, err := Load(filepath.Join("..", "..", "config.toml"), env(nil))
	require.NoError(t, err)
	assert.NotEmpty(t, cfg.Actions)
}

func TestParse(t *testing.T) {
	cfg, err := Parse("c.toml", []byte(`
[server]
listen = ":8080"
max_body = "1MiB"

[workers]
concurrency = 4
job_timeout = "10m"

[[actions]]
name = "tests"
uses = "run"
on = ["push", "pull_request"]
branches = ["main", "release/*"]
timeout = "2m"
[actions.with]
command = ["make", "test"]
token = false

[[actions]]
name = "model-card"
uses = "modelcard"
on = ["push", "command", "schedule"]

[[schedules]]
cron = "0 3 * * *"
action = "model-card"
repos = ["acme/*", "alice/model"]
`))
	require.NoError(t, err)
	assert.Equal(t, ":8080", cfg.Server.Listen)
	assert.Equal(t, Size(1<<20), cfg.Server.MaxBody)
	assert.Equal(t, 10*time.Minute, cfg.Workers.JobTimeout.D())
	assert.Equal(t, "/webhooks/hub", cfg.Server.WebhookPath, "unset keys keep their defaults")
	require.Len(t, cfg.Actions, 2)
	assert.Equal(t, []any{"make", "test"}, cfg.Actions[0].With["command"])
	assert.True(t, cfg.Actions[0].MatchesBranch("release/1.0"))
	assert.False(t, cfg.Actions[0].MatchesBranch("dev"))
	assert.True(t, cfg.Actions[1].MatchesBranch("main"), "no branches means main")
	assert.Equal(t, 17, cfg.Line("actions.0.with.command"))
	assert.Equal(t, 23, cfg.Line("actions.1.on"))
	assert.Equal(t, 28, cfg.Line("schedules.0.repos.1"))
	assert.Equal(t, 20, cfg.Line("actions.1"))
}

func TestErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown key", "[server]\nlisten = \":1\"\nlisen = \"x\"\n", []string{"c.toml:3: unknown key server.lisen"}},
		{"unknown table", "[sever]\nlisten = \":1\"\n", []string{"c.toml:1: unknown key sever"}},
		{"bad duration", "[workers]\njob_timeout = \"soon\"\n", []string{"c.toml:2", "want a duration"}},
		{"bad size", "[server]\nmax_body = \"lots\"\n", []string{"c.toml:2", "is not a size"}},
		{"wrong type", "[workers]\nconcurrency = \"two\"\n", []string{"c.toml:2"}},
		{"syntax", "[server\nlisten = 1\n", []string{"c.toml:1: "}},
		{"unknown uses", "[[actions]]\nname = \"x\"\nuses = \"deploy\"\non = [\"push\"]\n", []string{`c.toml:3: actions[0].uses: unknown action "deploy"`}},
		{"duplicate names", "[[actions]]\nname = \"x\"\nuses = \"run\"\non = [\"push\"]\n[[actions]]\nname = \"x\"\nuses = \"run\"\non = [\"push\"]\n",
			[]string{`c.toml:6: actions[1].name: duplicate action name "x"`}},
		{"bad trigger", "[[actions]]\nname = \"x\"\nuses = \"run\"\non = [\"push\", \"merge\"]\n", []string{`c.toml:4: actions[0].on[1]: unknown trigger "merge"`}},
		{"bad cron", "[[actions]]\nname = \"x\"\nuses = \"run\"\non = [\"schedule\"]\n[[schedules]]\ncron = \"every day\"\naction = \"x\"\nrepos = [\"a/b\"]\n",
			[]string{"c.toml:6: schedules[0].cron: bad cron expression"}},
		{"schedule of a missing action", "[[schedules]]\ncron = \"@daily\"\naction = \"nope\"\nrepos = [\"a/b\"]\n", []string{`c.toml:3: schedules[0].action: no action named "nope"`}},
		{"bad path pattern", "[[actions]]\nname = \"x\"\nuses = \"run\"\non = [\"push\"]\npaths = [\"ok/*\", \"[\"]\n", []string{"c.toml:5: actions[0].paths[1]"}},
		{"bad rule", "[commands]\nallow = [\"admins\"]\n", []string{`c.toml:2: commands.allow[0]: unknown rule "admins"`}},
		{"bad repo glob", "[repos]\nallow = [\"justaname\"]\n", []string{"c.toml:2: repos.allow[0]"}},
		{"reply without model", "[reply]\nenabled = true\n", []string{"reply.model: is required"}},
		{"postgres url", "[store]\nurl = \"mysql://x\"\n", []string{"store.url"}},
		{"webhook path clash", "[server]\nwebhook_path = \"/api/x\"\n", []string{"server.webhook_path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tt.doc))
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	require.NoError(t, os.WriteFile(path, []byte("[server]\nlisten = \"127.0.0.1:9000\"\n"), 0o600))
	cfg, err := Load("", env(map[string]string{
		"HUBBOT_CONFIG": path, "PORT": "7861", "HF_ENDPOINT": "http://localhost:1234", "HUBBOT_DATA": "/var/hubbot",
		"HF_TOKEN": "hf_secret", "WEBHOOK_SECRET": "one, two ,", "SPACE_HOST": "me-bot.hf.space",
	}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7861", cfg.Server.Listen)
	assert.Equal(t, "http://localhost:1234", cfg.Hub.Endpoint)
	assert.Equal(t, "/var/hubbot", cfg.Store.DataDir)
	assert.Equal(t, "https://me-bot.hf.space", cfg.Server.PublicURL)
	assert.Equal(t, []string{"one", "two"}, cfg.Secrets.WebhookSecrets)
	assert.False(t, cfg.DryRun())

	var out bytes.Buffer
	require.NoError(t, cfg.Print(&out))
	assert.NotContains(t, out.String(), "hf_secret")
	assert.NotContains(t, out.String(), "one")
	assert.Contains(t, out.String(), "WEBHOOK_SECRET: set (2 secrets, rotation)")
	assert.Contains(t, out.String(), "listen = '127.0.0.1:7861'")
}

func TestRepoAllowed(t *testing.T) {
	cfg := Default()
	cfg.Repos = Repos{Allow: []string{"acme/*", "datasets/acme/*", "alice/model"}, Deny: []string{"acme/secret"}}
	assert.True(t, cfg.RepoAllowed("acme/tiny"))
	assert.True(t, cfg.RepoAllowed("datasets/acme/data"))
	assert.False(t, cfg.RepoAllowed("spaces/acme/app"))
	assert.False(t, cfg.RepoAllowed("acme/secret"), "deny wins")
	assert.True(t, cfg.RepoAllowed("alice/model"))
	assert.False(t, cfg.RepoAllowed("bob/model"))
}

func TestSize(t *testing.T) {
	for in, want := range map[string]Size{"4MiB": 4 << 20, "500MB": 500e6, "20GB": 20e9, "1024": 1024, "1.5GiB": 3 << 29} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseSize("-1MB")
	assert.Error(t, err)
	assert.Equal(t, "4MiB", Size(4<<20).String())
	assert.True(t, strings.HasPrefix(displayKey("actions.1.with.command"), "actions[1].with"))
}
