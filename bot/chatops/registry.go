package chatops

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DefaultMaxCommands is how many commands one comment may hold when the
// configuration does not say.
const DefaultMaxCommands = 3

// Config is what shapes the commands of one bot, taken from config.toml.
type Config struct {
	Prefix      string // [commands] prefix; DefaultPrefix when empty
	BotName     string // the bot's Hub username (whoami), for "@name"; empty disables mentions
	MaxCommands int    // commands per comment; DefaultMaxCommands when 0

	// Allow is [commands] allow, for every command without its own list.
	// Nil means ["repo-owner"]; an empty list allows nobody. For commands
	// that write to the repo, a global "anyone" means the repo owner.
	Allow []string
	// CommandAllow gives one command (by name or alias) its own allow
	// list, which replaces Allow for it.
	CommandAllow map[string][]string

	// MentionsAreChat is set when the reply bot answers mentions: then an
	// "@name ..." line that is not a valid command is left to it instead
	// of getting a usage reply.
	MentionsAreChat bool

	// Actions are the configured [[actions]].
	Actions []ActionConfig
	// Shortcuts are the names of every shortcut command a kind of action
	// may add (actions/builtin), enabled by this configuration or not, so
	// that their allow lists are accepted either way.
	Shortcuts []string
}

// ActionConfig is what commands need to know about one [[actions]] entry.
type ActionConfig struct {
	Name    string
	Command bool // "command" is in its `on` list: comments may start it
	Writes  bool // it proposes files to the repo
	// Shortcut is the command that runs every command-enabled action of
	// this one's kind ("check"), and ShortcutHelp says in one line what it
	// does; empty for none.
	Shortcut, ShortcutHelp string
	Allow                  []string // its own allow list for run/rerun and its shortcut; nil when not set
	// Approval is set for an action that runs a pull request's code on
	// `pull_request` (a `run` action): when the pull request's author is
	// outside its rules, it waits for an allowed user's approve command.
	Approval bool
}

// Handler does what a command asks and returns the markdown to tell the
// commenter (empty for nothing). An error means the work could not be done
// (the Hub or the queue failed) and the command job should be retried, so a
// handler must be safe to run again.
type Handler func(ctx context.Context, c *Call) (string, error)

// Command is one registration: it gives a command its name, documentation,
// grammar, permission and handler, so dispatch and help come from the same
// place and cannot drift.
type Command struct {
	Name    string   // lower case: letters, digits and '-'
	Aliases []string // other names, same form
	Args    string   // positional arguments for usage, e.g. "<action>..."
	Help    string   // one line: what it does
	Flags   []Flag

	MinArgs int
	MaxArgs int // negative: no limit

	// Validate checks the arguments against the configuration when the
	// comment is parsed; its error is shown to the commenter. It may
	// rewrite arguments (e.g. to an action's exact name).
	Validate func(inv *Invocation) error

	// Writes is set for a command that writes to the repo: a global
	// "anyone" only lets the repo owner run it; its own allow list may
	// still open it wider.
	Writes bool
	// Public commands (help) are allowed to anyone unless the command has
	// its own allow list.
	Public bool

	// Actions are the actions the command always runs (check, convert).
	// Targets computes them from the invocation or the bot's state (run,
	// rerun). Either one makes authorization per action: an action's own
	// allow list wins over the command's.
	Actions []string
	Targets func(ctx context.Context, c *Call) ([]string, error)

	Run Handler
}

// Flag is a command-line flag of a command: --name, --name=value or
// --name value; -x for its short form.
type Flag struct {
	Name   string   // long name, without dashes
	Short  string   // optional one-letter form
	Help   string   // one line
	Bool   bool     // takes no value
	Values []string // for a value flag: the values allowed; empty allows any
}

// Usage is the command as typed, e.g. "rerun [--failed] [action]...".
func (c *Command) Usage() string {
	parts := []string{c.Name}
	for _, f := range c.Flags {
		if f.Bool {
			parts = append(parts, "[--"+f.Name+"]")
		} else {
			parts = append(parts, "[--"+f.Name+"="+strings.ToUpper(f.Name)+"]")
		}
	}
	if c.Args != "" {
		parts = append(parts, c.Args)
	}
	return strings.Join(parts, " ")
}

// Invocation is one parsed command line. It is plain data, so the webhook
// layer can store it in a job and Execute can run it later.
type Invocation struct {
	Command string            `json:"command"` // the command's name (not an alias)
	Args    []string          `json:"args,omitempty"`
	Flags   map[string]string `json:"flags,omitempty"` // by long name; "true" for a bool flag
	Line    string            `json:"line"`            // the command as written, for replies and logs
}

// Flag returns the value of a flag, "" when it was not given.
func (inv Invocation) Flag(name string) string { return inv.Flags[name] }

// Bool reports whether a bool flag was given (and not set to false).
func (inv Invocation) Bool(name string) bool { return inv.Flags[name] == "true" }

// action is a configured action as commands see it.
type action struct {
	name         string
	shortcut     string
	shortcutHelp string
	command      bool
	writes       bool
	approval     bool
	allow        []Rule // nil: not set
}

// Registry is the set of commands of one bot configuration. It is immutable
// once built and safe for concurrent use.
type Registry struct {
	syntax       Syntax
	max          int
	chat         bool
	global       []Rule
	commandAllow map[string][]Rule
	actions      []*action
	actionByName map[string]*action // lower-cased names
	cmds         []*Command
	byName       map[string]*Command // names and aliases
}

// New builds the registry of a configuration: the built-in commands that the
// configured actions call for (help always; run, check, convert, rerun and
// cancel as described on each), then extra commands. Errors name the
// configuration key at fault.
func New(cfg Config, extra ...Command) (*Registry, error) {
	r := &Registry{
		syntax:       Syntax{Prefix: cfg.Prefix, Name: cfg.BotName},
		max:          cfg.MaxCommands,
		chat:         cfg.MentionsAreChat,
		commandAllow: map[string][]Rule{},
		actionByName: map[string]*action{},
		byName:       map[string]*Command{},
	}
	if r.syntax.Prefix == "" {
		r.syntax.Prefix = DefaultPrefix
	}
	if err := r.syntax.Validate(); err != nil {
		return nil, fmt.Errorf("commands.prefix: %w", err)
	}
	switch {
	case r.max == 0:
		r.max = DefaultMaxCommands
	case r.max < 1 || r.max > 10:
		return nil, fmt.Errorf("commands.max_commands: %d is not between 1 and 10", r.max)
	}
	allow := cfg.Allow
	if allow == nil {
		allow = []string{"repo-owner"}
	}
	var err error
	if r.global, err = ParseRules(allow); err != nil {
		return nil, fmt.Errorf("commands.allow%w", err)
	}
	for i, a := range cfg.Actions {
		if !validActionName(a.Name) {
			return nil, fmt.Errorf("actions[%d].name: %q is not a valid action name", i, a.Name)
		}
		key := strings.ToLower(a.Name)
		if _, dup := r.actionByName[key]; dup {
			return nil, fmt.Errorf("actions[%d].name: %q is used twice", i, a.Name)
		}
		rules, err := ParseRules(a.Allow)
		if err != nil {
			return nil, fmt.Errorf("actions[%d].allow%w", i, err)
		}
		act := &action{name: a.Name, shortcut: strings.ToLower(a.Shortcut), shortcutHelp: a.ShortcutHelp, command: a.Command, writes: a.Writes, approval: a.Approval, allow: rules}
		r.actions = append(r.actions, act)
		r.actionByName[key] = act
	}

	for _, c := range r.builtins() {
		if err := r.register(c); err != nil {
			return nil, fmt.Errorf("built-in command: %w", err)
		}
	}
	for _, c := range extra {
		if err := r.register(c); err != nil {
			return nil, err
		}
	}

	for _, name := range slices.Sorted(maps.Keys(cfg.CommandAllow)) {
		c, ok := r.byName[strings.ToLower(name)]
		if !ok && (isBuiltinName(strings.ToLower(name)) || slices.Contains(cfg.Shortcuts, strings.ToLower(name))) {
			// A built-in that this configuration does not enable (convert
			// without a safetensors action): its rules wait unused.
			continue
		}
		if !ok {
			msg := fmt.Sprintf("commands allow list for %q: no such command", name)
			if s := suggest(name, r.allNames()); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return nil, fmt.Errorf("%s", msg)
		}
		if _, dup := r.commandAllow[c.Name]; dup {
			return nil, fmt.Errorf("commands allow list for %q: %s has another list already", name, c.Name)
		}
		rules, err := ParseRules(cfg.CommandAllow[name])
		if err != nil {
			return nil, fmt.Errorf("commands allow list for %q%w", name, err)
		}
		if rules == nil {
			rules = []Rule{}
		}
		r.commandAllow[c.Name] = rules
	}
	return r, nil
}

// isBuiltinName reports whether s names a built-in command or alias,
// enabled or not.
func isBuiltinName(s string) bool {
	switch s {
	case "help", "run", "approve", "rerun", "retry", "cancel", "stop":
		return true
	}
	return false
}

func validActionName(s string) bool {
	return validUserName(s) && len(s) <= 64
}

func validCommandName(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-' {
			return false
		}
	}
	return true
}

// register adds one command after checking that it is well formed.
func (r *Registry) register(c Command) error {
	if !validCommandName(c.Name) {
		return fmt.Errorf("command name %q: use lower-case letters, digits and '-'", c.Name)
	}
	if c.Run == nil {
		return fmt.Errorf("command %s: no handler", c.Name)
	}
	if c.Help == "" {
		return fmt.Errorf("command %s: no help text", c.Name)
	}
	if c.MaxArgs >= 0 && c.MinArgs > c.MaxArgs {
		return fmt.Errorf("command %s: MinArgs %d exceeds MaxArgs %d", c.Name, c.MinArgs, c.MaxArgs)
	}
	if strings.ContainsAny(c.Args+c.Help, "|`\n") {
		return fmt.Errorf("command %s: usage and help may not contain '|', '`' or newlines", c.Name)
	}
	seen := map[string]bool{"help": true, "h": true}
	for _, f := range c.Flags {
		if !validCommandName(f.Name) || seen[f.Name] || (f.Short != "" && (len(f.Short) != 1 || !isAlnum(f.Short[0]) || seen[f.Short])) {
			return fmt.Errorf("command %s: flag %q/%q is invalid or repeated", c.Name, f.Name, f.Short)
		}
		if strings.ContainsAny(f.Help, "|`\n") {
			return fmt.Errorf("command %s: flag %s help may not contain '|', '`' or newlines", c.Name, f.Name)
		}
		seen[f.Name] = true
		if f.Short != "" {
			seen[f.Short] = true
		}
	}
	for _, a := range c.Actions {
		if _, ok := r.actionByName[strings.ToLower(a)]; !ok {
			return fmt.Errorf("command %s: unknown action %q", c.Name, a)
		}
	}
	names := append([]string{c.Name}, c.Aliases...)
	for _, n := range names {
		if !validCommandName(n) {
			return fmt.Errorf("command %s: alias %q: use lower-case letters, digits and '-'", c.Name, n)
		}
		if _, dup := r.byName[n]; dup {
			return fmt.Errorf("command %s: name %q is taken", c.Name, n)
		}
	}
	cc := c
	r.cmds = append(r.cmds, &cc)
	for _, n := range names {
		r.byName[n] = &cc
	}
	return nil
}

// Names lists the registered commands, in the order help shows them.
func (r *Registry) Names() []string {
	out := make([]string, len(r.cmds))
	for i, c := range r.cmds {
		out[i] = c.Name
	}
	return out
}

// Lookup finds a command by name or alias, ignoring case.
func (r *Registry) Lookup(name string) (*Command, bool) {
	c, ok := r.byName[strings.ToLower(name)]
	return c, ok
}

// Syntax is how comments address this bot.
func (r *Registry) Syntax() Syntax { return r.syntax }

// Safe is Syntax().Safe: every text the bot posts goes through it.
func (r *Registry) Safe(text string) string { return r.syntax.Safe(text) }

func (r *Registry) allNames() []string {
	return slices.Sorted(maps.Keys(r.byName))
}

// lookupAction finds a configured action, ignoring case.
func (r *Registry) lookupAction(name string) (*action, bool) {
	a, ok := r.actionByName[strings.ToLower(name)]
	return a, ok
}

// rulesFor returns the rules deciding whether cmd may run act (nil: the
// command itself). The most specific list wins: the action's, then the
// command's, then [commands] allow.
func (r *Registry) rulesFor(cmd *Command, act *action) []Rule {
	if act != nil && act.allow != nil {
		return act.allow
	}
	if rules, ok := r.commandAllow[cmd.Name]; ok {
		return rules
	}
	if cmd.Public {
		return []Rule{{Kind: Anyone}}
	}
	if cmd.Writes || (act != nil && act.writes) {
		return forWrites(r.global)
	}
	return r.global
}

// parseFlags separates flags from positional arguments. Flags may come
// anywhere; "--" ends them. It reports a request for help (-h, --help).
func parseFlags(c *Command, words []string) (args []string, flags map[string]string, help bool, err error) {
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			args = append(args, words[i+1:]...)
			break
		}
		if len(w) < 2 || w[0] != '-' {
			args = append(args, w)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		if name == "help" || name == "h" {
			return nil, nil, true, nil
		}
		f := c.flag(name)
		if f == nil {
			return nil, nil, false, unknownFlag(c, w, name)
		}
		if _, dup := flags[f.Name]; dup {
			return nil, nil, false, &usageError{msg: fmt.Sprintf("flag %s is given twice.", code("--"+f.Name))}
		}
		switch {
		case f.Bool && !hasValue:
			value = "true"
		case f.Bool:
			switch strings.ToLower(value) {
			case "true", "1", "yes":
				value = "true"
			case "false", "0", "no":
				value = "false"
			default:
				return nil, nil, false, &usageError{msg: fmt.Sprintf("flag %s takes no value or true/false, not %s.", code("--"+f.Name), code(value))}
			}
		case !hasValue:
			if i+1 >= len(words) {
				return nil, nil, false, &usageError{msg: fmt.Sprintf("flag %s needs a value.", code("--"+f.Name))}
			}
			i++
			value = words[i]
		}
		if !f.Bool && len(f.Values) > 0 && !slices.Contains(f.Values, value) {
			return nil, nil, false, &usageError{
				msg:     fmt.Sprintf("flag %s does not take %s; it takes %s.", code("--"+f.Name), code(value), codeList(f.Values)),
				suggest: suggest(value, f.Values),
			}
		}
		if !f.Bool && value == "" {
			return nil, nil, false, &usageError{msg: fmt.Sprintf("flag %s needs a value.", code("--"+f.Name))}
		}
		if flags == nil {
			flags = map[string]string{}
		}
		flags[f.Name] = value
	}
	return args, flags, false, nil
}

func (c *Command) flag(name string) *Flag {
	for i := range c.Flags {
		f := &c.Flags[i]
		if strings.EqualFold(name, f.Name) || (f.Short != "" && name == f.Short) {
			return f
		}
	}
	return nil
}

func unknownFlag(c *Command, word, name string) error {
	var names []string
	for _, f := range c.Flags {
		names = append(names, f.Name)
	}
	e := &usageError{msg: fmt.Sprintf("%s has no flag %s.", code(c.Name), code(word))}
	if len(names) == 0 {
		e.msg = fmt.Sprintf("%s takes no flags (got %s).", code(c.Name), code(word))
	}
	for _, s := range suggest(name, names) {
		e.suggest = append(e.suggest, "--"+s)
	}
	return e
}
