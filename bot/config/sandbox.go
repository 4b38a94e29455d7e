package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// Sandbox configures the confinement of `run` commands (package
// actions/run/sandbox).
type Sandbox struct {
	// Mode is "landlock" (commands refused where the kernel lacks it) or
	// "off" (unconfined, warned about).
	Mode string `toml:"mode"`
	// ConnectPorts are the TCP ports commands may connect to.
	ConnectPorts []int `toml:"connect_ports"`
	// ReadOnly are the system directories commands may read and execute.
	ReadOnly []string `toml:"read_only"`
	// Per-process resource caps; 0 leaves a cap off.
	CPUTime   Duration `toml:"cpu_time"`
	FileSize  Size     `toml:"file_size"`
	OpenFiles int      `toml:"open_files"`
	Memory    Size     `toml:"memory"` // address space
	Processes int      `toml:"processes"`
	// UID is who commands run as when the bot runs as root.
	UID int `toml:"uid"`
}

// defaultSandbox mirrors sandbox.DefaultConfig; config does not import
// the sandbox so that it stays a leaf of the tree.
func defaultSandbox() Sandbox {
	return Sandbox{
		Mode:         "landlock",
		ConnectPorts: []int{443, 80},
		ReadOnly:     []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc", "/sys"},
		CPUTime:      Duration(time.Hour),
		FileSize:     20 << 30,
		OpenFiles:    1024,
		Memory:       32 << 30,
		Processes:    512,
		UID:          65534,
	}
}

func (c *Config) validateSandbox(add func(key, format string, args ...any)) {
	s := c.Sandbox
	if !slices.Contains([]string{"landlock", "off"}, s.Mode) {
		add("sandbox.mode", `want "landlock" or "off", got %q`, s.Mode)
	}
	for i, p := range s.ConnectPorts {
		if p < 1 || p > 65535 {
			add(fmt.Sprintf("sandbox.connect_ports.%d", i), "want a TCP port (1-65535), got %d", p)
		}
	}
	for i, dir := range s.ReadOnly {
		if !filepath.IsAbs(dir) {
			add(fmt.Sprintf("sandbox.read_only.%d", i), "want an absolute path, got %q", dir)
		}
	}
	if s.CPUTime < 0 || s.CPUTime > 0 && s.CPUTime < Duration(time.Second) {
		add("sandbox.cpu_time", "want 0 (no cap) or at least 1s")
	}
	if s.FileSize < 0 {
		add("sandbox.file_size", "must not be negative")
	}
	if s.Memory < 0 {
		add("sandbox.memory", "must not be negative")
	}
	if s.OpenFiles < 0 || s.OpenFiles > 0 && s.OpenFiles < 16 {
		add("sandbox.open_files", "want 0 (no cap) or at least 16")
	}
	if s.Processes < 0 || s.Processes > 0 && s.Processes < 8 {
		add("sandbox.processes", "want 0 (no cap) or at least 8")
	}
	if s.UID < 1 {
		add("sandbox.uid", "want a user id other than root's (0)")
	}
}
