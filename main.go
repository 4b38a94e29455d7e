// Command hubbot is a CI/CD bot for Hugging Face Hub repositories.
//
// Usage:
//
//	hubbot serve [--config PATH]
//	hubbot replay [--url URL] [--secret S] FILE...
//	hubbot check-config [--config PATH]
//	hubbot check [--format text|json] DIR
//	hubbot convert SRC DST
//	hubbot version
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hubbot/hubbot/actions/modelcard"
	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/actions/safetensors"
	"github.com/hubbot/hubbot/bot"
	"github.com/hubbot/hubbot/bot/config"
)

// version is set at build time with -ldflags "-X main.version=..."; without
// it, the module version or VCS revision from the build info is used.
var version = ""

func main() {
	// The bot re-executed as a sandbox launcher never returns from Launch.
	sandbox.Launch()
	gin.SetMode(gin.ReleaseMode) // the process's choice: no debug route dump
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run dispatches a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr, getenv)
	case "replay":
		return replay(ctx, rest, stdout, stderr, getenv)
	case "check-config":
		return checkConfig(rest, stdout, stderr, getenv)
	case "check":
		return check(ctx, rest, stdout, stderr)
	case "convert":
		return convert(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "hubbot %s\n", versionString())
		return 0
	case "help", "--help", "-h":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "hubbot: unknown command %q\n", cmd)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: hubbot <command> [flags]

commands:
  serve [--config PATH]          run the webhook server and workers
  replay [--url URL] [--secret S] FILE...
                                 post saved webhook payloads to a running bot
  check-config [--config PATH]   validate and print the effective configuration
  check [--format text|json] DIR check the model card in a local folder
  convert SRC DST                convert a PyTorch checkpoint (file or folder) to safetensors
  version                        print the version

environment: HF_TOKEN, WEBHOOK_SECRET, HF_ENDPOINT, HUBBOT_CONFIG, HUBBOT_DATA,
HUBBOT_DATABASE_URL, HUBBOT_ADMIN_TOKEN, LLM_API_KEY, PORT
`)
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hubbot "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, code := loadConfig("serve", args, stderr, getenv)
	if cfg == nil {
		return code
	}
	log := newLogger(cfg, stderr)
	b, err := bot.New(ctx, bot.Options{Config: cfg, Version: versionString(), Logger: log, Out: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "hubbot: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		b.Close()
		fmt.Fprintf(stderr, "hubbot: listen on %s: %v\n", cfg.Server.Listen, err)
		return 1
	}
	if err := b.Serve(ctx, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "hubbot: %v\n", err)
		return 1
	}
	return 0
}

// loadConfig parses a command's --config flag and loads the configuration;
// on failure it returns nil and the exit code (2 bad flags, 1 bad config).
func loadConfig(name string, args []string, stderr io.Writer, getenv func(string) string) (*config.Config, int) {
	fs := newFlags(name, stderr)
	path := fs.String("config", "", "config file (default $HUBBOT_CONFIG, else ./config.toml when present)")
	if fs.Parse(args) != nil {
		return nil, 2
	}
	cfg, err := config.Load(*path, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot: %v\n", err)
		return nil, 1
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

func checkConfig(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, code := loadConfig("check-config", args, stderr, getenv)
	if cfg == nil {
		return code
	}
	if err := bot.CheckActions(cfg); err != nil {
		fmt.Fprintf(stderr, "hubbot: %v\n", err)
		return 1
	}
	if err := cfg.Print(stdout); err != nil {
		fmt.Fprintf(stderr, "hubbot: %v\n", err)
		return 1
	}
	if err := sandboxReport(cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "hubbot: %v\n", err)
		return 1
	}
	return 0
}

func replay(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := newFlags("replay", stderr)
	port := getenv("PORT")
	if port == "" {
		port = "7860"
	}
	url := fs.String("url", "http://127.0.0.1:"+port+"/webhooks/hub", "the bot's webhook URL")
	secret := fs.String("secret", "", "webhook secret (default: the first of $WEBHOOK_SECRET)")
	if fs.Parse(args) != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "hubbot replay: name at least one payload file")
		return 2
	}
	if *secret == "" {
		*secret, _, _ = strings.Cut(getenv("WEBHOOK_SECRET"), ",")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	code := 0
	for _, file := range fs.Args() {
		body, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "hubbot replay: %v\n", err)
			code = 1
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
		if err != nil {
			fmt.Fprintf(stderr, "hubbot replay: %v\n", err)
			return 2
		}
		req.Header.Set("Content-Type", "application/json")
		if *secret != "" {
			req.Header.Set("X-Webhook-Secret", strings.TrimSpace(*secret))
		}
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintf(stderr, "hubbot replay: %s: %v\n", file, err)
			code = 1
			continue
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		fmt.Fprintf(stdout, "%s: %d %s\n", file, resp.StatusCode, strings.TrimSpace(string(answer)))
		if resp.StatusCode >= 300 {
			code = 1
		}
	}
	return code
}

func check(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", stderr)
	format := fs.String("format", "text", "report format: text or json")
	if fs.Parse(args) != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: hubbot check [--format text|json] DIR")
		return 2
	}
	return modelcard.RunCLI(ctx, fs.Arg(0), *format, modelcard.Options{}, stdout, stderr)
}

func convert(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("convert", stderr)
	if fs.Parse(args) != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "usage: hubbot convert SRC DST")
		return 2
	}
	rep, err := safetensors.ConvertPath(ctx, fs.Arg(0), fs.Arg(1), safetensors.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "hubbot convert: %s\n", oneLine(err.Error()))
		return 1
	}
	fmt.Fprint(stdout, rep.String())
	return 0
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
