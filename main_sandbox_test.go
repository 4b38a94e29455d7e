package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/actions"
	runaction "github.com/hubbot/hubbot/actions/run"
	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/bot/config"
)

// TestCheckConfigSandbox: check-config names the privileged run actions and
// warns about a sandbox that is off.
func TestCheckConfigSandbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	require.NoError(t, os.WriteFile(path, []byte(`
[sandbox]
mode = "off"

[[actions]]
name = "tests"
uses = "run"
on = ["pull_request"]
[actions.with]
command = ["make", "test"]

[[actions]]
name = "export"
uses = "run"
on = ["push"]
[actions.with]
command = ["python", "export.py"]
token = true
outputs = ["onnx/**"]
`), 0o600))
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"check-config", "--config", path}, &out, &errOut, noEnv)
	require.Equal(t, 0, code, errOut.String())
	assert.Contains(t, out.String(), `# warning: sandbox: [sandbox] mode = "off": run commands execute unconfined`)
	assert.Contains(t, out.String(), "# action export is privileged (token = true gives the command the Hub token; outputs open a pull request with files the command wrote)")
	assert.NotContains(t, out.String(), "action tests is privileged")
}

// TestBinaryIsItsOwnLauncher runs a command in the sandbox with the real
// hubbot binary as the supervisor and spawner, as serve does.
func TestBinaryIsItsOwnLauncher(t *testing.T) {
	if s := sandbox.Probe(); s.ABI < 1 {
		t.Skipf("needs Landlock; the kernel offers %s", s)
	}
	bin, err := buildBinary()
	require.NoError(t, err)
	cfg := sandbox.DefaultConfig()
	cfg.Executable = bin
	cfg.StateDir = t.TempDir()
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })

	secret := filepath.Join(t.TempDir(), "hubbot.db")
	require.NoError(t, os.WriteFile(secret, []byte("data"), 0o644))
	require.NoError(t, os.Chmod(filepath.Dir(secret), 0o755)) // only the sandbox stands in the way
	a, err := runaction.New(actions.Options{"command": []any{"/bin/sh", "-c", `echo in-sandbox > out.txt; cat out.txt; cat "$DB" || echo db-refused`},
		"env": map[string]any{"DB": secret}}, runaction.Env{TempDir: t.TempDir(), Sandbox: sb})
	require.NoError(t, err)
	var log bytes.Buffer
	res, err := a.Run(t.Context(), &actions.Workspace{Dir: t.TempDir()}, &log)
	require.NoError(t, err)
	assert.Equal(t, actions.Success, res.Conclusion, log.String())
	assert.Contains(t, res.Details, "in-sandbox\n")
	assert.Contains(t, res.Details, "db-refused")
	assert.NotContains(t, res.Details, "data\n")
}

// TestSandboxWarningsOnOldKernels: where Landlock cannot restrict TCP,
// serve and check-config say so and say that /api wants the admin token.
func TestSandboxWarningsOnOldKernels(t *testing.T) {
	cfg, err := config.Parse("c.toml", []byte("[[actions]]\nname = \"ci\"\nuses = \"run\"\non = [\"pull_request\"]\n[actions.with]\ncommand = [\"sh\", \"ci.sh\"]\n"))
	require.NoError(t, err)
	warnings := func(abi int, adminToken string) string {
		cfg.Secrets.AdminToken = adminToken
		sc := sandboxConfig(cfg)
		sc.StateDir = ""
		sc.Probe = func() sandbox.Support { return sandbox.Support{ABI: abi} }
		sb, err := sandbox.New(sc)
		require.NoError(t, err)
		return strings.Join(sandboxWarnings(cfg, sb), "\n")
	}
	const apiClosed = "sandbox: commands can connect to the bot's port, so /api no longer trusts loopback clients: it refuses every request until HUBBOT_ADMIN_TOKEN is set"
	old := warnings(3, "")
	assert.Contains(t, old, "sandbox: Landlock ABI 3 cannot restrict TCP (needs 4, Linux 6.7): commands can reach local ports")
	assert.Contains(t, old, apiClosed)
	assert.NotContains(t, warnings(3, "admin-token-0123456789"), apiClosed)
	assert.Equal(t, "", warnings(6, ""))
}
