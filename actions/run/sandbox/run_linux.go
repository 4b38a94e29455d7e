package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Result is how a command ended.
type Result struct {
	// ExitCode is the command's exit status when it exited.
	ExitCode int
	// Signal is the signal that ended it; 0 when it exited.
	Signal syscall.Signal
	// Stopped is set when ctx ended it.
	Stopped bool
	// ExecErr is why the program could not be executed (missing, not
	// executable, a bad interpreter): the repo's or the config's problem.
	ExecErr error
}

// stopMargin is how long the bot waits for a supervisor that was told to
// stop beyond the command's grace, before killing it outright.
const stopMargin = 5 * time.Second

// maxIdle is how many idle supervisors a Sandbox keeps for the next
// commands; more run at once when commands do, and end after theirs.
const maxIdle = 8

// slot is a supervisor, with its spawner, that runs one command at a time.
type slot struct {
	conn   *net.UnixConn // socket to the supervisor
	pid    int
	exited chan struct{}
}

// pool holds the idle supervisors.
type pool struct {
	mu     sync.Mutex
	idle   []*slot
	closed bool
}

// Run runs sp in the sandbox with stdin on /dev/null and stdout and stderr
// on one pipe copied to out, and returns once the command and everything it
// started are dead. When ctx is done the command gets SIGTERM, then SIGKILL
// after sp.Grace. Run returns an error when the sandbox could not be set up
// (no Landlock, a rule the kernel refused): the command did not run.
func (s *Sandbox) Run(ctx context.Context, sp Spec, out io.Writer) (Result, error) {
	if err := s.Ready(); err != nil {
		return Result{}, err
	}
	if len(sp.Args) == 0 {
		sp.Args = []string{sp.Program}
	}
	req := request{
		Program:   sp.Program,
		Args:      sp.Args,
		Env:       sp.Env,
		Dir:       sp.Dir,
		ReadWrite: append([]string{sp.Dir}, sp.ReadWrite...),
		Grace:     sp.Grace,
	}
	if os.Geteuid() == 0 {
		if err := handOver(req.ReadWrite, s.cfg.UID, s.cfg.GID); err != nil {
			return Result{}, err
		}
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: %w", err)
	}
	sl, err := s.acquire()
	if err != nil {
		return Result{}, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		s.release(sl, true)
		return Result{}, fmt.Errorf("sandbox: output pipe: %w", err)
	}
	err = send(sl.conn, payload, int(outW.Fd()))
	outW.Close()
	if err != nil {
		outR.Close()
		s.release(sl, false)
		return Result{}, fmt.Errorf("sandbox: hand the command to the supervisor: %w", err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, outR)
	}()
	final := make(chan []byte, 1)
	go func() {
		payload, fds, err := recv(sl.conn)
		for _, fd := range fds {
			_ = syscall.Close(fd)
		}
		if err != nil {
			payload = nil
		}
		final <- payload
	}()

	var res Result
	var status []byte
	select {
	case status = <-final:
	case <-ctx.Done():
		res.Stopped = true
		_ = syscall.Kill(sl.pid, syscall.SIGTERM)
		timer := time.NewTimer(sp.Grace + stopMargin)
		select {
		case status = <-final:
		case <-timer.C:
			// The supervisor did not finish its work; what it had not killed
			// yet is left to Sweep at the next start.
			_ = syscall.Kill(-sl.pid, syscall.SIGKILL)
			status = <-final
		}
		timer.Stop()
	}
	var lines []string
	if status != nil {
		lines = statusLines(status)
	}
	s.release(sl, status != nil && !res.Stopped && !slices.Contains(lines, "retire"))
	if !reported(lines) {
		// The supervisor died before it could kill what the command
		// started; with AdoptOrphans, that is now the bot's, but only once
		// the supervisor has exited: the kernel closes a dying process's
		// socket before it hands its children over.
		timer := time.NewTimer(stopMargin)
		select {
		case <-sl.exited:
		case <-timer.C:
		}
		timer.Stop()
		s.killOrphans()
	}
	// Every process that held the pipe is dead, so it is at its end; the
	// timer only guards against a surprise.
	drain := time.NewTimer(max(sp.Grace, time.Second))
	select {
	case <-copied:
	case <-drain.C:
	}
	drain.Stop()
	outR.Close()
	<-copied
	return parseStatus(res, lines)
}

// acquire returns an idle supervisor, or starts one.
func (s *Sandbox) acquire() (*slot, error) {
	s.pool.mu.Lock()
	for len(s.pool.idle) > 0 {
		sl := s.pool.idle[len(s.pool.idle)-1]
		s.pool.idle = s.pool.idle[:len(s.pool.idle)-1]
		select {
		case <-sl.exited:
			sl.close()
		default:
			s.pool.mu.Unlock()
			return sl, nil
		}
	}
	s.pool.mu.Unlock()
	return s.startSlot()
}

// release keeps a supervisor that can take another command, and ends the
// others.
func (s *Sandbox) release(sl *slot, reuse bool) {
	s.pool.mu.Lock()
	if reuse && !s.pool.closed && len(s.pool.idle) < maxIdle {
		s.pool.idle = append(s.pool.idle, sl)
		sl = nil
	}
	s.pool.mu.Unlock()
	if sl != nil {
		sl.close()
	}
}

// Close ends the idle supervisors and waits for them; supervisors busy
// with a command end after it. Commands can still run after Close, each
// with a supervisor of its own.
func (s *Sandbox) Close() error {
	s.pool.mu.Lock()
	idle := s.pool.idle
	s.pool.idle, s.pool.closed = nil, true
	s.pool.mu.Unlock()
	for _, sl := range idle {
		sl.close()
		<-sl.exited
	}
	return nil
}

// close tells the supervisor to end: it reads the end of its socket.
func (sl *slot) close() {
	_ = sl.conn.Close()
}

// startSlot starts a supervisor in a session of its own, with SIGTERM as
// its parent-death signal so that it kills its command before it goes.
// Neither it nor its spawner gets the bot's environment.
func (s *Sandbox) startSlot() (*slot, error) {
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	st := setup{
		Landlock: s.cfg.Mode == ModeLandlock,
		ReadOnly: s.cfg.ReadOnly,
		Limits:   s.cfg.Limits,
		UID:      s.cfg.UID,
		GID:      s.cfg.GID,
		Record:   recordPath(s.cfg.StateDir),
	}
	if st.Landlock && s.support.Network() {
		st.Ports = s.cfg.ConnectPorts
	}
	arg, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	conn := os.NewFile(uintptr(theirs), "supervisor")
	cmd := &exec.Cmd{
		Path:        s.exe,
		Args:        []string{s.exe, launchArg, "supervise", string(arg)},
		Env:         []string{},
		Dir:         "/",
		Stderr:      os.Stderr,
		ExtraFiles:  []*os.File{conn},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGTERM},
	}
	// Pdeathsig fires when the thread that started the child exits, not
	// the process: start and wait on one locked thread.
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		runtime.LockOSThread()
		err := s.start(cmd)
		started <- err
		if err == nil {
			_ = cmd.Wait()
			s.forget(cmd.Process.Pid)
		}
		// Exiting while locked ends the thread, after the child is gone.
	}()
	err = <-started
	conn.Close()
	if err != nil {
		_ = syscall.Close(mine)
		return nil, fmt.Errorf("sandbox: start the supervisor: %w", err)
	}
	uc, err := unixConn(mine)
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("sandbox: the supervisor's socket: %w", err)
	}
	return &slot{conn: uc, pid: cmd.Process.Pid, exited: exited}, nil
}

// parseStatus reads the supervisor's report.
func parseStatus(res Result, lines []string) (Result, error) {
	ended := false
	for _, line := range lines {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "setup:":
			return res, fmt.Errorf("sandbox: %s", rest)
		case "exec:":
			n, err := strconv.Atoi(rest)
			if err != nil {
				return res, fmt.Errorf("sandbox: the supervisor said %q", line)
			}
			res.ExecErr = syscall.Errno(n)
		case "exit":
			res.ExitCode, _ = strconv.Atoi(rest)
			ended = true
		case "signal":
			n, _ := strconv.Atoi(rest)
			res.Signal = syscall.Signal(n)
			ended = true
		}
	}
	if !ended && !res.Stopped {
		return res, errors.New("sandbox: the supervisor ended without a report")
	}
	if !ended {
		res.Signal = syscall.SIGKILL
	}
	return res, nil
}

// handOver gives the command's directories to the user it runs as (the bot
// is root) and lets that user reach them: search permission, not listing,
// on every parent that lacks it.
func handOver(dirs []string, uid, gid int) error {
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			return fmt.Errorf("sandbox: hand %s to uid %d: %w", dir, uid, err)
		}
		for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
			if fi.Mode().Perm()&0o001 == 0 {
				if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
					return fmt.Errorf("sandbox: let uid %d reach %s: %w", uid, dir, err)
				}
			}
			if p == filepath.Dir(p) {
				break
			}
		}
	}
	return nil
}
