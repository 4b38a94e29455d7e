// Package config loads hubbot's config.toml (schema v1), applies the
// environment overrides, and validates every value, naming the line of
// anything wrong. Secrets never live in the file: they come from the
// environment into Secrets, which is never printed.
//
// Each action's `[actions.with]` table is kept raw (actions.Options): the
// action named by `uses` decodes and checks it, and Config.Line points its
// errors at the right line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/robfig/cron/v3"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/builtin"
	"github.com/hubbot/hubbot/git"
)

// Config is the whole configuration.
type Config struct {
	Server    Server     `toml:"server"`
	Hub       Hub        `toml:"hub"`
	Store     Store      `toml:"store"`
	Workers   Workers    `toml:"workers"`
	Repos     Repos      `toml:"repos"`
	Actions   []Action   `toml:"actions"`
	Commands  Commands   `toml:"commands"`
	Reply     Reply      `toml:"reply"`
	Schedules []Schedule `toml:"schedules"`
	Dashboard Dashboard  `toml:"dashboard"`
	Sandbox   Sandbox    `toml:"sandbox"`

	// Secrets come from the environment only.
	Secrets Secrets `toml:"-"`
	// Path is the file the configuration was read from ("" for defaults).
	Path string `toml:"-"`

	lines map[string]int
}

// Server configures the HTTP side.
type Server struct {
	Listen        string   `toml:"listen"`
	WebhookPath   string   `toml:"webhook_path"`
	MaxBody       Size     `toml:"max_body"`
	PublicURL     string   `toml:"public_url"`
	ShutdownGrace Duration `toml:"shutdown_grace"`
	LogFormat     string   `toml:"log_format"` // text | json
	LogLevel      string   `toml:"log_level"`  // debug | info | warn | error
}

// Hub configures the Hub connection.
type Hub struct {
	Endpoint string `toml:"endpoint"`
	DryRun   bool   `toml:"dry_run"`
	// ManageWebhook makes serve create or update the bot's Hub webhook at
	// start (`hubbot webhook sync` does it by hand).
	ManageWebhook bool `toml:"manage_webhook"`
	// Watch lists what the webhook watches, in the syntax of repos.allow;
	// empty derives it from repos.allow.
	Watch []string `toml:"watch"`
}

// Store configures where state lives.
type Store struct {
	DataDir string `toml:"data_dir"`
	URL     string `toml:"url"`
	// Retention is how long deliveries and job logs are kept.
	Retention Duration `toml:"retention"`
	// RescueAfter bounds how long a job of a replica that died waits before
	// another replica runs it (Postgres).
	RescueAfter Duration `toml:"rescue_after"`
	// ScratchDir holds checkouts and conversions, which need a fast local
	// disk even when the data dir is not one; empty means a directory of
	// the system's temp dir, one per data dir.
	ScratchDir string `toml:"scratch_dir"`
}

// Workers configures job execution.
type Workers struct {
	Concurrency      int      `toml:"concurrency"`
	JobTimeout       Duration `toml:"job_timeout"`
	RecoveryInterval Duration `toml:"recovery_interval"`
}

// Repos selects which repos the bot acts on.
type Repos struct {
	Allow []string `toml:"allow"`
	Deny  []string `toml:"deny"`
}

// Action is one configured action.
type Action struct {
	Name     string          `toml:"name"`
	Uses     string          `toml:"uses"`
	On       []string        `toml:"on"`
	Branches []string        `toml:"branches"`
	Tags     []string        `toml:"tags"`
	Paths    []string        `toml:"paths"`
	Timeout  Duration        `toml:"timeout"`
	Allow    []string        `toml:"allow"` // who may trigger it by command; default [commands] allow
	With     actions.Options `toml:"with"`
}

// Commands configures chat-ops in pull request comments.
type Commands struct {
	Enabled       bool                `toml:"enabled"`
	Prefix        string              `toml:"prefix"`
	Allow         []string            `toml:"allow"`
	Permissions   map[string][]string `toml:"permissions"` // per command name
	MaxPerComment int                 `toml:"max_per_comment"`
}

// Reply configures the LLM reply bot.
type Reply struct {
	Enabled                 bool     `toml:"enabled"`
	Trigger                 string   `toml:"trigger"` // mention | new-discussion | both
	PullRequests            bool     `toml:"pull_requests"`
	BaseURL                 string   `toml:"base_url"`
	Model                   string   `toml:"model"`
	MaxTokens               int      `toml:"max_tokens"`
	MaxRepliesPerDiscussion int      `toml:"max_replies_per_discussion"`
	MaxRepliesPerHour       int      `toml:"max_replies_per_hour"` // per repo
	Timeout                 Duration `toml:"timeout"`
	SystemPrompt            string   `toml:"system_prompt"`
}

// Schedule runs an action on a cron schedule.
type Schedule struct {
	Cron   string   `toml:"cron"`
	Action string   `toml:"action"`
	Repos  []string `toml:"repos"`
}

// Secrets are read from the environment and never printed.
type Secrets struct {
	HFToken        string
	WebhookSecrets []string
	AdminToken     string
	LLMAPIKey      string
	// OAuthClientSecret is the Sign in with HF app's secret (OAUTH_CLIENT_SECRET).
	OAuthClientSecret string
	// SessionKey signs the dashboard's cookies (HUBBOT_SESSION_SECRET); when
	// empty it is derived from OAuthClientSecret, else random per process.
	SessionKey string
}

// Triggers an action can declare in `on`.
const (
	OnPush        = "push"
	OnPullRequest = "pull_request"
	OnTag         = "tag"
	OnCommand     = "command"
	OnSchedule    = "schedule"
)

// Default returns the configuration used when no file is given.
func Default() *Config {
	return &Config{
		Server: Server{Listen: ":7860", WebhookPath: "/webhooks/hub", MaxBody: 512 << 10, // see webhook.DefaultMaxBody
			ShutdownGrace: Duration(30 * time.Second), LogFormat: "text", LogLevel: "info"},
		Hub:      Hub{Endpoint: "https://huggingface.co"},
		Store:    Store{DataDir: "./data", Retention: Duration(30 * 24 * time.Hour), RescueAfter: Duration(time.Minute)},
		Workers:  Workers{Concurrency: 2, JobTimeout: Duration(30 * time.Minute), RecoveryInterval: Duration(time.Hour)},
		Repos:    Repos{Allow: []string{"*"}},
		Commands: Commands{Enabled: true, Prefix: "/hubbot", Allow: []string{"repo-owner"}, MaxPerComment: 3},
		Reply: Reply{Trigger: "mention", BaseURL: "https://router.huggingface.co/v1", MaxTokens: 512,
			MaxRepliesPerDiscussion: 3, MaxRepliesPerHour: 20, Timeout: Duration(60 * time.Second)},
		Dashboard: Dashboard{Public: true, OAuthScopes: "openid profile read-repos"},
		Sandbox:   defaultSandbox(),
	}
}

// Load reads the configuration from path (or, when path is empty,
// $HUBBOT_CONFIG, else ./config.toml when it exists, else the defaults),
// applies the environment, and validates it. getenv is os.Getenv in
// production; tests pass their own.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if path == "" {
		path = getenv("HUBBOT_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat("config.toml"); err == nil {
			path = "config.toml"
		}
	}
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := cfg.decode(path, data); err != nil {
			return nil, err
		}
		cfg.Path = path
	}
	cfg.applyEnv(getenv)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Parse decodes and validates a configuration document, with no environment.
func Parse(name string, data []byte) (*Config, error) {
	cfg := Default()
	if err := cfg.decode(name, data); err != nil {
		return nil, err
	}
	cfg.Path = name
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Config) decode(name string, data []byte) error {
	lines, err := keyLines(data)
	var syntax *syntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("%s:%w", name, err) // file:line: message
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	c.lines = lines
	// A table that is present replaces the defaults of its list fields only
	// where the file sets them, which is what toml decoding into c does.
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(c)
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for _, e := range strict.Errors {
			row, _ := e.Position()
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %s", name, row, strings.Join(e.Key(), ".")))
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		if key != "" {
			key += ": "
		}
		return fmt.Errorf("%s:%d:%d: %s%s", name, row, col, key, de.Error())
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// applyEnv applies the documented environment overrides and reads secrets.
func (c *Config) applyEnv(getenv func(string) string) {
	if v := getenv("HF_ENDPOINT"); v != "" {
		c.Hub.Endpoint = v
	}
	if v := getenv("HUBBOT_DATA"); v != "" {
		c.Store.DataDir = v
	}
	if v := getenv("HUBBOT_DATABASE_URL"); v != "" {
		c.Store.URL = v
	}
	if v := getenv("PORT"); v != "" {
		host, _, err := net.SplitHostPort(c.Server.Listen)
		if err != nil {
			host = ""
		}
		c.Server.Listen = net.JoinHostPort(host, v)
	}
	if c.Server.PublicURL == "" {
		if host := getenv("SPACE_HOST"); host != "" {
			c.Server.PublicURL = "https://" + host
		}
	}
	c.Secrets = Secrets{
		HFToken:    strings.TrimSpace(getenv("HF_TOKEN")),
		AdminToken: strings.TrimSpace(getenv("HUBBOT_ADMIN_TOKEN")),
		LLMAPIKey:  strings.TrimSpace(getenv("LLM_API_KEY")),

		OAuthClientSecret: strings.TrimSpace(getenv("OAUTH_CLIENT_SECRET")),
		SessionKey:        strings.TrimSpace(getenv("HUBBOT_SESSION_SECRET")),
	}
	c.Dashboard.applyEnv(getenv, c.Hub.Endpoint)
	for _, s := range strings.Split(getenv("WEBHOOK_SECRET"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.Secrets.WebhookSecrets = append(c.Secrets.WebhookSecrets, s)
		}
	}
}

// DryRun reports whether Hub writes are only recorded: no token, or asked for.
func (c *Config) DryRun() bool { return c.Hub.DryRun || c.Secrets.HFToken == "" }

// Line returns the line of a dotted key path such as "actions.1.with.command",
// or 0 when unknown.
func (c *Config) Line(key string) int {
	for k := key; k != ""; k = parentKey(k) {
		if n, ok := c.lines[k]; ok {
			return n
		}
	}
	return 0
}

func parentKey(k string) string {
	i := strings.LastIndexByte(k, '.')
	if i < 0 {
		return ""
	}
	return k[:i]
}

// At prefixes a message with the file and line of key, as every config error reads.
func (c *Config) At(key, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	name := c.Path
	if name == "" {
		name = "config"
	}
	if line := c.Line(key); line > 0 {
		return fmt.Errorf("%s:%d: %s: %s", name, line, displayKey(key), msg)
	}
	return fmt.Errorf("%s: %s: %s", name, displayKey(key), msg)
}

// displayKey renders "actions.1.with.command" as "actions[1].with.command".
func displayKey(k string) string {
	parts := strings.Split(k, ".")
	var b strings.Builder
	for i, p := range parts {
		if _, err := strconv.Atoi(p); err == nil && i > 0 {
			fmt.Fprintf(&b, "[%s]", p)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
	prefixRE = regexp.MustCompile(`^/[a-zA-Z0-9_-]{1,30}$`)
)

// Validate checks every value and returns all problems at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, c.At(key, format, args...)) }
	c.Dashboard.validate(add, c.Server.WebhookPath)

	if c.Server.Listen == "" {
		add("server.listen", "must not be empty")
	} else if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		add("server.listen", "want host:port or :port, got %q", c.Server.Listen)
	}
	if !strings.HasPrefix(c.Server.WebhookPath, "/") || strings.HasPrefix(c.Server.WebhookPath, "/api/") ||
		slices.Contains([]string{"/healthz", "/readyz", "/metrics"}, c.Server.WebhookPath) {
		add("server.webhook_path", "must start with / and not clash with /api/, /healthz, /readyz or /metrics")
	}
	if c.Server.MaxBody < 1024 || c.Server.MaxBody > 1<<30 {
		add("server.max_body", "must be between 1KiB and 1GiB")
	}
	if c.Server.PublicURL != "" && !strings.HasPrefix(c.Server.PublicURL, "http://") && !strings.HasPrefix(c.Server.PublicURL, "https://") {
		add("server.public_url", "must be an http(s) URL")
	}
	if !slices.Contains([]string{"text", "json"}, c.Server.LogFormat) {
		add("server.log_format", "must be text or json")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Server.LogLevel) {
		add("server.log_level", "must be debug, info, warn or error")
	}
	if !strings.HasPrefix(c.Hub.Endpoint, "http://") && !strings.HasPrefix(c.Hub.Endpoint, "https://") {
		add("hub.endpoint", "must be an http(s) URL")
	}
	for i, g := range c.Hub.Watch {
		if err := checkRepoGlob(g); err != nil || g == "*" {
			add(fmt.Sprintf("hub.watch.%d", i), "want a user or org (org/*) or a repo (ns/name, datasets/ns/name, spaces/ns/name), got %q", g)
		}
	}
	if c.Hub.ManageWebhook {
		if len(c.Hub.Watch) == 0 && slices.Contains(c.Repos.Allow, "*") {
			add("repos.allow", `"*" cannot be watched by a webhook and hub.manage_webhook is on: list what to watch in [hub] watch = ["my-org/*", "me/my-model"]`)
		}
		if c.Server.PublicURL == "" {
			add("server.public_url", "is needed by hub.manage_webhook: set it, or run on a Space (SPACE_HOST)")
		}
	}
	if c.Store.URL != "" && !strings.HasPrefix(c.Store.URL, "postgres://") && !strings.HasPrefix(c.Store.URL, "postgresql://") {
		add("store.url", "must be a postgres:// URL (leave it empty for the embedded SQLite store)")
	}
	if c.Store.DataDir == "" {
		add("store.data_dir", "must not be empty")
	}
	if c.Workers.Concurrency < 1 || c.Workers.Concurrency > 256 {
		add("workers.concurrency", "must be between 1 and 256")
	}
	if c.Workers.JobTimeout <= 0 {
		add("workers.job_timeout", "must be positive")
	}
	if c.Workers.RecoveryInterval < Duration(time.Minute) {
		add("workers.recovery_interval", "must be at least 1m")
	}
	for i, g := range c.Repos.Allow {
		if err := checkRepoGlob(g); err != nil {
			add(fmt.Sprintf("repos.allow.%d", i), "%v", err)
		}
	}
	for i, g := range c.Repos.Deny {
		if err := checkRepoGlob(g); err != nil {
			add(fmt.Sprintf("repos.deny.%d", i), "%v", err)
		}
	}

	names := map[string]bool{}
	for i, a := range c.Actions {
		key := fmt.Sprintf("actions.%d", i)
		if !nameRE.MatchString(a.Name) {
			add(key+".name", "want lowercase letters, digits, '-', '_' or '.', got %q", a.Name)
		} else if names[a.Name] {
			add(key+".name", "duplicate action name %q", a.Name)
		}
		names[a.Name] = true
		if _, ok := builtin.Lookup(a.Uses); !ok {
			add(key+".uses", "unknown action %q (want one of %s)", a.Uses, strings.Join(builtin.Names(), ", "))
		}
		if len(a.On) == 0 {
			add(key+".on", "must name at least one trigger")
		}
		for j, on := range a.On {
			if !slices.Contains([]string{OnPush, OnPullRequest, OnTag, OnCommand, OnSchedule}, on) {
				add(fmt.Sprintf("%s.on.%d", key, j), "unknown trigger %q (want push, pull_request, tag, command or schedule)", on)
			}
		}
		for j, g := range slices.Concat(a.Branches, a.Tags) {
			if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil || g == "" {
				add(fmt.Sprintf("%s.%s", key, globKey(a, j)), "bad glob %q", g)
			}
		}
		for j, g := range a.Paths {
			if err := git.ValidatePattern(g); err != nil {
				add(fmt.Sprintf("%s.paths.%d", key, j), "%v", err)
			}
		}
		if a.Timeout < 0 {
			add(key+".timeout", "must not be negative")
		}
		for j, rule := range a.Allow {
			if err := CheckRule(rule); err != nil {
				add(fmt.Sprintf("%s.allow.%d", key, j), "%v", err)
			}
		}
	}

	c.validateSandbox(add)
	if c.Commands.Enabled && !prefixRE.MatchString(c.Commands.Prefix) {
		add("commands.prefix", "want a slash and a word, like /hubbot, got %q", c.Commands.Prefix)
	}
	if c.Commands.MaxPerComment < 1 || c.Commands.MaxPerComment > 10 {
		add("commands.max_per_comment", "must be between 1 and 10")
	}
	for j, rule := range c.Commands.Allow {
		if err := CheckRule(rule); err != nil {
			add(fmt.Sprintf("commands.allow.%d", j), "%v", err)
		}
	}
	for cmd, rules := range c.Commands.Permissions {
		for j, rule := range rules {
			if err := CheckRule(rule); err != nil {
				add(fmt.Sprintf("commands.permissions.%s.%d", cmd, j), "%v", err)
			}
		}
	}

	if c.Reply.Enabled {
		if c.Reply.Model == "" {
			add("reply.model", "is required when the reply bot is enabled")
		}
		if !strings.HasPrefix(c.Reply.BaseURL, "http://") && !strings.HasPrefix(c.Reply.BaseURL, "https://") {
			add("reply.base_url", "must be an http(s) URL")
		}
	}
	if !slices.Contains([]string{"mention", "new-discussion", "both"}, c.Reply.Trigger) {
		add("reply.trigger", "must be mention, new-discussion or both")
	}
	if c.Reply.MaxTokens < 1 || c.Reply.MaxTokens > 32768 {
		add("reply.max_tokens", "must be between 1 and 32768")
	}
	if c.Reply.MaxRepliesPerDiscussion < 1 {
		add("reply.max_replies_per_discussion", "must be at least 1")
	}
	if c.Reply.MaxRepliesPerHour < 1 {
		add("reply.max_replies_per_hour", "must be at least 1")
	}
	if c.Reply.Timeout <= 0 {
		add("reply.timeout", "must be positive")
	}

	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for i, s := range c.Schedules {
		key := fmt.Sprintf("schedules.%d", i)
		if _, err := parser.Parse(s.Cron); err != nil {
			add(key+".cron", "bad cron expression %q: %v", s.Cron, err)
		}
		if !names[s.Action] {
			add(key+".action", "no action named %q", s.Action)
		}
		if len(s.Repos) == 0 {
			add(key+".repos", "must name at least one repo")
		}
		for j, r := range s.Repos {
			if err := checkRepoGlob(r); err != nil || r == "*" {
				add(fmt.Sprintf("%s.repos.%d", key, j), "want a repo id or an org/* glob, got %q", r)
			}
		}
	}
	return errors.Join(errs...)
}

func globKey(a Action, j int) string {
	if j < len(a.Branches) {
		return fmt.Sprintf("branches.%d", j)
	}
	return fmt.Sprintf("tags.%d", j-len(a.Branches))
}

// CheckRule validates an authorization rule: repo-owner, anyone, user:NAME or org:NAME.
func CheckRule(rule string) error {
	switch {
	case rule == "repo-owner", rule == "anyone":
		return nil
	case strings.HasPrefix(rule, "user:") && validName(strings.TrimPrefix(rule, "user:")),
		strings.HasPrefix(rule, "org:") && validName(strings.TrimPrefix(rule, "org:")):
		return nil
	}
	return fmt.Errorf("unknown rule %q (want repo-owner, anyone, user:NAME or org:NAME)", rule)
}

var hubNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)

func validName(s string) bool { return hubNameRE.MatchString(s) }

// checkRepoGlob accepts "*", "ns/name", "ns/*", and the same behind
// "datasets/" or "spaces/".
func checkRepoGlob(g string) error {
	if g == "*" {
		return nil
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(g, "datasets/"), "spaces/")
	ns, name, ok := strings.Cut(rest, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("want a repo id such as org/name, org/*, datasets/org/*, got %q", g)
	}
	if _, err := path.Match(rest, ""); err != nil {
		return fmt.Errorf("bad glob %q", g)
	}
	return nil
}

// RepoAllowed reports whether repo (as "ns/name", "datasets/ns/name" or
// "spaces/ns/name") is allowed: it matches an allow glob and no deny glob.
func (c *Config) RepoAllowed(repo string) bool {
	match := func(globs []string) bool {
		for _, g := range globs {
			if g == "*" {
				return true
			}
			if ok, _ := path.Match(g, repo); ok {
				return true
			}
		}
		return false
	}
	return match(c.Repos.Allow) && !match(c.Repos.Deny)
}

// Action returns the action with that name, or nil.
func (c *Config) Action(name string) *Action {
	for i := range c.Actions {
		if c.Actions[i].Name == name {
			return &c.Actions[i]
		}
	}
	return nil
}

// Has reports whether the action declares a trigger.
func (a *Action) Has(trigger string) bool { return slices.Contains(a.On, trigger) }

// MatchesBranch reports whether a push to branch (without refs/heads/)
// triggers the action. No branches configured means the main branch only.
func (a *Action) MatchesBranch(branch string) bool {
	globs := a.Branches
	if len(globs) == 0 {
		globs = []string{"main"}
	}
	return matchAny(globs, branch)
}

// MatchesTag reports whether a new tag triggers the action. No tags
// configured means every tag.
func (a *Action) MatchesTag(tag string) bool {
	return len(a.Tags) == 0 || matchAny(a.Tags, tag)
}

func matchAny(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok || g == "**" {
			return true
		}
	}
	return false
}
