package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// launchArg is os.Args[1] of a re-executed launcher. It is not a command
// anyone types: Launch takes the process over before normal dispatch.
const launchArg = "__hubbot-sandbox"

// statusFD is the descriptor, in the supervisor and the launcher, of the
// pipe that tells the bot how the command ended.
const statusFD = 3

// plan is what the bot hands the launcher on its command line: paths,
// ports and limits, never a secret (those travel in the environment of the
// command, where they belong).
type plan struct {
	Program   string        `json:"program"`
	Args      []string      `json:"args"`
	Landlock  bool          `json:"landlock"`
	ReadOnly  []string      `json:"ro"`
	ReadWrite []string      `json:"rw"`
	Ports     []uint16      `json:"ports"`
	Limits    Limits        `json:"limits"`
	UID       int           `json:"uid"`
	GID       int           `json:"gid"`
	Grace     time.Duration `json:"grace"`
	Record    string        `json:"record"`
}

// Launch runs the supervisor or the launcher when this process was started
// as one, and never returns then. Otherwise it returns at once. Call it
// first thing in main, and in TestMain of tests that use a Sandbox.
func Launch() {
	if len(os.Args) != 4 || os.Args[1] != launchArg {
		return
	}
	var p plan
	if err := json.Unmarshal([]byte(os.Args[3]), &p); err != nil {
		fmt.Fprintf(os.Stderr, "hubbot sandbox: bad plan: %v\n", err)
		os.Exit(126)
	}
	switch os.Args[2] {
	case "supervise":
		os.Exit(supervise(p))
	case "exec":
		launch(p)
	}
	os.Exit(126)
}

// supervise starts the launcher, waits for the command, then kills and
// reaps every process left. As a child subreaper it becomes the parent of
// every orphan below it, so nothing can slip away by double-forking or
// calling setsid. It is itself not dumpable, so the command (same user
// when the bot is not root) cannot read its memory or environment.
func supervise(p plan) int {
	// The launcher's Pdeathsig fires when the thread that started it
	// exits: keep this goroutine on its thread until the end.
	runtime.LockOSThread()
	status := os.NewFile(statusFD, "status")
	report := func(format string, args ...any) { fmt.Fprintf(status, format+"\n", args...) }
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		report("setup: become a subreaper: %v", err)
		return 0
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		report("setup: mark the supervisor non-dumpable: %v", err)
		return 0
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if p.Record != "" {
		if err := writeRecord(p.Record, os.Getpid()); err != nil {
			report("setup: %v", err)
			return 0
		}
		defer os.Remove(p.Record)
	}

	self, err := os.Executable()
	if err != nil {
		report("setup: find the launcher: %v", err)
		return 0
	}
	arg, _ := json.Marshal(p)
	pid, err := syscall.ForkExec(self, []string{os.Args[0], launchArg, "exec", string(arg)}, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2, statusFD},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		report("setup: start the launcher: %v", err)
		return 0
	}

	exited := make(chan syscall.WaitStatus, 1)
	allGone := make(chan struct{})
	go reap(pid, exited, allGone)

	var ws syscall.WaitStatus
	got := false
	select {
	case ws = <-exited:
		got = true
	case <-sigs:
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		timer := time.NewTimer(p.Grace)
		select {
		case ws = <-exited:
			got = true
		case <-timer.C:
		}
		timer.Stop()
	}
	killAll(pid, allGone)
	if !got {
		ws = <-exited
	}
	switch {
	case ws.Signaled():
		report("signal %d", int(ws.Signal()))
	default:
		report("exit %d", ws.ExitStatus())
	}
	return 0
}

// reap waits for every child, sends the command's status on exited, and
// closes allGone when no child is left. A process whose parent exits is
// re-parented to us before its parent can be reaped, so "no child" means
// no descendant.
func reap(cmd int, exited chan<- syscall.WaitStatus, allGone chan<- struct{}) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
		case err != nil:
			close(allGone)
			return
		case pid == cmd:
			exited <- ws
		}
	}
}

// killAll kills the command's group and every child of this process until
// none is left. Each round kills a generation: the children of a killed
// process are re-parented here and killed in the next one.
func killAll(cmd int, allGone <-chan struct{}) {
	self := os.Getpid()
	_ = syscall.Kill(-cmd, syscall.SIGKILL)
	// Most commands leave nothing: then the reaper finds no child at once,
	// and there is no need to read /proc. The wait is long enough for a
	// busy machine to schedule the reaper.
	select {
	case <-allGone:
		return
	case <-time.After(20 * time.Millisecond):
	}
	for {
		_ = syscall.Kill(-cmd, syscall.SIGKILL)
		for _, pid := range childrenOf(self) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-allGone:
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// launch confines this process and execs the command. Everything happens
// on one locked thread: capabilities, no_new_privs and the Landlock domain
// belong to a thread, and execve keeps those of the thread that calls it.
func launch(p plan) {
	runtime.LockOSThread()
	status := os.NewFile(statusFD, "status")
	syscall.CloseOnExec(statusFD)
	fail := func(format string, args ...any) {
		fmt.Fprintf(status, "setup: "+format+"\n", args...)
		os.Exit(126)
	}
	if err := setLimits(p.Limits); err != nil {
		fail("%v", err)
	}
	// Build the ruleset while still able to open every path, enforce it
	// after dropping root.
	rulesetFD := -1
	var rulesetFlags uint32
	if p.Landlock {
		fd, flags, err := ruleset(p)
		if err != nil {
			fail("landlock: %v", err)
		}
		if fd < 0 {
			fail("landlock: the kernel enforces nothing")
		}
		rulesetFD, rulesetFlags = fd, flags
	}
	if os.Geteuid() == 0 {
		supervisor := os.Getppid()
		if err := dropRoot(p.UID, p.GID); err != nil {
			fail("drop root: %v", err)
		}
		// A change of user clears the parent-death signal: arm it again,
		// and make sure the supervisor did not die in between.
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
			fail("parent-death signal: %v", err)
		}
		if os.Getppid() != supervisor {
			os.Exit(126)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail("no_new_privs: %v", err)
	}
	if rulesetFD >= 0 {
		if err := llsys.LandlockRestrictSelf(rulesetFD, rulesetFlags); err != nil {
			fail("landlock: restrict: %v", err)
		}
		_ = unix.Close(rulesetFD)
	}
	err := syscall.Exec(p.Program, p.Args, os.Environ())
	var errno syscall.Errno
	if errors.As(err, &errno) {
		fmt.Fprintf(status, "exec: %d\n", int(errno))
	} else {
		fmt.Fprintf(status, "setup: exec: %v\n", err)
	}
	os.Exit(127)
}

// ruleset is the Landlock policy: the system directories read-only, the
// checkout and home read-write, the harmless devices, TCP connect to the
// allowed ports only and no bind. Scoping (ABI 6+) keeps the command from
// signalling the bot or its supervisor and from their abstract sockets.
func ruleset(p plan) (int, uint32, error) {
	rules := []landlock.Rule{
		landlock.RODirs(p.ReadOnly...).IgnoreIfMissing(),
		landlock.RWDirs(p.ReadWrite...),
		landlock.RWFiles("/dev/null", "/dev/zero", "/dev/full").IgnoreIfMissing(),
		landlock.ROFiles("/dev/urandom", "/dev/random").IgnoreIfMissing(),
	}
	for _, port := range p.Ports {
		rules = append(rules, landlock.ConnectTCP(port))
	}
	return landlock.V11.BestEffort().NewRulesetFD(rules...)
}

// setLimits caps this process (and so the command) with equal soft and
// hard limits, so that the command cannot raise them again; a limit
// already lower stays.
func setLimits(l Limits) error {
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
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(c.resource, &cur); err != nil {
			return fmt.Errorf("read the %s limit: %w", c.name, err)
		}
		v := min(c.value, cur.Max)
		// syscall.Setrlimit, not unix: for open files it also stops Go
		// from restoring the original limit at exec.
		if err := syscall.Setrlimit(c.resource, &syscall.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("limit %s to %d: %w", c.name, v, err)
		}
	}
	return nil
}

// dropRoot makes this process uid:gid with no capability left, and none to
// regain at exec: the bounding set is emptied first.
func dropRoot(uid, gid int) error {
	if uid == 0 {
		return errors.New("refusing to run a command as root")
	}
	last, err := lastCap()
	if err != nil {
		return err
	}
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	_ = unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("clear groups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("set gid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("set uid %d: %w", uid, err)
	}
	if os.Geteuid() == 0 || os.Getuid() == 0 {
		return errors.New("still root after setuid")
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
