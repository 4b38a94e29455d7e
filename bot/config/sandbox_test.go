package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSandboxKeys(t *testing.T) {
	cfg, err := Parse("c.toml", []byte(`
[sandbox]
mode = "off"
connect_ports = [443]
read_only = ["/usr", "/nix/store"]
cpu_time = "10m"
file_size = "1GiB"
open_files = 256
memory = "8GiB"
processes = 128
uid = 1234
`))
	require.NoError(t, err)
	assert.Equal(t, Sandbox{Mode: "off", ConnectPorts: []int{443}, ReadOnly: []string{"/usr", "/nix/store"},
		CPUTime: Duration(10 * time.Minute), FileSize: 1 << 30, OpenFiles: 256, Memory: 8 << 30, Processes: 128, UID: 1234}, cfg.Sandbox)

	cfg, err = Parse("c.toml", []byte("[sandbox]\nconnect_ports = [443, 80, 8080]\n"))
	require.NoError(t, err)
	assert.Equal(t, "landlock", cfg.Sandbox.Mode, "unset keys keep their defaults")
	assert.Equal(t, 512, cfg.Sandbox.Processes)
}

func TestSandboxErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"mode", "[sandbox]\nmode = \"docker\"\n", `c.toml:2: sandbox.mode: want "landlock" or "off", got "docker"`},
		{"port", "[sandbox]\nconnect_ports = [443, 70000]\n", "c.toml:2: sandbox.connect_ports[1]: want a TCP port"},
		{"relative dir", "[sandbox]\nread_only = [\"usr\"]\n", `c.toml:2: sandbox.read_only[0]: want an absolute path, got "usr"`},
		{"root", "[sandbox]\nuid = 0\n", "c.toml:2: sandbox.uid: want a user id other than root's"},
		{"few processes", "[sandbox]\nprocesses = 2\n", "c.toml:2: sandbox.processes"},
		{"unknown key", "[sandbox]\nnetwork = false\n", "c.toml:2: unknown key sandbox.network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tt.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
