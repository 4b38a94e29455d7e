package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/hubbot/hubbot/bot"
	"github.com/hubbot/hubbot/bot/config"
)

const serveHelp = `
Run the webhook server and the workers. The configuration comes from
--config, else $HUBBOT_CONFIG, else ./config.toml when present, else the
built-in defaults. Without HF_TOKEN the bot runs in dry-run: every Hub write
is recorded in the job log instead of sent. With HF_TOKEN, WEBHOOK_SECRET is
required. SQLite in the data dir is the store unless HUBBOT_DATABASE_URL
names a Postgres database.`

const checkConfigHelp = `
Validate the configuration, every action's options included, and print the
effective configuration after the environment overrides. Secrets are shown
as set or not set, never printed.`

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, code := loadConfig("serve", args, stderr, getenv)
	if cfg == nil {
		return code
	}
	log := newLogger(cfg, stderr)
	sb, err := startSandbox(cfg, log)
	if err != nil {
		return fail(stderr, "sandbox: %v", err)
	}
	defer sb.Close() // the idle supervisors; busy ones end with their command
	b, err := bot.New(ctx, bot.Options{Config: cfg, Version: versionString(), Logger: log, Out: stdout, Sandbox: sb})
	if err != nil {
		return fail(stderr, "%v", err)
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		b.Close()
		return fail(stderr, "listen on %s: %v", cfg.Server.Listen, err)
	}
	if err := b.Serve(ctx, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fail(stderr, "%v", err)
	}
	return 0
}

// configUsage is the text of every --config flag.
const configUsage = "read the configuration from `PATH` (default $HUBBOT_CONFIG, else ./config.toml when present)"

// loadConfig parses a command's --config flag and loads the configuration;
// on failure it returns nil and the exit code (2 bad flags, 1 bad config,
// 0 after -h).
func loadConfig(name string, args []string, stderr io.Writer, getenv func(string) string) (*config.Config, int) {
	fs := newFlags(name, stderr)
	path := fs.String("config", "", configUsage)
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return nil, usageError(stderr, name, err)
	}
	cfg, err := config.Load(*path, getenv)
	if err != nil {
		return nil, fail(stderr, "%v", err)
	}
	return cfg, 0
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Server.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Server.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func checkConfigCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, code := loadConfig("check-config", args, stderr, getenv)
	if cfg == nil {
		return code
	}
	if err := bot.Check(cfg); err != nil {
		return fail(stderr, "%v", err)
	}
	if err := cfg.Print(stdout); err != nil {
		return fail(stderr, "print the configuration: %v", err)
	}
	if err := sandboxReport(cfg, stdout); err != nil {
		return fail(stderr, "%v", err)
	}
	return 0
}
