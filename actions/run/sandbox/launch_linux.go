package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// launchArg is os.Args[1] of a re-executed supervisor or spawner. It is
// not a command anyone types: Launch takes the process over before normal
// dispatch.
const launchArg = "__hubbot-sandbox"

// connFD is the descriptor, in the supervisor and the spawner, of the
// socket to the process that started it.
const connFD = 3

// setup is what the supervisor and the spawner get on their command line
// when they start: paths, ports and limits, never a secret (those travel
// with each request, in the command's environment).
type setup struct {
	Landlock bool     `json:"landlock"`
	ReadOnly []string `json:"ro"`
	Ports    []uint16 `json:"ports"`
	Limits   Limits   `json:"limits"`
	UID      int      `json:"uid"`
	GID      int      `json:"gid"`
	Record   string   `json:"record,omitempty"`
}

// request is one command, sent with its output pipe.
type request struct {
	Program   string        `json:"program"`
	Args      []string      `json:"args"`
	Env       []string      `json:"env"`
	Dir       string        `json:"dir"`
	ReadWrite []string      `json:"rw"`
	Grace     time.Duration `json:"grace"`
}

// Launch runs the supervisor or the spawner when this process was started
// as one, and never returns then. Otherwise it returns at once. Call it
// first thing in main, and in TestMain of tests that use a Sandbox.
func Launch() {
	if len(os.Args) != 4 || os.Args[1] != launchArg {
		return
	}
	// Nothing this process starts may inherit its socket (a command that
	// held it could speak for the spawner) or whatever the bot inherited.
	closeOnExec()
	var s setup
	if err := json.Unmarshal([]byte(os.Args[3]), &s); err != nil {
		fmt.Fprintf(os.Stderr, "hubbot sandbox: bad setup: %v\n", err)
		os.Exit(126)
	}
	switch os.Args[2] {
	case "supervise":
		os.Exit(supervise(s))
	case "spawn":
		os.Exit(spawn(s))
	}
	os.Exit(126)
}

// closeOnExec marks every descriptor above the standard streams
// close-on-exec.
func closeOnExec() {
	if unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// spawn serves the supervisor's requests one at a time: it starts each
// command and reports its pid and how it ended. Its own limits are the
// commands' limits, which every command inherits: setrlimit acts on a
// whole process, and this process does nothing else. When it has used
// half of the CPU time limit itself it retires, so that the limit never
// stops it.
func spawn(s setup) int {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "hubbot sandbox: mark the spawner non-dumpable: %v\n", err)
		return 126
	}
	conn, err := unixConn(connFD)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hubbot sandbox: the spawner's socket: %v\n", err)
		return 126
	}
	sp := &spawner{setup: s, conn: conn}
	sp.setupErr = sp.prepare()
	for {
		payload, fds, err := recv(sp.conn)
		if err != nil {
			return 0
		}
		done := make(chan bool)
		go sp.serve(payload, fds, done)
		if retire := <-done; retire {
			return 0
		}
	}
}

type spawner struct {
	setup
	conn     *net.UnixConn
	traced   bool // limits are set on each command, held at its exec
	devNull  int
	lastCap  int
	setupErr error
}

// prepare does once what every command needs.
func (sp *spawner) prepare() error {
	sp.traced = canTrace()
	if !sp.traced {
		if err := setLimits(0, sp.Limits); err != nil {
			return err
		}
	}
	fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	sp.devNull = fd
	if os.Geteuid() == 0 {
		if sp.UID == 0 {
			return errors.New("refusing to run a command as root")
		}
		if sp.lastCap, err = lastCap(); err != nil {
			return err
		}
	}
	return nil
}

// serve starts one command from a thread of its own, confined for the
// command's sake, reports, waits for the command and reports again. The
// goroutine ends locked to its thread, so the runtime ends the thread and
// never runs anything else on it. The thread must outlive the command:
// the command's parent-death signal is tied to it. It is never the main
// thread.
func (sp *spawner) serve(payload []byte, fds []int, done chan<- bool) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The main thread holds this process's parent-death signal, which
		// a change of user would clear. Leave it: a goroutine that ends
		// locked to the main thread parks it for good.
		go sp.serve(payload, fds, done)
		return
	}
	retire := false
	defer func() { done <- retire }()
	report := func(format string, args ...any) { _ = send(sp.conn, fmt.Appendf(nil, format, args...)) }
	var req request
	err := json.Unmarshal(payload, &req)
	if err == nil && len(fds) != 1 {
		err = fmt.Errorf("%d descriptors", len(fds))
	}
	var pid int
	switch {
	case err != nil:
		err = fmt.Errorf("setup: bad request: %v", err)
	case sp.setupErr != nil:
		err = fmt.Errorf("setup: %v", sp.setupErr)
	default:
		pid, err = sp.start(req, fds[0])
	}
	// Only the command holds its output pipe now: its end is the pipe's.
	for _, fd := range fds {
		unix.Close(fd)
	}
	if err != nil {
		report("%v", err)
		return
	}
	report("started %d", pid)
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	end := fmt.Sprintf("exit %d", ws.ExitStatus())
	if ws.Signaled() {
		end = fmt.Sprintf("signal %d", int(ws.Signal()))
	}
	if retire = sp.spent(); retire {
		end += "\nretire"
	}
	report("%s", end)
}

// start confines the calling thread and starts the command from it, so
// that the command inherits the confinement and the thread's end kills it.
// Capabilities, no_new_privs and the Landlock domain belong to a thread:
// the rest of this process is untouched. Errors are status lines.
func (sp *spawner) start(req request, out int) (int, error) {
	// Build the ruleset while still able to open every path.
	rulesetFD := -1
	var rulesetFlags uint32
	if sp.Landlock {
		fd, flags, err := ruleset(sp.ReadOnly, req.ReadWrite, sp.Ports)
		if err != nil {
			return 0, fmt.Errorf("setup: landlock: %v", err)
		}
		if fd < 0 {
			return 0, errors.New("setup: landlock: the kernel enforces nothing")
		}
		defer unix.Close(fd)
		rulesetFD, rulesetFlags = fd, flags
	}
	if os.Geteuid() == 0 {
		if err := dropCaps(sp.lastCap); err != nil {
			return 0, fmt.Errorf("setup: %v", err)
		}
		if err := becomeUser(sp.UID, sp.GID); err != nil {
			return 0, fmt.Errorf("setup: drop root: %v", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("setup: no_new_privs: %v", err)
	}
	if rulesetFD >= 0 {
		if err := llsys.LandlockRestrictSelf(rulesetFD, rulesetFlags); err != nil {
			return 0, fmt.Errorf("setup: landlock: restrict: %v", err)
		}
	}
	attr := &syscall.ProcAttr{
		Dir:   req.Dir,
		Env:   req.Env,
		Files: []uintptr{uintptr(sp.devNull), uintptr(out), uintptr(out)},
		// A group of its own, which the supervisor kills at the end.
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	attr.Sys.Ptrace = sp.traced
	pid, err := syscall.ForkExec(req.Program, req.Args, attr)
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return 0, fmt.Errorf("exec: %d\nexit 127", int(errno))
	case err != nil:
		return 0, fmt.Errorf("setup: exec: %v", err)
	}
	if sp.traced {
		if err := sp.limit(pid); err != nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
			return 0, fmt.Errorf("setup: %v", err)
		}
	}
	return pid, nil
}

// limit sets the limits of a command that stopped at its exec, before it
// ran an instruction of its own, and lets it go. Only this thread, the
// tracer, may do so.
func (sp *spawner) limit(pid int) error {
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("wait for the command's exec: %w", err)
		case !ws.Stopped():
			return errors.New("the command ended before its exec")
		case ws.StopSignal() != syscall.SIGTRAP:
			// Not our stop: deliver the signal and wait on.
			if err := syscall.PtraceCont(pid, int(ws.StopSignal())); err != nil {
				return fmt.Errorf("continue the command: %w", err)
			}
			continue
		}
		if err := setLimits(pid, sp.Limits); err != nil {
			return err
		}
		if err := syscall.PtraceDetach(pid); err != nil {
			return fmt.Errorf("let the command go: %w", err)
		}
		return nil
	}
}

// canTrace tells whether a child may ask to be traced (Yama's
// ptrace_scope or a seccomp filter may forbid it): the child asks, then
// fails to execute "/".
func canTrace() bool {
	_, err := syscall.ForkExec("/", []string{"/"}, &syscall.ProcAttr{Sys: &syscall.SysProcAttr{Ptrace: true}})
	return !errors.Is(err, syscall.EPERM)
}

// spent says whether this process has used half of the CPU time limit it
// shares with the commands.
func (sp *spawner) spent() bool {
	if sp.traced || sp.Limits.CPUTime <= 0 {
		return false
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return true
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return used > sp.Limits.CPUTime/2
}

// ruleset is the Landlock policy: the system directories read-only, the
// checkout and home read-write, the harmless devices, TCP connect to the
// allowed ports only and no bind. Scoping (ABI 6+) keeps the command from
// signalling the bot or its supervisor and from their abstract sockets.
func ruleset(ro, rw []string, ports []uint16) (int, uint32, error) {
	rules := []landlock.Rule{
		landlock.RODirs(ro...).IgnoreIfMissing(),
		landlock.RWDirs(rw...),
		landlock.RWFiles("/dev/null", "/dev/zero", "/dev/full").IgnoreIfMissing(),
		landlock.ROFiles("/dev/urandom", "/dev/random").IgnoreIfMissing(),
	}
	for _, port := range ports {
		rules = append(rules, landlock.ConnectTCP(port))
	}
	return landlock.V11.BestEffort().NewRulesetFD(rules...)
}

// setLimits caps process pid (0: this one) with equal soft and hard
// limits, so that the command cannot raise them again; a limit already
// lower stays.
func setLimits(pid int, l Limits) error {
	caps := []struct {
		name     string
		resource int
		value    uint64
	}{
		{"cpu time", unix.RLIMIT_CPU, uint64(l.CPUTime / time.Second)},
		{"file size", unix.RLIMIT_FSIZE, uint64(l.FileSize)},
		{"open files", unix.RLIMIT_NOFILE, uint64(l.OpenFiles)},
		{"address space", unix.RLIMIT_AS, uint64(l.AddressSpace)},
		{"processes", unix.RLIMIT_NPROC, uint64(l.Processes)},
	}
	for _, c := range caps {
		if c.value == 0 {
			continue
		}
		var cur unix.Rlimit
		if err := unix.Prlimit(pid, c.resource, nil, &cur); err != nil {
			return fmt.Errorf("read the %s limit: %w", c.name, err)
		}
		v := min(c.value, cur.Max)
		var err error
		if pid == 0 {
			// syscall.Setrlimit, not unix: for open files it also stops Go
			// from restoring the original limit at exec.
			err = syscall.Setrlimit(c.resource, &syscall.Rlimit{Cur: v, Max: v})
		} else {
			err = unix.Prlimit(pid, c.resource, &unix.Rlimit{Cur: v, Max: v}, nil)
		}
		if err != nil {
			return fmt.Errorf("limit %s to %d: %w", c.name, v, err)
		}
	}
	return nil
}

// dropCaps empties the calling thread's capability bounding and ambient
// sets, so that a command it starts has no capability left once it is no
// longer root (the change of user happens in the child, before exec) and
// none to regain at exec.
func dropCaps(last int) error {
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	_ = unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	return nil
}

// becomeUser makes the calling thread uid:gid without supplementary
// groups, and so without any capability. The kernel keeps credentials per
// thread; raw system calls change the caller's only (the syscall
// package's Setuid would change every thread of the process).
func becomeUser(uid, gid int) error {
	if uid == 0 {
		return errors.New("refusing to run a command as root")
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return fmt.Errorf("clear groups: %w", e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return fmt.Errorf("set gid %d: %w", gid, e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return fmt.Errorf("set uid %d: %w", uid, e)
	}
	if syscall.Getuid() == 0 || syscall.Geteuid() == 0 {
		return errors.New("still root after setresuid")
	}
	return nil
}

func lastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read the last capability: %w", err)
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil {
		return 0, fmt.Errorf("read the last capability: %w", err)
	}
	return n, nil
}

// recordPath names the record file of a new supervisor in dir; "" when
// records are off.
func recordPath(dir string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, fmt.Sprintf("run-%d-%d", os.Getpid(), time.Now().UnixNano()))
}

// statusLines splits a status message.
func statusLines(b []byte) []string {
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}
