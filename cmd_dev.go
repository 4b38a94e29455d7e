package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/devenv"
)

const devHelp = `
Try the whole bot on this machine, with no Hub account and no public URL.
hubbot dev starts a fake Hub (git, LFS, the API and webhooks) and the bot
wired to it, both on 127.0.0.1, with users alice (who owns the demo repo),
bob and the bot's own account. alice pushes a model card with mistakes and a
small PyTorch checkpoint to alice/demo-model, and the bot goes to work.
hubbot dev then prints the bot's pages, a git clone URL with credentials and
three lines to try. Ctrl-C stops everything; the data stays in the folder.

The configuration is yours: --config, else $HUBBOT_CONFIG, else
./config.toml, else the documented default; so hubbot dev is also how to try
a change to it before deploying. The Hub endpoint, the store (SQLite in the
folder), the listen address and the secrets are the trial's own.

From another shell, act on the fake Hub as one of its users:
  hubbot dev pr [--repo R] [--as USER] [--title T] FILE...
  hubbot dev comment [--repo R] --num N [--as USER] TEXT`

const devExample = `hubbot dev
hubbot dev --dir ./trial --config my-config.toml
hubbot dev pr --as bob README.md
hubbot dev comment --num 3 --as alice "/hubbot convert"`

// devSubcommands are the commands that act on a running `hubbot dev`.
func devSubcommands() []command {
	return []command{
		{name: "pr", args: "[flags] FILE...", summary: "open a pull request on the dev Hub",
			help: `Open a pull request on the running dev Hub as one of its users, with the
given local files placed at the root of the repo under their own names. The
bot receives the webhooks the Hub sends for it.`,
			example: "hubbot dev pr --repo alice/demo-model --as bob ./demo-model/README.md"},
		{name: "comment", args: "[flags] TEXT", summary: "comment on a pull request or discussion of the dev Hub",
			help: `Post a comment on a pull request or discussion of the running dev Hub as
one of its users. Comments starting with the command prefix (/hubbot) are
commands; who may run them is the configuration's [commands] allow.`,
			example: `hubbot dev comment --repo alice/demo-model --num 3 --as alice "/hubbot convert"`},
	}
}

func devCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 {
		switch args[0] {
		case "pr":
			return devPR(ctx, args[1:], stdout, stderr)
		case "comment":
			return devComment(ctx, args[1:], stdout, stderr)
		}
	}
	fs := newFlags("dev", stderr)
	dir := fs.String("dir", "", "keep the data in `DIR` (default: a new temporary folder)")
	cfgPath := fs.String("config", "", "read the configuration from `PATH` (default $HUBBOT_CONFIG, else ./config.toml, else the documented default)")
	port := fs.Int("port", 0, "the bot's `PORT` on 127.0.0.1 (default: a free one)")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		var ue *usageErr
		if errors.As(err, &ue) && len(ue.extra) > 0 {
			return usagef(stderr, "dev", "unknown subcommand %q (want pr or comment, or nothing to start)", ue.extra[0])
		}
		return usageError(stderr, "dev", err)
	}
	cfg, cfgName, err := devConfig(*cfgPath, getenv)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	env, err := devenv.Start(ctx, devenv.Options{Config: cfg, Dir: *dir, Port: *port, Version: versionString()})
	if err != nil {
		return fail(stderr, "dev: %v", err)
	}
	defer env.Close()
	served := make(chan error, 1)
	go func() { served <- env.Serve(ctx) }()

	s := env.State
	fmt.Fprintf(stdout, `hubbot dev: the bot and a fake Hub, on this machine only

  dashboard  %s/
             %s/repos/%s   (the demo repo's results)
             %s/jobs   (jobs and their live logs)
             %s/deliveries   (the webhooks the bot received)
  fake Hub   %s   (users: alice owns %s, bob, %s is the bot)
  config     %s
  data       %s   (logs: %s)

alice pushed a model card with mistakes and a PyTorch checkpoint; the bot is at work...
`, s.BotURL, s.BotURL, s.Repo, s.BotURL, s.BotURL, s.HubURL, s.Repo, s.BotUser, cfgName, s.Dir, filepath.Join(s.Dir, devenv.LogFile))

	settle, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = env.Settle(settle)
	cancel()
	if err == nil {
		printDevTry(ctx, stdout, s)
	} else if ctx.Err() == nil {
		fmt.Fprintf(stdout, "the bot is still busy after 2 minutes; see %s/jobs\n", s.BotURL)
	}
	if err := <-served; err != nil {
		return fail(stderr, "dev: %v (data kept in %s)", err, s.Dir)
	}
	fmt.Fprintf(stdout, "\nstopped. The data is kept in %s (the fake Hub's repos in hub/, the bot's store in data/, logs in %s);\n"+
		"'hubbot dev --dir %s' starts again from scratch there.\n", s.Dir, devenv.LogFile, s.Dir)
	return 0
}

// printDevTry shows what the bot did and three lines to try.
func printDevTry(ctx context.Context, w io.Writer, s devenv.State) {
	list, err := s.Discussions(ctx)
	if err != nil {
		fmt.Fprintf(w, "could not list the demo repo's discussions: %v\n", err)
		return
	}
	for _, d := range list {
		kind := "discussion"
		if d.IsPullRequest {
			kind = "pull request"
		}
		fmt.Fprintf(w, "  #%d %s by %s: %q\n", d.Num, kind, d.AuthorName(), d.Title)
	}
	fmt.Fprintf(w, "  (on the fake Hub: %s/api/models/%s/discussions/N; the bot's results: %s/repos/%s)\n", s.HubURL, s.Repo, s.BotURL, s.Repo)
	next := len(list) + 1
	clone := filepath.Join(s.Dir, devenv.CloneDir)
	fmt.Fprintf(w, `
Three things to try, from another shell:

  1. Fix the card's license and push it as alice; the bot's report follows:
     git clone -q %s %s && cd %s && sed -i.bak 's/^license: apache2$/license: apache-2.0/' README.md && git -c user.name=alice -c user.email=alice@example.com commit -qam "Fix the license" && git push -q

  2. Fix the pipeline tag in a pull request as bob, who does not own the repo; the bot checks its card:
     cd %s && sed -i.bak 's/text-clasification/text-classification/' README.md && hubbot dev pr --dir %s --as bob README.md

  3. Ask the bot to convert the checkpoint on that pull request (as bob it is denied, as alice it runs):
     hubbot dev comment --dir %s --num %d --as alice "/hubbot convert"

Ctrl-C stops everything.
`, shellQuote(s.CloneURL("alice")), shellQuote(clone), shellQuote(clone),
		shellQuote(clone), shellQuote(s.Dir), shellQuote(s.Dir), next)
}

// devConfig loads the user's configuration, or the documented default when
// there is none, so that the trial runs the default actions.
func devConfig(path string, getenv func(string) string) (*config.Config, string, error) {
	if path == "" {
		path = getenv("HUBBOT_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat("config.toml"); err == nil {
			path = "config.toml"
		}
	}
	if path == "" {
		cfg, err := config.Parse("config.toml (built in)", defaultConfig)
		return cfg, "the documented default config.toml (no --config, $HUBBOT_CONFIG or ./config.toml)", err
	}
	cfg, err := config.Load(path, getenv)
	return cfg, path, err
}

func devPR(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dev pr", stderr)
	dir, repo, as := devFlags(fs)
	title := fs.String("title", "", "the pull request's `TITLE` (default: Update FILE...)")
	files, err := parseArgs(fs, args, 1, -1)
	if err != nil {
		return usageError(stderr, "dev pr", err)
	}
	s, code := devState(*dir, stderr)
	if code != 0 {
		return code
	}
	if *repo == "" {
		*repo = s.Repo
	}
	num, err := s.OpenPR(ctx, *repo, *as, *title, files)
	if err != nil {
		return fail(stderr, "dev pr: %v", err)
	}
	fmt.Fprintf(stdout, "opened pull request #%d on %s as %s\n", num, *repo, *as)
	return 0
}

func devComment(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dev comment", stderr)
	dir, repo, as := devFlags(fs)
	num := fs.Int("num", 0, "the pull request or discussion number `N` (required)")
	text, err := parseArgs(fs, args, 1, -1)
	if err != nil {
		return usageError(stderr, "dev comment", err)
	}
	if *num <= 0 {
		return usagef(stderr, "dev comment", "--num is required: the pull request or discussion number")
	}
	s, code := devState(*dir, stderr)
	if code != 0 {
		return code
	}
	if *repo == "" {
		*repo = s.Repo
	}
	if err := s.Comment(ctx, *repo, *as, *num, strings.Join(text, " ")); err != nil {
		return fail(stderr, "dev comment: %v", err)
	}
	fmt.Fprintf(stdout, "commented on %s#%s as %s\n", *repo, strconv.Itoa(*num), *as)
	return 0
}

// devFlags are the flags every subcommand of dev shares.
func devFlags(fs interface {
	String(name, value, usage string) *string
}) (dir, repo, as *string) {
	dir = fs.String("dir", "", "the folder `DIR` of the running hubbot dev (default: the latest started)")
	repo = fs.String("repo", "", "act on `REPO`, as namespace/name (default: the demo repo)")
	as = fs.String("as", devenv.Owner, "act as this `USER` of the dev Hub: alice, bob or hubbot-bot")
	return dir, repo, as
}

// devState reads the running environment's state.
func devState(dir string, stderr io.Writer) (devenv.State, int) {
	if dir == "" {
		d, err := devenv.CurrentDir()
		if err != nil {
			return devenv.State{}, fail(stderr, "dev: %v", err)
		}
		dir = d
	}
	s, err := devenv.ReadState(dir)
	if err != nil {
		return devenv.State{}, fail(stderr, "dev: %v", err)
	}
	return s, 0
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
