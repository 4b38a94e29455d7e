package sandbox

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewChecksTheConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"bad mode", func(c *Config) { c.Mode = "docker" }, `mode "docker"`},
		{"relative directory", func(c *Config) { c.ReadOnly = []string{"usr"} }, `"usr" is not an absolute path`},
		{"data dir under a read-only directory", func(c *Config) { c.Protected = []string{"/etc/hubbot/data"} },
			"/etc/hubbot/data is under the read-only directory /etc"},
		{"config file under a read-only directory", func(c *Config) { c.Protected = []string{"/opt/hubbot/config.toml"} },
			"/opt/hubbot/config.toml is under the read-only directory /opt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			_, err := New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	cfg := DefaultConfig()
	cfg.Protected = []string{"/data", "/home/user/app/config.toml", "/usrlocal"}
	sb, err := New(cfg)
	require.NoError(t, err, "a sibling named like a read-only directory is not under it")
	assert.Equal(t, DefaultUID, sb.cfg.UID)
	assert.Equal(t, DefaultUID, sb.cfg.GID)
}

func TestReadyFailsClosed(t *testing.T) {
	sb := &Sandbox{cfg: Config{Mode: ModeLandlock}, support: Support{Err: assert.AnError}}
	err := sb.Ready()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `commands are refused unless [sandbox] mode = "off"`)
	assert.Contains(t, sb.Describe(), "no Landlock")

	sb.cfg.Mode = ModeOff
	assert.NoError(t, sb.Ready())
	assert.Contains(t, sb.Describe(), "sandbox off")

	sb = &Sandbox{cfg: Config{Mode: ModeLandlock}, support: Support{ABI: 3}}
	assert.NoError(t, sb.Ready())
	assert.False(t, sb.Support().Network())
	assert.Contains(t, sb.Describe(), "TCP is not restricted")
}
