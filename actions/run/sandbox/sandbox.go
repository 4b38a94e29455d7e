// Package sandbox runs one command confined: Landlock file and TCP rules,
// resource limits, no capabilities, and a supervisor that makes sure no
// process the command started outlives it.
//
// Landlock, no_new_privs, the user and the capability sets belong to a
// thread, and a child gets those of the thread that forked it. The bot
// confines none of its own threads. Its binary is re-executed twice, once
// for every command that runs at the same time, and the pair is kept for
// the next commands (re-executing a large Go binary costs tens of
// milliseconds of CPU, the rest well under one):
//
//   - the supervisor, a child subreaper in a session of its own:
//     everything a command starts, including what calls setsid or
//     double-forks, becomes its child once orphaned, and after each
//     command it kills and reaps all of it. It serves one command at a
//     time, so every orphan it gets is the current command's. The bot's
//     death gives it SIGTERM (its parent-death signal), and it cleans up
//     before it goes; a stopped command (SIGTERM from the bot) ends it too.
//   - the spawner, its child. For each command it locks a fresh goroutine
//     to its thread (never the main one) and confines that thread: as
//     root, an empty capability bounding set and the command's user (a
//     raw setresuid, which changes that thread only); no_new_privs; the
//     Landlock domain. It forks the command from that thread, traced: the
//     command stops at its exec, before it runs an instruction of its own,
//     gets its resource limits (prlimit, soft and hard) and is let go. The
//     thread waits for the command, which dies with it (parent-death
//     signal), and then ends: the Go runtime never runs anything else on a
//     locked thread, nor starts threads from it. Where a child may not ask
//     to be traced (Yama's ptrace_scope, a seccomp filter), the spawner
//     carries the limits itself and the commands inherit them; it then
//     retires when it has used half the CPU time limit, and a small
//     address-space cap can stop it.
//
// The confined thread is in the command's Landlock domain and has its
// user, so the command can signal it and end the spawner; that only ends
// the command itself, and the supervisor, which the command cannot signal
// (another user as root, Landlock ABI 6 otherwise), cleans up as always.
// Both processes are non-dumpable and get neither the bot's environment
// nor any descriptor but their socket, which no command inherits.
//
// A binary that uses this package calls Launch first thing in main (and
// in TestMain).
package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Modes of the sandbox.
const (
	// ModeLandlock confines every command with Landlock and refuses to run
	// any where the kernel lacks it.
	ModeLandlock = "landlock"
	// ModeOff runs commands unconfined (limits and process clean-up still
	// apply). Only for machines where every command is trusted.
	ModeOff = "off"
)

// Limits are per-command resource caps (setrlimit). Zero leaves a limit as
// the bot's own.
type Limits struct {
	// CPUTime is the CPU time of each process (RLIMIT_CPU).
	CPUTime time.Duration
	// FileSize is the largest file a process may write (RLIMIT_FSIZE).
	FileSize int64
	// OpenFiles is the number of open descriptors per process
	// (RLIMIT_NOFILE).
	OpenFiles int
	// AddressSpace is the virtual memory of each process (RLIMIT_AS).
	AddressSpace int64
	// Processes bounds the processes and threads of the user the command
	// runs as (RLIMIT_NPROC). The kernel counts per user, not per command:
	// as root, commands run as Config.UID, shared by concurrent commands;
	// otherwise the bot's own processes and threads count too. The kernel
	// does not enforce it for root, which is one reason root never runs
	// commands as root.
	Processes int
}

// DefaultLimits are caps that let a test suite or a conversion script run
// but stop a runaway: 1h of CPU, 20 GiB files, 1024 descriptors, 32 GiB of
// address space, 512 processes.
var DefaultLimits = Limits{
	CPUTime:      time.Hour,
	FileSize:     20 << 30,
	OpenFiles:    1024,
	AddressSpace: 32 << 30,
	Processes:    512,
}

// DefaultReadOnly are the system directories a toolchain needs to read and
// execute. Commands see nothing else but their checkout and home.
var DefaultReadOnly = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc", "/sys"}

// DefaultConnectPorts are the TCP ports commands may connect to: HTTPS and
// HTTP, what a Hub library or a package installer needs.
var DefaultConnectPorts = []uint16{443, 80}

// DefaultUID is the user commands run as when the bot runs as root
// (nobody).
const DefaultUID = 65534

// Config is the sandbox's configuration.
type Config struct {
	// Mode is ModeLandlock (the default when empty) or ModeOff.
	Mode string
	// ConnectPorts are the TCP ports commands may connect to (Landlock ABI
	// 4+). Binding any TCP port is denied.
	ConnectPorts []uint16
	// ReadOnly are the directories commands may read and execute;
	// DefaultReadOnly when nil. Missing ones are skipped.
	ReadOnly []string
	// Limits are the resource caps.
	Limits Limits
	// UID and GID are who commands run as when the bot runs as root;
	// DefaultUID when zero. Root never runs a command as root: root's
	// capabilities (CAP_SYS_PTRACE, CAP_DAC_OVERRIDE) would walk around
	// every other rule.
	UID, GID int
	// Protected are paths no command may reach (the data dir, the config
	// file): New refuses a ReadOnly directory that contains one.
	Protected []string
	// StateDir holds a record of every running supervisor, so that Sweep
	// can kill what a previous run of the bot left behind. Empty disables
	// the records.
	StateDir string
	// Executable is the binary re-executed as the supervisor and the
	// spawner; empty means os.Executable. It must call Launch at the start
	// of main.
	Executable string
	// Probe tells what the kernel offers; nil means the package's Probe.
	// Tests set it to take the paths of older kernels.
	Probe func() Support
}

// DefaultConfig is Landlock with the default ports, directories and limits.
func DefaultConfig() Config {
	return Config{
		Mode:         ModeLandlock,
		ConnectPorts: slices.Clone(DefaultConnectPorts),
		ReadOnly:     slices.Clone(DefaultReadOnly),
		Limits:       DefaultLimits,
	}
}

// Support is what the kernel offers.
type Support struct {
	// ABI is the Landlock ABI version; 0 when there is no Landlock.
	ABI int
	// Err says why Landlock is unavailable, when it is.
	Err error
}

// Network reports whether Landlock can restrict TCP connections (ABI 4+).
// Without it a command can reach every local port, the bot's own too, so
// the bot's API must not trust loopback clients.
func (s Support) Network() bool { return s.ABI >= 4 }

// Scoped reports whether Landlock keeps a command from signalling
// processes outside its sandbox, the bot and its supervisor (ABI 6+).
func (s Support) Scoped() bool { return s.ABI >= 6 }

func (s Support) String() string {
	if s.ABI == 0 {
		return fmt.Sprintf("no Landlock (%v)", s.Err)
	}
	var has []string
	has = append(has, "files")
	if s.Network() {
		has = append(has, "TCP")
	}
	if s.Scoped() {
		has = append(has, "signals")
	}
	return fmt.Sprintf("Landlock ABI %d (%s)", s.ABI, strings.Join(has, ", "))
}

// Sandbox starts confined commands.
type Sandbox struct {
	cfg     Config
	support Support
	exe     string
	pool    pool

	// orphans is set by AdoptOrphans; supervisors are the pids of the
	// supervisors alive (running a command or idle), which the orphan sweep
	// spares.
	orphans     bool
	mu          sync.Mutex
	supervisors map[int]bool
}

// New checks cfg and probes the kernel once.
func New(cfg Config) (*Sandbox, error) {
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeLandlock
	case ModeLandlock, ModeOff:
	default:
		return nil, fmt.Errorf("sandbox: mode %q: want %q or %q", cfg.Mode, ModeLandlock, ModeOff)
	}
	if cfg.ReadOnly == nil {
		cfg.ReadOnly = slices.Clone(DefaultReadOnly)
	}
	if cfg.UID == 0 {
		cfg.UID = DefaultUID
	}
	if cfg.GID == 0 {
		cfg.GID = cfg.UID
	}
	for _, dir := range cfg.ReadOnly {
		if !filepath.IsAbs(dir) {
			return nil, fmt.Errorf("sandbox: read-only directory %q is not an absolute path", dir)
		}
		for _, p := range cfg.Protected {
			abs, err := filepath.Abs(p)
			if err != nil {
				return nil, fmt.Errorf("sandbox: %w", err)
			}
			if within(filepath.Clean(dir), abs) {
				return nil, fmt.Errorf("sandbox: %s is under the read-only directory %s, so commands could read it: move it or leave %s out of read_only", abs, dir, dir)
			}
		}
	}
	exe := cfg.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("sandbox: find the binary to re-execute: %w", err)
		}
	}
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("sandbox: make the state directory: %w", err)
		}
	}
	probe := cfg.Probe
	if probe == nil {
		probe = Probe
	}
	return &Sandbox{cfg: cfg, support: probe(), exe: exe}, nil
}

// Support is what the kernel offers, as probed by New.
func (s *Sandbox) Support() Support { return s.support }

// RestrictsTCP reports whether commands can connect only to the configured
// ports. When they cannot (the sandbox is off, or Landlock is older than
// ABI 4), a command can reach every local port, the bot's own API too.
func (s *Sandbox) RestrictsTCP() bool {
	return s.cfg.Mode == ModeLandlock && s.support.Network()
}

// Mode is ModeLandlock or ModeOff.
func (s *Sandbox) Mode() string { return s.cfg.Mode }

// Ready says whether commands can run: nil, or a one-line reason why every
// command is refused (Landlock is required and missing).
func (s *Sandbox) Ready() error {
	if s.cfg.Mode == ModeLandlock && s.support.ABI < 1 {
		return fmt.Errorf("the sandbox needs Landlock, which this kernel does not offer (%v); commands are refused unless [sandbox] mode = \"off\"", s.support.Err)
	}
	return nil
}

// Describe is one line for the start-up log and check-config.
func (s *Sandbox) Describe() string {
	if s.cfg.Mode == ModeOff {
		return fmt.Sprintf("sandbox off: commands run unconfined (kernel: %s)", s.support)
	}
	line := fmt.Sprintf("sandbox: %s", s.support)
	if s.support.ABI >= 1 && !s.support.Network() {
		line += "; TCP is not restricted: commands can reach local ports"
	}
	return line
}

// Spec is one command to run.
type Spec struct {
	// Program is the path of the program; Args its argv (Args[0] its name).
	Program string
	Args    []string
	// Dir is the working directory, read-write for the command.
	Dir string
	// Env is the command's whole environment.
	Env []string
	// ReadWrite are directories the command may write besides Dir (its home
	// and temporary directory).
	ReadWrite []string
	// Grace is the time between SIGTERM and SIGKILL when the command is
	// stopped.
	Grace time.Duration
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
