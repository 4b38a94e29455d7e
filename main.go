// Command hubbot is a CI/CD bot for Hugging Face Hub repositories.
//
// Run `hubbot help` for the commands and `hubbot help COMMAND` (or
// `hubbot COMMAND -h`) for one command's flags and an example.
package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"syscall"

	"github.com/gin-gonic/gin"

	"github.com/hubbot/hubbot/actions/run/sandbox"
)

// version is set at build time with -ldflags "-X main.version=..."; without
// it, the module version or VCS revision from the build info is used.
var version = ""

// defaultConfig is the documented config.toml, used by `hubbot dev` when
// the user has none, so that the demo runs the default actions.
//
//go:embed config.toml
var defaultConfig []byte

func main() {
	// The bot re-executed as a sandbox supervisor or spawner never returns
	// from Launch.
	sandbox.Launch()
	gin.SetMode(gin.ReleaseMode) // the process's choice: no debug route dump
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// cmdFunc runs one command with the arguments after its name and returns
// the exit code: 0 success, 1 failure, 2 usage error.
type cmdFunc func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int

// command is one row of the CLI. Its function parses its flags with
// newFlags(name, stderr) and parseArgs, which print this row's text with the
// flags on -h; `hubbot help NAME` is `hubbot NAME -h`.
type command struct {
	name    string
	args    string // what follows "hubbot NAME" in the usage line
	summary string // one line for `hubbot help`
	help    string // what the command does, its arguments and refusals
	example string // copy-paste lines, one per line
	run     cmdFunc
}

// commands is the CLI's table, in the order `hubbot help` lists it.
func commands() []command {
	return []command{
		{name: "dev", args: "[flags] | dev pr ... | dev comment ...", summary: "try the bot locally: a fake Hub, the bot and a demo repo",
			help: devHelp, example: devExample, run: devCmd},
		{name: "serve", args: "[flags]", summary: "run the webhook server and workers",
			help: serveHelp, example: "HF_TOKEN=hf_... WEBHOOK_SECRET=... hubbot serve --config config.toml", run: serveCmd},
		{name: "replay", args: "[flags] FILE...", summary: "send saved webhook payloads to a bot, or route them locally",
			help: replayHelp, example: "hubbot replay --local testdata/payloads/*.json\nhubbot replay --local --run push.json\nhubbot replay --url http://127.0.0.1:7860/webhooks/hub payload.json", run: replayCmd},
		{name: "check-config", args: "[flags]", summary: "validate and print the effective configuration",
			help: checkConfigHelp, example: "hubbot check-config --config config.toml", run: checkConfigCmd},
		{name: "check", args: "[flags] DIR", summary: "check the model card in a local folder",
			help: checkHelp, example: "hubbot check ./my-model --format json", run: checkCmd},
		{name: "convert", args: "[flags] SRC DST", summary: "convert a PyTorch checkpoint (file or folder) to safetensors",
			help: convertHelp, example: "hubbot convert ./my-model ./converted\nhubbot convert pytorch_model.bin model.safetensors", run: convertCmd},
		{name: "webhook", args: "sync|status [--config PATH] [--dry-run]", summary: "create or update the bot's Hub webhook; show it",
			help: webhookHelp, example: "hubbot webhook sync --dry-run\nhubbot webhook status", run: webhookCmd},
		{name: "db", args: "migrate|status|copy [flags]", summary: "the store's migrations; move from SQLite to Postgres",
			help: dbUsage, example: "hubbot db status --url postgres://hubbot@db/hubbot\nhubbot db copy --from ./data --to postgres://hubbot@db/hubbot", run: dbCmd},
		{name: "jobs", args: "[flags]", summary: "list a running bot's jobs through its API",
			help: "List a running bot's jobs, newest first, through its JSON API (--url; HUBBOT_ADMIN_TOKEN as bearer token).", example: "hubbot jobs --repo acme/model --state failed", run: jobsCmd},
		{name: "logs", args: "[flags] ID", summary: "print a job's log, following it while it runs",
			help: "Print a job's log through the bot's API; with --follow, keep printing what it gains until the job ends.", example: "hubbot logs --follow 42", run: logsCmd},
		{name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script",
			help: completionHelp, example: "source <(hubbot completion bash)\nhubbot completion fish > ~/.config/fish/completions/hubbot.fish", run: completionCmd},
		{name: "version", summary: "print the version", help: "Print hubbot's version.", example: "hubbot version", run: versionCmd},
	}
}

// run dispatches a command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "--help", "-help":
		if name == "help" && len(rest) > 0 {
			return run(ctx, append(slices.Clone(rest), "-h"), stdout, stderr, getenv)
		}
		usage(stdout)
		return 0
	case "--version", "-v":
		return versionCmd(ctx, nil, stdout, stderr, getenv)
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "hubbot: unknown command %q%s; run 'hubbot help' for the list\n", name, didYouMean(name))
		return 2
	}
	if wantsHelp(rest) {
		// Help goes to stdout and is not an error, whichever command prints it.
		if code := c.run(ctx, rest, stdout, stdout, getenv); code != 2 {
			return code
		}
		return 0
	}
	return c.run(ctx, rest, stdout, stderr, getenv)
}

// lookup finds a command by name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: hubbot COMMAND [flags] [args]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `  help [COMMAND] show a command's flags and an example

Start with 'hubbot dev' to see the bot at work on a fake Hub on this machine.

environment: HF_TOKEN, WEBHOOK_SECRET, HF_ENDPOINT, HUBBOT_CONFIG, HUBBOT_DATA,
HUBBOT_DATABASE_URL, HUBBOT_ADMIN_TOKEN, LLM_API_KEY, PORT
`)
}

func versionCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := newFlags("version", stderr)
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return usageError(stderr, "version", err)
	}
	fmt.Fprintf(stdout, "hubbot %s\n", versionString())
	return 0
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
