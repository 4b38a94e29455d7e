// Package bot assembles hubbot: the HTTP server that receives the Hub's
// webhooks, the job queue, the actions, the workspaces, the Hub client, the
// chat-ops commands and the reply bot. It is the only package that knows
// all the others; nothing imports it but main.
package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/builtin"
	"github.com/hubbot/hubbot/actions/run"
	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/actions/safetensors"
	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/web"
	"github.com/hubbot/hubbot/bot/webhook"
	"github.com/hubbot/hubbot/git"
	"github.com/hubbot/hubbot/hubclient"
)

// Options configure a Bot.
type Options struct {
	Config  *config.Config
	Version string
	Logger  *slog.Logger
	// Out receives what the operator must see once, such as a generated
	// webhook secret. Default os.Stdout.
	Out io.Writer
	// HTTPClient is used for the Hub and the LLM; nil for the default.
	HTTPClient *http.Client
	// Sandbox confines every `run` command (serve passes the one it
	// probed at start); nil runs commands directly, as in-process tests do.
	Sandbox *sandbox.Sandbox
}

// Bot is a running hubbot.
type Bot struct {
	sandbox    *sandbox.Sandbox
	cfg        *config.Config
	version    string
	log        *slog.Logger
	hub        *hubclient.Client
	queue      *jobs.Queue
	workspaces *git.Workspaces
	actions    map[string]actions.Action
	receiver   *webhook.Receiver
	metrics    *metrics
	commands   *commands
	pub        *publisher
	replies    *replies
	web        *web.Server
	dryRun     bool
	started    time.Time
	attempts   int // attempts a run job gets; 0 means jobs.MaxAttempts
	out        io.Writer

	scanMu   sync.Mutex
	scanNext int // where the next recovery scan starts in its list of repos
	budget   int // Hub calls a recovery scan may make; 0 means defaultScanBudget

	draining atomic.Bool

	idMu     sync.Mutex
	identity *hubclient.User
}

// New builds a bot from its configuration: it checks the secrets, learns
// the bot's own identity from the Hub, opens the store and builds every
// configured action, so that a configuration mistake stops it at once.
func New(ctx context.Context, opts Options) (*Bot, error) {
	cfg := opts.Config
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	b := &Bot{sandbox: opts.Sandbox, cfg: cfg, version: opts.Version, log: log, dryRun: cfg.DryRun(), started: time.Now(), out: out}

	secrets := cfg.Secrets.WebhookSecrets
	if len(secrets) == 0 {
		if cfg.Secrets.HFToken != "" {
			return nil, errNoSecret
		}
		secret, created, err := webhook.LoadOrCreateSecret(cfg.Store.DataDir)
		if err != nil {
			return nil, err
		}
		secrets = []string{secret}
		kept := filepath.Join(cfg.Store.DataDir, webhook.SecretFile)
		if created {
			fmt.Fprintf(out, "hubbot: no WEBHOOK_SECRET set; dry-run with this generated secret, kept in %s for the next starts:\n  %s\n", kept, secret)
		} else {
			fmt.Fprintf(out, "hubbot: no WEBHOOK_SECRET set; dry-run with the secret kept in %s (hubbot replay uses it)\n", kept)
		}
	} else if cfg.Secrets.HFToken != "" {
		if err := webhook.CheckSecrets(secrets); err != nil {
			return nil, err
		}
	}

	b.metrics = newMetrics(func(ctx context.Context) (int, error) {
		if b.queue == nil {
			return 0, nil
		}
		return b.queue.QueueDepth(ctx)
	})
	hub, err := hubclient.New(hubclient.Options{
		Endpoint: cfg.Hub.Endpoint, Token: cfg.Secrets.HFToken, Version: opts.Version,
		HTTPClient: opts.HTTPClient, Logger: log.With("component", "hub"), Observe: b.metrics.observeHub,
	})
	if err != nil {
		return nil, err
	}
	b.hub = hub
	if hub.HasToken() {
		if err := b.learnIdentity(ctx); err != nil {
			return nil, err
		}
	}

	scratch := scratchDir(cfg.Store)
	b.workspaces, err = git.New(filepath.Join(scratch, "workspaces"))
	if err != nil {
		return nil, fmt.Errorf("workspaces: %w", err)
	}
	if n, err := b.workspaces.Sweep(); err != nil {
		log.Warn("remove leftover workspaces", "error", err)
	} else if n > 0 {
		log.Info("removed workspaces left by a previous process", "count", n)
	}

	// Commands' home directories: whatever a crashed process left there goes.
	tmp := filepath.Join(scratch, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		log.Warn("remove leftover command homes", "error", err)
	}
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("scratch dir: %w", err)
	}
	if b.actions, err = b.buildActions(); err != nil {
		return nil, err
	}
	if b.commands, err = b.newCommands(); err != nil {
		return nil, err
	}

	schedules, err := b.schedules()
	if err != nil {
		return nil, err
	}
	if cfg.Store.URL == "" {
		if err := os.MkdirAll(cfg.Store.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		if err := checkStoreFS(cfg.Store.DataDir); err != nil {
			return nil, err
		}
	}
	b.queue, err = jobs.New(ctx, jobs.Options{
		DataDir: cfg.Store.DataDir, DatabaseURL: cfg.Store.URL, Concurrency: cfg.Workers.Concurrency,
		Retention: cfg.Store.Retention.D(), RescueAfter: cfg.Store.RescueAfter.D(),
		Recover: b.recoverTick, RecoverEvery: cfg.Workers.RecoveryInterval.D(),
		Logger: log, Periodic: jobs.PeriodicJobs(schedules), Observe: b.metrics.observeJob,
		Handlers: jobs.Handlers{Run: b.runVisibly, Report: func(ctx context.Context, j *jobs.Job) error { return b.pub.queued(ctx, j) }, Command: b.commandJob, Reply: b.replyJob,
			Schedule: b.scheduleSpecs},
	})
	if err != nil {
		return nil, err
	}
	b.pub = b.newPublisher()
	if b.replies, err = b.newReplies(opts.HTTPClient); err != nil {
		b.queue.Close()
		return nil, err
	}

	if b.web, err = web.New(web.Options{Store: b.queue, Config: cfg, Version: opts.Version, BotName: b.botName,
		Logger: log, HTTPClient: opts.HTTPClient}); err != nil {
		b.queue.Close()
		return nil, err
	}
	b.receiver = &webhook.Receiver{
		Verifier: webhook.NewVerifier(secrets), Router: b.router(), Store: b.queue,
		RepoAllowed: cfg.RepoAllowed, BotID: b.botID, Observe: b.metrics.observeDelivery,
		Log: log.With("component", "webhook"),
	}
	return b, nil
}

// newPublisher makes the publisher of this bot's results.
func (b *Bot) newPublisher() *publisher {
	prefix := b.cfg.Commands.Prefix
	if prefix == "" {
		prefix = chatops.DefaultPrefix
	}
	return &publisher{hub: b.hub, store: b.queue, me: b.me, dryRun: b.dryRun, log: b.log, now: time.Now,
		publicURL: b.cfg.Server.PublicURL,
		// The bot's name is learnt from the Hub, maybe after the start.
		safe:         func(md string) string { return chatops.Syntax{Prefix: prefix, Name: b.botName()}.Safe(md) },
		alwaysReport: func(action string) bool { return kindOf(b.cfg, action).Report == builtin.ReportAlways },
	}
}

// learnIdentity asks the Hub who the token belongs to. An invalid token
// stops the bot; an unreachable Hub does not (it is asked again later).
func (b *Bot) learnIdentity(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	u, err := b.hub.WhoAmI(ctx)
	if hubclient.IsUnauthorized(err) {
		return fmt.Errorf("HF_TOKEN is not valid for %s: %w", b.cfg.Hub.Endpoint, err)
	}
	if err != nil {
		b.log.Warn("could not ask the Hub who the bot is; loop guards on comments wait for it", "error", err)
		return nil
	}
	b.idMu.Lock()
	b.identity = u
	b.idMu.Unlock()
	b.log.Info("acting on the Hub as", "user", u.Name, "id", u.ID)
	return nil
}

// me returns the bot's account, asking the Hub if it is not known yet.
func (b *Bot) me(ctx context.Context) (*hubclient.User, error) {
	b.idMu.Lock()
	u := b.identity
	b.idMu.Unlock()
	if u != nil {
		return u, nil
	}
	if !b.hub.HasToken() {
		return &hubclient.User{}, nil
	}
	u, err := b.hub.WhoAmI(ctx)
	if err != nil {
		return nil, jobs.Temporary(err)
	}
	b.idMu.Lock()
	b.identity = u
	b.idMu.Unlock()
	return u, nil
}

// botID is the bot's id for the loop guards; "" until known.
func (b *Bot) botID() string {
	b.idMu.Lock()
	defer b.idMu.Unlock()
	if b.identity == nil {
		return ""
	}
	return b.identity.ID
}

// botName is the bot's username; "" until known.
func (b *Bot) botName() string {
	b.idMu.Lock()
	defer b.idMu.Unlock()
	if b.identity == nil {
		return ""
	}
	return b.identity.Name
}

// buildActions builds every configured action; each decodes and checks its
// own options, and its errors point at the config line.
func (b *Bot) buildActions() (map[string]actions.Action, error) {
	out := map[string]actions.Action{}
	var errs []error
	env := builtin.Env{
		Run: run.Env{Token: b.cfg.Secrets.HFToken, Secrets: botSecrets(b.cfg.Secrets), Endpoint: b.cfg.Hub.Endpoint, TempDir: filepath.Join(scratchDir(b.cfg.Store), "tmp"), Sandbox: b.sandbox},
		Prior: func(action string) safetensors.PriorProposals {
			return newPriorProposals(b.hub, b.me, action)
		},
	}
	for i, a := range b.cfg.Actions {
		kind, ok := builtin.Lookup(a.Uses)
		if !ok {
			errs = append(errs, b.cfg.At(fmt.Sprintf("actions.%d.uses", i), "unknown action %q", a.Uses))
			continue
		}
		act, err := kind.New(a.Name, a.With, env)
		if err != nil {
			key := fmt.Sprintf("actions.%d.with", i)
			var oe *actions.OptionError
			if errors.As(err, &oe) && oe.Key != "" {
				key += "." + oe.Key
				err = errors.New(oe.Msg)
			}
			errs = append(errs, b.cfg.At(key, "%v", err))
			continue
		}
		out[a.Name] = act
	}
	return out, errors.Join(errs...)
}

// CheckActions builds every configured action without starting anything,
// so that `hubbot check-config` reports their option errors too.
func CheckActions(cfg *config.Config) error {
	_, err := (&Bot{cfg: cfg, log: discardLogger()}).buildActions()
	return err
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func parentDir(dir string) string { return filepath.Dir(filepath.Clean(dir)) }

// errNoSecret stops a bot with a token but no webhook secret.
var errNoSecret = errors.New("WEBHOOK_SECRET is not set: with HF_TOKEN set, hubbot would act on the Hub for anyone who can reach it. " +
	"Set WEBHOOK_SECRET to the secret of the Hub webhook (several, comma-separated, during a rotation)")

// Start starts the workers, and with them the periodic recovery scan.
func (b *Bot) Start(ctx context.Context) error {
	if err := b.queue.Start(ctx); err != nil {
		return err
	}
	return nil
}

// Serve runs the bot on ln until ctx is done, then shuts down gracefully:
// webhooks get 503 at once, running jobs get server.shutdown_grace to finish
// and are then cancelled, to run again after the next start.
func (b *Bot) Serve(ctx context.Context, ln net.Listener) error {
	if err := b.Start(ctx); err != nil {
		ln.Close()
		b.queue.Close()
		return err
	}
	srv := &http.Server{Handler: b.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	b.log.Info("hubbot listening", "addr", ln.Addr().String(), "webhook_path", b.cfg.Server.WebhookPath,
		"dry_run", b.dryRun, "actions", len(b.cfg.Actions), "version", b.version)
	b.summary(b.out)
	if len(b.cfg.Actions) == 0 {
		b.log.Warn("no actions configured: hubbot runs nothing")
	}
	if err := b.syncWebhook(ctx); err != nil {
		b.shutdown(context.Background())
		srv.Close()
		return err
	}

	select {
	case err := <-errc:
		b.shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	b.log.Info("shutting down: new deliveries get 503; waiting for running jobs", "grace", b.cfg.Server.ShutdownGrace.D())
	b.shutdown(context.Background())
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// shutdown stops intake and workers.
func (b *Bot) shutdown(ctx context.Context) {
	b.draining.Store(true)
	b.queue.StopIntake()
	gctx, cancel := context.WithTimeout(ctx, b.cfg.Server.ShutdownGrace.D())
	defer cancel()
	if err := b.queue.Stop(gctx); err != nil {
		b.log.Warn("stop workers", "error", err)
	}
	b.log.Info("stopped")
}

// Close releases resources of a bot that was never started.
func (b *Bot) Close() error { return b.queue.Close() }

// Queue exposes the job queue, for tests.
func (b *Bot) Queue() *jobs.Queue { return b.queue }

// kindOf returns the built-in kind of the configured action named action;
// zero when there is no such action.
func kindOf(cfg *config.Config, action string) builtin.Kind {
	if a := cfg.Action(action); a != nil {
		k, _ := builtin.Lookup(a.Uses)
		return k
	}
	return builtin.Kind{}
}

// botSecrets lists the secrets other than the Hub token that must never be
// shown in a command's output.
func botSecrets(s config.Secrets) []string {
	out := slices.Clone(s.WebhookSecrets)
	return append(out, s.AdminToken, s.LLMAPIKey, s.OAuthClientSecret, s.SessionKey)
}
