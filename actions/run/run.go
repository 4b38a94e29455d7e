// Package run is the `run` action: a command from config.toml, run in the
// workspace.
//
//	[[actions]]
//	name = "tests"
//	uses = "run"
//	on = ["pull_request"]
//	timeout = "10m"
//	[actions.with]
//	command = ["python", "scripts/check.py", "--strict"]
//	env = { PYTHONUNBUFFERED = "1" }
//	pass_env = ["WANDB_API_KEY"]
//	token = false
//	lfs = ["*.safetensors"]
//	outputs = ["onnx/**"]
//	output_limit = "1MiB"
//	kill_grace = "5s"
//	title = "Add the ONNX export"
//	description = "Exported by hubbot."
//
// The command is an argv list, never a shell string: nothing from the repo
// or a comment is ever parsed as a command line. It runs in the work tree
// with stdin on /dev/null and an environment built from scratch (see
// Action.Run), inside the bot's sandbox (package sandbox: Landlock, resource
// caps, no capabilities, a supervisor that kills every process the command
// started when it ends). Exit status 0 is success. The job's timeout
// arrives as the context's deadline; when it passes, or the job is
// cancelled or superseded, the command gets SIGTERM, then SIGKILL after
// kill_grace, and nothing it started survives.
//
// Options (`[actions.with]`):
//
//   - command (required): the program and its arguments. A program name
//     without a slash is looked up in the command's PATH (absolute entries
//     only); a path with a slash is taken as is, relative to the work tree.
//   - env: variables set to fixed values, NAME = "value".
//   - pass_env: names of variables copied from the bot's own environment,
//     for secrets that must not live in config.toml; an unset one is
//     skipped with a line in the job log. Their values are removed from
//     the output, like the token's.
//   - token: expose the Hub token as HF_TOKEN. The command then holds
//     hubbot's token: do not combine it with code from pull requests you do
//     not trust.
//   - lfs: path patterns (git.MatchPath syntax) of files whose real content
//     the command needs: the checkout holds LFS pointers, and these are
//     downloaded and checked against their pointer before the command
//     runs. Everything else stays a pointer.
//   - outputs: path patterns (git.MatchPath syntax) of files the command
//     writes in the work tree to offer as a pull request. Only files it
//     created or changed count, so a pattern never proposes an untouched
//     LFS pointer; links out of the tree are refused, and so are more than
//     1000 files.
//   - output_limit: how much output is kept, head and tail, as a size
//     ("1MiB", "64KB") or a number of bytes; default 1 MiB.
//   - kill_grace: time between SIGTERM and SIGKILL when the command is
//     stopped, and how long its output may still flow once it has exited;
//     default 5s.
//   - title, description: of the pull request made of the outputs.
//
// env and pass_env cannot name the bot's secrets (HF_TOKEN and its older
// aliases, WEBHOOK_SECRET, LLM_API_KEY) nor HUBBOT_* variables.
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/git"
)

// Defaults and bounds of the options.
const (
	DefaultOutputLimit = 1 << 20
	minOutputLimit     = 1 << 10
	maxOutputLimit     = 64 << 20
	DefaultKillGrace   = 5 * time.Second
	maxKillGrace       = 5 * time.Minute
	// maxOutputFiles bounds a proposal: a pattern that matches a whole
	// dependency tree is a mistake to report, not a pull request to open.
	maxOutputFiles = 1000
)

// DefaultPath is the command's PATH when the bot provides none and has
// none itself.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Env is what the bot provides to every command.
type Env struct {
	// Token is the Hub token, given to the command as HF_TOKEN only with
	// `token = true`, and removed from its output in any case.
	Token string
	// Secrets are the bot's other secrets (webhook secret, admin token, API
	// keys): never given to a command, and removed from its output in case
	// one reached it anyway.
	Secrets []string
	// Endpoint is the Hub's URL, given to the command as HF_ENDPOINT so that
	// the Hub libraries it uses talk to the same Hub as the bot.
	Endpoint string
	// Path is the command's PATH. Empty means the bot's own PATH, or
	// DefaultPath.
	Path string
	// TempDir is where each run gets its home directory (HOME and TMPDIR),
	// removed after the run. Empty means os.TempDir(). Not the workspaces
	// root, whose Sweep removes what no checkout locks; a directory the bot
	// empties at start-up, for what a crash leaves.
	TempDir string
	// LookupEnv reads the bot's environment for pass_env. Nil means
	// os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// Sandbox confines every command. Nil runs commands directly in their
	// own process group, with none of its protections: only for tests of
	// other packages and tools that run trusted commands; the server
	// always passes one.
	Sandbox *sandbox.Sandbox
}

// Action runs one configured command.
type Action struct {
	argv        []string
	env         map[string]string
	passEnv     []string
	token       bool
	lfs         []string
	outputs     []string
	outputLimit int
	killGrace   time.Duration
	title       string
	description string
	host        Env
}

// options is the `[actions.with]` table of a run action.
type options struct {
	Command     []string          `toml:"command"`
	Env         map[string]string `toml:"env"`
	PassEnv     []string          `toml:"pass_env"`
	Token       bool              `toml:"token"`
	LFS         []string          `toml:"lfs"`
	Outputs     []string          `toml:"outputs"`
	OutputLimit any               `toml:"output_limit"`
	KillGrace   string            `toml:"kill_grace"`
	Title       string            `toml:"title"`
	Description string            `toml:"description"`
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are the bot's secrets: no option may hand them to a command
// (the token goes only through `token = true`).
var reservedEnv = []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN", "WEBHOOK_SECRET", "LLM_API_KEY"}

// New decodes and checks the options. Errors are *actions.OptionError
// naming the offending key.
func New(opts actions.Options, env Env) (*Action, error) {
	var o options
	if err := opts.Decode(&o); err != nil {
		return nil, err
	}
	if len(o.Command) == 0 {
		return nil, &actions.OptionError{Key: "command", Msg: `required: the program and its arguments, e.g. ["python", "check.py"]`}
	}
	if strings.TrimSpace(o.Command[0]) == "" {
		return nil, &actions.OptionError{Key: "command.0", Msg: "the program must not be empty"}
	}
	for i, arg := range o.Command {
		if strings.ContainsRune(arg, 0) {
			return nil, &actions.OptionError{Key: fmt.Sprintf("command.%d", i), Msg: "contains a NUL byte"}
		}
	}
	for _, name := range sortedNames(o.Env) {
		value := o.Env[name]
		if err := checkEnvName(name); err != nil {
			return nil, &actions.OptionError{Key: "env." + name, Msg: err.Error()}
		}
		if strings.ContainsRune(value, 0) {
			return nil, &actions.OptionError{Key: "env." + name, Msg: "contains a NUL byte"}
		}
	}
	for i, name := range o.PassEnv {
		if err := checkEnvName(name); err != nil {
			return nil, &actions.OptionError{Key: fmt.Sprintf("pass_env.%d", i), Msg: err.Error()}
		}
		if _, both := o.Env[name]; both {
			return nil, &actions.OptionError{Key: fmt.Sprintf("pass_env.%d", i), Msg: fmt.Sprintf("%s is also set in env: keep one", name)}
		}
	}
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"lfs", o.LFS}, {"outputs", o.Outputs}} {
		for i, p := range list.patterns {
			if err := git.ValidatePattern(p); err != nil {
				return nil, &actions.OptionError{Key: fmt.Sprintf("%s.%d", list.key, i), Msg: err.Error()}
			}
		}
		if err := git.ValidatePatterns(list.patterns); err != nil {
			return nil, &actions.OptionError{Key: list.key, Msg: err.Error()}
		}
	}
	limit, err := parseLimit(o.OutputLimit)
	if err != nil {
		return nil, &actions.OptionError{Key: "output_limit", Msg: err.Error()}
	}
	grace := DefaultKillGrace
	if o.KillGrace != "" {
		grace, err = time.ParseDuration(o.KillGrace)
		if err != nil || grace <= 0 || grace > maxKillGrace {
			return nil, &actions.OptionError{Key: "kill_grace", Msg: fmt.Sprintf("want a duration between 1ms and %s, such as \"5s\", got %q", maxKillGrace, o.KillGrace)}
		}
	}
	if n := len([]rune(o.Title)); o.Title != "" && (n < 3 || n > 200) {
		return nil, &actions.OptionError{Key: "title", Msg: "the Hub wants a title of 3 to 200 characters"}
	}
	if env.LookupEnv == nil {
		env.LookupEnv = os.LookupEnv
	}
	if env.Path == "" {
		env.Path = os.Getenv("PATH")
	}
	if env.Path == "" {
		env.Path = DefaultPath
	}
	if env.TempDir == "" {
		env.TempDir = os.TempDir()
	}
	return &Action{
		argv:        o.Command,
		env:         o.Env,
		passEnv:     o.PassEnv,
		token:       o.Token,
		lfs:         o.LFS,
		outputs:     o.Outputs,
		outputLimit: limit,
		killGrace:   grace,
		title:       o.Title,
		description: o.Description,
		host:        env,
	}, nil
}

// Privileged lists what makes the action privileged, one phrase each: the
// Hub token, secrets passed through from the bot's environment, outputs
// that open a pull request. Code from a pull request author outside the
// action's allow rules must never run in a privileged action, approved or
// not, and chat-ops treats running one as a write. Empty when the action
// is not privileged.
func (a *Action) Privileged() []string {
	var why []string
	if a.token {
		why = append(why, "token = true gives the command the Hub token")
	}
	if len(a.passEnv) > 0 {
		why = append(why, fmt.Sprintf("pass_env gives the command %s from the bot's environment", strings.Join(a.passEnv, ", ")))
	}
	if len(a.outputs) > 0 {
		why = append(why, "outputs open a pull request with files the command wrote")
	}
	return why
}

// IsPrivileged reports whether Privileged lists anything.
func (a *Action) IsPrivileged() bool { return len(a.Privileged()) > 0 }

func checkEnvName(name string) error {
	if !envName.MatchString(name) {
		return fmt.Errorf("%q is not a variable name (letters, digits, _)", name)
	}
	if slices.Contains(reservedEnv, strings.ToUpper(name)) {
		if strings.EqualFold(name, "HF_TOKEN") {
			return errors.New("HF_TOKEN cannot be set here: use token = true")
		}
		return fmt.Errorf("%s is a secret of the bot and is never given to commands", name)
	}
	if strings.HasPrefix(strings.ToUpper(name), "HUBBOT_") {
		return fmt.Errorf("%s: HUBBOT_* variables belong to the bot", name)
	}
	return nil
}

// parseLimit reads output_limit: a size string or a number of bytes.
func parseLimit(v any) (int, error) {
	var n int64
	switch x := v.(type) {
	case nil:
		return DefaultOutputLimit, nil
	case int64:
		n = x
	case string:
		size, err := actions.ParseSize(x)
		if err != nil {
			return 0, err
		}
		n = size
	default:
		return 0, fmt.Errorf("want a size such as \"1MiB\" or a number of bytes, got %v", v)
	}
	if n < minOutputLimit || n > maxOutputLimit {
		return 0, fmt.Errorf("want between %s and %s, got %d bytes", formatSize(minOutputLimit), formatSize(maxOutputLimit), n)
	}
	return int(n), nil
}

// Run runs the command in ws.Dir and reports its exit status and output.
//
// The command's environment is built from scratch: PATH, HOME and TMPDIR (a
// fresh directory removed afterwards), LANG=C.UTF-8, HF_ENDPOINT,
// HUBBOT_REPO, HUBBOT_REPO_TYPE, HUBBOT_REF and HUBBOT_SHA, then `env` and
// `pass_env`, and HF_TOKEN with `token = true`. Output (stdout and stderr
// interleaved) is kept up to output_limit, head and tail, with the token and
// the pass_env values removed (those of at least 6 bytes), and goes to log
// and into Details.
//
// Files matching the lfs patterns get their content first. A command that
// fails or times out is a Failure result. Run returns an error when such a
// download fails, when ctx is cancelled for another reason than its
// deadline (the job was superseded or the bot is stopping), and when the
// command could not be started for a reason that is not the command's (no
// process could be made).
// With outputs, the files the command created or changed that match them
// become the result's Proposal. Where the sandbox cannot confine the
// command (no Landlock) or fails to set up, the command does not run and
// the result is a Failure that says so in one line.
func (a *Action) Run(ctx context.Context, ws *actions.Workspace, log io.Writer) (actions.Result, error) {
	if ws == nil || ws.Dir == "" {
		return actions.Result{}, errors.New("run: no workspace")
	}
	if fi, err := os.Stat(ws.Dir); err != nil || !fi.IsDir() {
		return actions.Result{}, fmt.Errorf("run: workspace %s is not a directory", ws.Dir)
	}
	home, err := os.MkdirTemp(a.host.TempDir, "hubbot-run-")
	if err != nil {
		return actions.Result{}, fmt.Errorf("run: make home directory: %w", err)
	}
	defer removeAll(home)
	tmp := filepath.Join(home, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return actions.Result{}, fmt.Errorf("run: make temporary directory: %w", err)
	}

	env, secrets := a.environ(ws, home, tmp, log)
	secrets = secretForms(secrets)
	// Secrets go neither into what is published nor into the log, even
	// when the config put one in the command line.
	shown := redactAll(displayArgv(a.argv), secrets)
	fmt.Fprintf(log, "run: $ %s\n", shown)
	fmt.Fprintf(log, "run: in %s with %s\n", ws.Dir, strings.Join(sortedNames(env), " "))

	if err := a.materialize(ctx, ws, log); err != nil {
		return actions.Result{}, fmt.Errorf("run %s: %w", shown, err)
	}
	var before map[string]fileState
	if len(a.outputs) > 0 {
		if before, err = a.snapshot(ws.Dir); err != nil {
			return actions.Result{}, fmt.Errorf("run: list files before the command: %w", err)
		}
	}

	program, ok := lookPath(a.argv[0], env["PATH"])
	if !ok {
		fmt.Fprintf(log, "run: %s: not found in PATH %s\n", a.argv[0], env["PATH"])
		return actions.Result{
			Conclusion: actions.Failure,
			Summary:    fmt.Sprintf("Command %s could not start: %s is not in the command's PATH.", codeSpan(shown), codeSpan(a.argv[0])),
		}, nil
	}
	if sb := a.host.Sandbox; sb != nil {
		if err := sb.Ready(); err != nil {
			fmt.Fprintf(log, "run: not run: %v\n", err)
			return actions.Result{
				Conclusion: actions.Failure,
				Summary:    fmt.Sprintf("Command %s was not run: %v.", codeSpan(shown), strings.TrimSuffix(err.Error(), ".")),
			}, nil
		}
	}
	out := newCapture(a.outputLimit, secrets...)
	res, err := a.execute(ctx, program, ws.Dir, env, home, out)
	out.flush()
	output := out.text()
	var setupErr *sandboxError
	if errors.As(err, &setupErr) {
		fmt.Fprintf(log, "run: not run: %v\n", redactAll(err.Error(), secrets))
		return actions.Result{
			Conclusion: actions.Failure,
			Summary:    fmt.Sprintf("Command %s was not run: the sandbox could not be set up.", codeSpan(shown)),
		}, nil
	}
	if err != nil && !res.started {
		fmt.Fprintf(log, "run: cannot start: %v\n", err)
		if isCommandProblem(err) {
			return actions.Result{
				Conclusion: actions.Failure,
				Summary:    fmt.Sprintf("Command %s could not start: %v.", codeSpan(shown), startError(err)),
			}, nil
		}
		return actions.Result{}, fmt.Errorf("run %s: start: %w", shown, err)
	}
	fmt.Fprintf(log, "run: output (%s):\n%s\n", formatSize(out.total), output)
	if err != nil {
		return actions.Result{}, fmt.Errorf("run %s: %w", shown, err)
	}

	status := describe(res, ctx.Err())
	fmt.Fprintf(log, "run: %s\n", status)
	if res.stopped && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
			return actions.Result{}, fmt.Errorf("run %s: stopped: %w (%v)", shown, ctx.Err(), cause)
		}
		return actions.Result{}, fmt.Errorf("run %s: stopped: %w", shown, ctx.Err())
	}
	result := actions.Result{
		Conclusion: actions.Failure,
		Summary:    fmt.Sprintf("Command %s %s.", codeSpan(shown), status),
		Details:    outputDetails(output, out.dropped()),
	}
	if res.stopped || res.signal != 0 || res.exitCode != 0 {
		return result, nil
	}
	result.Conclusion = actions.Success
	if len(a.outputs) == 0 {
		return result, nil
	}
	files, refused, err := a.collect(ws.Dir, before)
	if err != nil {
		return actions.Result{}, fmt.Errorf("run %s: collect outputs: %w", shown, err)
	}
	switch {
	case len(refused) > 0:
		result.Conclusion = actions.Failure
		result.Summary = fmt.Sprintf("Command %s succeeded, but its outputs were refused: %s.", codeSpan(shown), strings.Join(refused, "; "))
	case len(files) > maxOutputFiles:
		result.Conclusion = actions.Failure
		result.Summary = fmt.Sprintf("Command %s succeeded, but it wrote %d output files, more than the %d a pull request may carry.",
			codeSpan(shown), len(files), maxOutputFiles)
	case len(files) == 0:
		result.Summary = fmt.Sprintf("Command %s succeeded; it changed no file matching the outputs.", codeSpan(shown))
	default:
		result.Summary = fmt.Sprintf("Command %s succeeded and wrote %d output file(s).", codeSpan(shown), len(files))
		result.Proposal = a.proposal(ws, shown, files)
	}
	for _, f := range files {
		fmt.Fprintf(log, "run: output file %s\n", f.PathInRepo)
	}
	return result, nil
}

// sandboxError is a sandbox that could not be set up: the command did not
// run, and runs nowhere less confined.
type sandboxError struct{ err error }

func (e *sandboxError) Error() string { return e.err.Error() }
func (e *sandboxError) Unwrap() error { return e.err }

// execute runs the program in the sandbox, or directly without one.
func (a *Action) execute(ctx context.Context, program, dir string, env map[string]string, home string, out io.Writer) (execution, error) {
	sb := a.host.Sandbox
	if sb == nil {
		cmd := &exec.Cmd{Path: program, Args: a.argv, Dir: dir, Env: envList(env)}
		return execute(ctx, cmd, out, a.killGrace)
	}
	r, err := sb.Run(ctx, sandbox.Spec{
		Program: program, Args: a.argv, Dir: dir, Env: envList(env),
		ReadWrite: []string{home}, Grace: a.killGrace,
	}, out)
	if err != nil {
		return execution{}, &sandboxError{err}
	}
	if r.ExecErr != nil {
		return execution{}, &fs.PathError{Op: "exec", Path: program, Err: r.ExecErr}
	}
	return execution{started: true, exitCode: r.ExitCode, signal: r.Signal, stopped: r.Stopped}, nil
}

// materialize replaces the LFS pointers the lfs patterns name by their
// content.
func (a *Action) materialize(ctx context.Context, ws *actions.Workspace, log io.Writer) error {
	if len(a.lfs) == 0 {
		return nil
	}
	files, err := ws.Files()
	if err != nil {
		return fmt.Errorf("list files: %w", err)
	}
	for _, name := range files {
		if !git.MatchAny(a.lfs, name) {
			continue
		}
		p, isPointer, err := ws.Pointer(name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if !isPointer || ws.Content == nil {
			continue
		}
		fmt.Fprintf(log, "run: downloading the content of %s (%s)\n", name, formatSize(p.Size))
		if _, err := ws.Materialize(ctx, name); err != nil {
			return fmt.Errorf("download the content of %s: %w", name, err)
		}
	}
	return nil
}

// environ builds the command's environment, and lists the values to keep
// out of its output: the bot's secrets and what pass_env copied, which is
// there because it is secret.
func (a *Action) environ(ws *actions.Workspace, home, tmp string, log io.Writer) (env map[string]string, secrets []string) {
	secrets = append([]string{a.host.Token}, a.host.Secrets...)
	env = map[string]string{
		"PATH":   a.host.Path,
		"HOME":   home,
		"TMPDIR": tmp,
		"LANG":   "C.UTF-8",
	}
	if a.host.Endpoint != "" {
		env["HF_ENDPOINT"] = a.host.Endpoint
	}
	if ws.Repo.ID != "" {
		env["HUBBOT_REPO"] = ws.Repo.ID
		env["HUBBOT_REPO_TYPE"] = orDefault(ws.Repo.Type, "model")
	}
	if ws.Ref != "" {
		env["HUBBOT_REF"] = ws.Ref
	}
	if ws.SHA != "" {
		env["HUBBOT_SHA"] = ws.SHA
	}
	for _, name := range a.passEnv {
		if v, ok := a.host.LookupEnv(name); ok {
			env[name] = v
			secrets = append(secrets, v)
		} else {
			fmt.Fprintf(log, "run: pass_env: %s is not set in the bot's environment, skipped\n", name)
		}
	}
	for name, v := range a.env {
		env[name] = v
	}
	if a.token {
		if a.host.Token != "" {
			env["HF_TOKEN"] = a.host.Token
		} else {
			fmt.Fprintln(log, "run: token = true, but the bot has no Hub token: HF_TOKEN is not set")
		}
	}
	return env, secrets
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for _, name := range sortedNames(env) {
		list = append(list, name+"="+env[name])
	}
	return list
}

func sortedNames(env map[string]string) []string {
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// lookPath finds the program: a name with a slash is used as given
// (relative to the work tree), a bare name is searched in the absolute
// entries of path. The bot's own PATH is not used: it is not the
// command's.
func lookPath(name, path string) (string, bool) {
	if strings.Contains(name, "/") {
		return name, true
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue // "." or "" would run a file of the repo by accident
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// isCommandProblem tells a command that cannot run (missing, not
// executable, bad interpreter), which is the repo's or the config's
// business and shown as a failure, from the system failing to make a
// process.
func isCommandProblem(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, syscall.ENOEXEC) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

// startError drops the absolute paths of the host from a start error.
func startError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// describe says how the command ended, as a verb phrase.
func describe(res execution, ctxErr error) string {
	switch {
	case res.stopped && errors.Is(ctxErr, context.DeadlineExceeded):
		return "timed out and was stopped"
	case res.stopped:
		return "was stopped"
	case res.signal != 0:
		return fmt.Sprintf("was killed by signal %d (%s)", int(res.signal), res.signal)
	case res.exitCode == 0:
		return "succeeded"
	}
	return fmt.Sprintf("failed with exit code %d", res.exitCode)
}

// outputDetails renders the output as a fenced block that nothing in it can
// close: the fence is longer than any run of backticks inside.
func outputDetails(output string, dropped int64) string {
	if strings.TrimSpace(output) == "" {
		return "The command printed nothing."
	}
	fence := strings.Repeat("`", max(3, longestRun(output, '`')+1))
	var b strings.Builder
	if dropped > 0 {
		fmt.Fprintf(&b, "Output (%s cut from the middle):\n\n", formatSize(dropped))
	} else {
		b.WriteString("Output:\n\n")
	}
	b.WriteString(fence + "text\n")
	b.WriteString(strings.TrimRight(output, "\n"))
	b.WriteString("\n" + fence + "\n")
	return b.String()
}

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// codeSpan renders s as inline code whatever backticks it holds.
func codeSpan(s string) string {
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

// displayArgv renders the argv as a shell would need it quoted, for people,
// shortened when very long.
func displayArgv(argv []string) string {
	parts := make([]string, len(argv))
	for i, arg := range argv {
		parts[i] = shellQuote(arg)
	}
	s := strings.Join(parts, " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// removeAll removes dir, also what the command made read-only.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}
