package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	runaction "github.com/hubbot/hubbot/actions/run"
	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/bot/config"
)

// sandboxConfig turns the [sandbox] table into the sandbox's
// configuration. The data dir and the config file are protected: a
// read_only directory that contains one is refused.
func sandboxConfig(cfg *config.Config) sandbox.Config {
	s := cfg.Sandbox
	out := sandbox.Config{
		Mode:     s.Mode,
		ReadOnly: s.ReadOnly,
		Limits: sandbox.Limits{
			CPUTime:      time.Duration(s.CPUTime),
			FileSize:     int64(s.FileSize),
			OpenFiles:    s.OpenFiles,
			AddressSpace: int64(s.Memory),
			Processes:    s.Processes,
		},
		UID:       s.UID,
		GID:       s.UID,
		Protected: []string{cfg.Store.DataDir},
		StateDir:  filepath.Join(cfg.Store.DataDir, "sandbox"),
	}
	if cfg.Path != "" {
		out.Protected = append(out.Protected, cfg.Path)
	}
	for _, p := range s.ConnectPorts {
		out.ConnectPorts = append(out.ConnectPorts, uint16(p))
	}
	return out
}

// startSandbox prepares the sandbox for serve: it marks the bot
// non-dumpable (so that a command of the same user cannot read its
// environment or memory), probes and logs what the kernel offers, warns
// when the sandbox is off or cannot confine, becomes the subreaper of what
// a dead supervisor leaves, and kills what commands of a previous run left
// behind. Call it before any job runs and give the
// result to the run actions (run.Env.Sandbox).
func startSandbox(cfg *config.Config, log *slog.Logger) (*sandbox.Sandbox, error) {
	if err := sandbox.MarkNonDumpable(); err != nil {
		return nil, err
	}
	sb, err := sandbox.New(sandboxConfig(cfg))
	if err != nil {
		return nil, err
	}
	sup := sb.Support()
	log.Info("sandbox", "mode", sb.Mode(), "landlock_abi", sup.ABI, "network_rules", sup.Network(), "signal_scoping", sup.Scoped())
	for _, w := range sandboxWarnings(cfg, sb) {
		log.Warn(w)
	}
	if err := sb.AdoptOrphans(); err != nil {
		return nil, err
	}
	killed, err := sb.Sweep()
	if err != nil {
		return nil, err
	}
	if killed > 0 {
		log.Warn("sandbox: killed processes a previous run left behind", "processes", killed)
	}
	return sb, nil
}

// sandboxWarnings are what serve and check-config say about a sandbox
// that does not confine commands fully.
func sandboxWarnings(cfg *config.Config, sb *sandbox.Sandbox) []string {
	if !hasRunAction(cfg) {
		return nil
	}
	var out []string
	if sb.Mode() == sandbox.ModeOff {
		out = append(out, `sandbox: [sandbox] mode = "off": run commands execute unconfined, with access to everything the bot can reach; only for code you trust`)
	} else if err := sb.Ready(); err != nil {
		out = append(out, "sandbox: "+err.Error())
	}
	sup := sb.Support()
	if sb.Mode() == sandbox.ModeLandlock && sup.ABI >= 1 && !sup.Network() {
		out = append(out, fmt.Sprintf("sandbox: Landlock ABI %d cannot restrict TCP (needs 4, Linux 6.7): commands can reach local ports", sup.ABI))
	}
	if !sb.RestrictsTCP() && cfg.Secrets.AdminToken == "" {
		out = append(out, "sandbox: commands can connect to the bot's port, so /api no longer trusts loopback clients: it refuses every request until HUBBOT_ADMIN_TOKEN is set")
	}
	if sb.Mode() == sandbox.ModeLandlock && sup.ABI >= 1 && !sup.Scoped() {
		out = append(out, fmt.Sprintf("sandbox: Landlock ABI %d cannot stop commands from signalling processes of the same user (needs 6, Linux 6.12)", sup.ABI))
	}
	return out
}

func hasRunAction(cfg *config.Config) bool {
	for _, a := range cfg.Actions {
		if a.Uses == "run" {
			return true
		}
	}
	return false
}

// sandboxReport writes, for check-config, the sandbox's state and which run
// actions are privileged, as TOML comments after the configuration.
func sandboxReport(cfg *config.Config, w io.Writer) error {
	sc := sandboxConfig(cfg)
	sc.StateDir = "" // check-config creates nothing
	sb, err := sandbox.New(sc)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n# %s\n", sb.Describe())
	for _, warning := range sandboxWarnings(cfg, sb) {
		fmt.Fprintf(w, "# warning: %s\n", warning)
	}
	for _, a := range cfg.Actions {
		if a.Uses != "run" {
			continue
		}
		act, err := runaction.New(a.With, runaction.Env{})
		if err != nil {
			return err // CheckActions reported it first
		}
		if why := act.Privileged(); len(why) > 0 {
			fmt.Fprintf(w, "# action %s is privileged (%s): it never runs code from pull request authors outside its allow rules, approved or not\n",
				a.Name, strings.Join(why, "; "))
		}
	}
	return nil
}
