// Package devenv runs hubbot's local trial: the fake Hub (hubtest) and the
// bot wired to it on loopback, with demo users and a demo model repo whose
// card has mistakes. `hubbot dev` starts it; `hubbot dev pr` and `hubbot dev
// comment` act on it from another shell through the state file it writes.
package devenv

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hubbot/hubbot/bot"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/webhook"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// The demo repo's content: a card with real mistakes and a small PyTorch
// checkpoint made by demo/gen_checkpoint.py.
var (
	//go:embed demo/README.md
	demoCard []byte
	//go:embed demo/pytorch_model.bin
	demoCheckpoint []byte
)

// The demo's accounts and repo.
const (
	Owner    = "alice"      // owns the demo repo
	Stranger = "bob"        // anyone else on the Hub
	BotName  = "hubbot-bot" // the account the bot acts as
	DemoRepo = Owner + "/demo-model"
)

const demoConfig = `{
  "architectures": ["BertForSequenceClassification"],
  "hidden_size": 16,
  "num_labels": 2,
  "vocab_size": 64
}
`

// Options configure an environment.
type Options struct {
	// Config is the user's configuration. Its Hub endpoint, store, listen
	// address and secrets are replaced by the environment's own.
	Config *config.Config
	// Dir keeps the data: the fake Hub's repos, the bot's store, the state
	// file. Empty means a new temporary folder.
	Dir string
	// Port is the bot's port on 127.0.0.1; 0 picks a free one.
	Port int
	// Version is the bot's version string.
	Version string
	// Logger receives the bot's and the fake Hub's logs; nil means the
	// folder's hubbot.log.
	Logger *slog.Logger
}

// State is what `hubbot dev` writes for the commands that act on it from
// another process. It holds the fake Hub's tokens, which are worth nothing
// beyond it, and is readable by its owner only.
type State struct {
	HubURL  string            `json:"hub_url"`
	BotURL  string            `json:"bot_url"`
	Dir     string            `json:"dir"`
	Repo    string            `json:"repo"`
	Tokens  map[string]string `json:"tokens"` // user name -> token
	PID     int               `json:"pid"`
	Webhook string            `json:"webhook_path"`
	Started time.Time         `json:"started"`
	BotUser string            `json:"bot_user"`
}

// Env is a running environment.
type Env struct {
	State State
	hub   *hubtest.Server
	bot   *bot.Bot
	ln    net.Listener
	users map[string]hubtest.User

	logFile *os.File // nil when the caller gave a Logger
}

// Names inside the environment's folder.
const (
	StateFile = "dev.json"   // the state, while it runs
	LogFile   = "hubbot.log" // the bot's and the fake Hub's logs
	CloneDir  = "demo-model" // where the printed git clone line puts the repo
)

// Start starts the fake Hub and the bot, seeds the demo repo and writes the
// state file. Then call Serve, which runs the bot until ctx is done, and
// Close.
func Start(ctx context.Context, opts Options) (*Env, error) {
	dir, err := prepareDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	var logFile *os.File
	if log == nil {
		logFile, err = os.OpenFile(filepath.Join(dir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open the log: %w", err)
		}
		log = slog.New(slog.NewTextHandler(logFile, nil))
	}
	hub, err := hubtest.New(hubtest.Options{Dir: filepath.Join(dir, "hub"), MaxRecordedRequests: 200,
		Logger: log.With("component", "fake-hub")})
	if err != nil {
		if logFile != nil {
			logFile.Close()
		}
		return nil, err
	}
	// State.Dir is set first: Close removes the state file inside it.
	e := &Env{hub: hub, logFile: logFile, users: map[string]hubtest.User{}, State: State{Dir: dir}}
	for _, name := range []string{Owner, Stranger, BotName} {
		e.users[name] = hub.AddUser(name)
	}
	// The repo starts with its settings only; the content is pushed once the
	// bot listens, so that its first work is visible.
	if _, err := hub.CreateRepo(e.users[Owner], hubtest.RepoSpec{ID: DemoRepo, Files: map[string][]byte{"config.json": []byte(demoConfig)}}); err != nil {
		e.Close()
		return nil, fmt.Errorf("create the demo repo: %w", err)
	}

	cfg := *opts.Config
	secret := webhook.GenerateSecret()
	cfg.Hub.Endpoint = hub.URL
	cfg.Hub.DryRun = false
	cfg.Store.DataDir = filepath.Join(dir, "data")
	cfg.Store.URL = "" // SQLite in the dev folder: the trial never touches a shared database
	cfg.Secrets.HFToken = e.users[BotName].Token
	cfg.Secrets.WebhookSecrets = []string{secret}
	cfg.Secrets.AdminToken = "" // the API answers loopback clients
	cfg.Server.ShutdownGrace = config.Duration(5 * time.Second)
	if !cfg.RepoAllowed(DemoRepo) {
		// The demo repo is the only repo on the fake Hub, so allowing it
		// changes nothing else the trial could show.
		cfg.Repos.Allow = append(slices.Clone(cfg.Repos.Allow), DemoRepo)
		cfg.Repos.Deny = nil
		log.Warn("the configuration's [repos] leaves out the demo repo; it is allowed for this trial", "repo", DemoRepo)
	}

	e.ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", opts.Port))
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("listen on 127.0.0.1:%d: %w", opts.Port, err)
	}
	botURL := "http://" + e.ln.Addr().String()
	cfg.Server.Listen = e.ln.Addr().String()
	if cfg.Server.PublicURL == "" {
		cfg.Server.PublicURL = botURL
	}
	e.bot, err = bot.New(ctx, bot.Options{Config: &cfg, Version: opts.Version, Logger: log, Out: io.Discard})
	if err != nil {
		e.ln.Close()
		e.Close()
		return nil, err
	}
	e.State = State{HubURL: hub.URL, BotURL: botURL, Dir: dir, Repo: DemoRepo, Tokens: map[string]string{},
		PID: os.Getpid(), Webhook: cfg.Server.WebhookPath, Started: time.Now().UTC(), BotUser: BotName}
	for name, u := range e.users {
		e.State.Tokens[name] = u.Token
	}
	if _, err := hub.AddWebhook(hubtest.Webhook{URL: botURL + cfg.Server.WebhookPath, Secret: secret}); err != nil {
		e.bot.Close()
		e.Close()
		return nil, fmt.Errorf("add the bot's webhook: %w", err)
	}
	if err := writeState(filepath.Join(dir, StateFile), e.State); err != nil {
		e.bot.Close()
		e.Close()
		return nil, err
	}
	if err := writePointer(dir); err != nil {
		log.Warn("'hubbot dev pr' and 'dev comment' will need --dir", "error", err)
	}
	return e, nil
}

// prepareDir makes the environment's folder. A folder from an earlier run
// is reused, but the fake Hub keeps users and discussions in memory only, so
// that run's data is removed first rather than left inconsistent.
func prepareDir(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "hubbot-dev-")
		if err != nil {
			return "", fmt.Errorf("create the dev folder: %w", err)
		}
		return d, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("dev folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return "", fmt.Errorf("create the dev folder: %w", err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", fmt.Errorf("read the dev folder: %w", err)
	}
	known := map[string]bool{"hub": true, "data": true, StateFile: true, LogFile: true, CloneDir: true}
	for _, en := range entries {
		if !known[en.Name()] {
			return "", fmt.Errorf("dev folder %s holds %s, which hubbot dev did not write; give an empty or new folder", abs, en.Name())
		}
	}
	for name := range known {
		if err := os.RemoveAll(filepath.Join(abs, name)); err != nil {
			return "", fmt.Errorf("clear the previous run in %s: %w", abs, err)
		}
	}
	return abs, nil
}

// Serve runs the bot until ctx is done. The demo content is pushed as soon
// as the bot is ready, so the bot checks the card and converts the
// checkpoint at once.
func (e *Env) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- e.bot.Serve(ctx, e.ln) }()
	if err := e.waitReady(ctx); err != nil {
		return err
	}
	if _, err := e.hub.Push(e.users[Owner], DemoRepo, "main", hubtest.Change{Message: "Add the model card and the checkpoint",
		Files: map[string][]byte{"README.md": demoCard, "pytorch_model.bin": demoCheckpoint}}); err != nil {
		return fmt.Errorf("push the demo content: %w", err)
	}
	err := <-errc
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (e *Env) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(e.State.BotURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close stops the fake Hub and removes the state file; the data stays.
// Call it after Serve returned.
func (e *Env) Close() {
	if e.State.Dir != "" {
		os.Remove(filepath.Join(e.State.Dir, StateFile))
	}
	if p, err := pointerPath(); err == nil {
		if got, err := os.ReadFile(p); err == nil && string(got) == e.State.Dir {
			os.Remove(p)
		}
	}
	e.hub.Close()
	if e.logFile != nil {
		e.logFile.Close()
	}
}

// pointerPath is where the folder of the latest `hubbot dev` is noted, so
// that `hubbot dev pr` finds it without --dir.
func pointerPath() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "hubbot", "dev-dir"), nil
}

func writePointer(dir string) error {
	p, err := pointerPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(dir), 0o600)
}

// CurrentDir returns the folder of the running `hubbot dev`, as noted when
// it started.
func CurrentDir() (string, error) {
	p, err := pointerPath()
	if err != nil {
		return "", fmt.Errorf("find the running hubbot dev: %w; give --dir", err)
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("no hubbot dev is running (start one with 'hubbot dev', or give --dir)")
	}
	if err != nil {
		return "", fmt.Errorf("find the running hubbot dev: %w", err)
	}
	return string(data), nil
}

func writeState(path string, s State) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the dev state: %w", err)
	}
	return nil
}

// ReadState reads the state of a running environment from its folder.
func ReadState(dir string) (State, error) {
	var s State
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, fmt.Errorf("no hubbot dev running with folder %s (start one with 'hubbot dev')", dir)
	}
	if err != nil {
		return s, fmt.Errorf("read the dev state: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("read the dev state %s: %w", filepath.Join(dir, StateFile), err)
	}
	return s, nil
}

// Settle waits until the bot has taken up work and finished all of it: the
// first push's jobs, before the things to try are printed.
func (e *Env) Settle(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		list, err := e.bot.Queue().Jobs(ctx, jobs.JobFilter{})
		if err == nil && len(list) > 0 && !slices.ContainsFunc(list, func(j *jobs.Job) bool {
			return j.State == jobs.StateQueued || j.State == jobs.StateRunning
		}) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Discussions lists the demo repo's discussions and pull requests, oldest first.
func (s State) Discussions(ctx context.Context) ([]hubclient.Discussion, error) {
	c, err := s.client(Owner)
	if err != nil {
		return nil, err
	}
	r, err := parseRepo(s.Repo)
	if err != nil {
		return nil, err
	}
	list, err := c.ListDiscussions(ctx, r, hubclient.ListDiscussionsOptions{})
	if err != nil {
		return nil, fmt.Errorf("list the discussions of %s: %w", s.Repo, err)
	}
	slices.SortFunc(list, func(a, b hubclient.Discussion) int { return a.Num - b.Num })
	return list, nil
}
