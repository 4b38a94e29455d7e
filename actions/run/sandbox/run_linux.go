package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
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
	p := plan{
		Program:   sp.Program,
		Args:      sp.Args,
		Landlock:  s.cfg.Mode == ModeLandlock,
		ReadOnly:  s.cfg.ReadOnly,
		ReadWrite: append([]string{sp.Dir}, sp.ReadWrite...),
		Limits:    s.cfg.Limits,
		UID:       s.cfg.UID,
		GID:       s.cfg.GID,
		Grace:     sp.Grace,
		Record:    recordPath(s.cfg.StateDir),
	}
	if p.Landlock && s.support.Network() {
		p.Ports = s.cfg.ConnectPorts
	}
	if os.Geteuid() == 0 {
		if err := handOver(p.ReadWrite, p.UID, p.GID); err != nil {
			return Result{}, err
		}
	}
	arg, err := json.Marshal(p)
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: %w", err)
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: output pipe: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return Result{}, fmt.Errorf("sandbox: status pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:       s.exe,
		Args:       []string{s.exe, launchArg, "supervise", string(arg)},
		Env:        sp.Env,
		Dir:        sp.Dir,
		Stdout:     outW,
		Stderr:     outW,
		ExtraFiles: []*os.File{statusW},
		// Its own session; SIGTERM when the bot dies, so that it kills the
		// command's processes before it goes.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGTERM},
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, outR)
	}()
	statusDone := make(chan []string, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(statusR)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		statusDone <- lines
	}()

	// Pdeathsig fires when the thread that started the child exits, not
	// the process: start and wait on one locked thread.
	started := make(chan error, 1)
	waited := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := s.start(cmd)
		started <- err
		if err == nil {
			waited <- cmd.Wait()
		}
		// Exiting while locked ends the thread, after the child is gone.
	}()
	err = <-started
	outW.Close()
	statusW.Close()
	if err != nil {
		outR.Close()
		statusR.Close()
		<-copied
		<-statusDone
		return Result{}, fmt.Errorf("sandbox: start the supervisor: %w", err)
	}

	defer s.forget(cmd.Process.Pid)
	var res Result
	select {
	case <-waited:
	case <-ctx.Done():
		res.Stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(sp.Grace + stopMargin)
		select {
		case <-waited:
		case <-timer.C:
			// The supervisor did not finish its work; what it had not killed
			// yet is left to Sweep at the next start.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-waited
		}
		timer.Stop()
	}
	// The supervisor is gone and so is everything it started, so the
	// pipes are at their end; the timer only guards against a surprise.
	drain := time.NewTimer(max(sp.Grace, time.Second))
	select {
	case <-copied:
	case <-drain.C:
	}
	drain.Stop()
	outR.Close()
	<-copied
	var lines []string
	select {
	case lines = <-statusDone:
	case <-time.After(time.Second):
	}
	statusR.Close()
	if !reported(lines) {
		// The supervisor died before it could kill what the command
		// started; with AdoptOrphans, that is now the bot's.
		s.killOrphans()
	}
	return parseStatus(res, lines)
}

// parseStatus reads the supervisor's and the launcher's reports.
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
				return res, fmt.Errorf("sandbox: launcher said %q", line)
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
