//go:build unix

package run

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// execution is how a command ended.
type execution struct {
	started  bool
	exitCode int            // when it exited
	signal   syscall.Signal // when a signal ended it; 0 otherwise
	stopped  bool           // we stopped it because ctx was done
}

// execute runs cmd in its own process group with stdin on /dev/null and
// stdout and stderr on one pipe drained into out. When ctx is done the whole
// group gets SIGTERM, then SIGKILL after grace. When the command itself
// ends, what it left running in its group is killed, and its output is read
// for at most grace more: a process that left the group (a daemon starting a
// session of its own) escapes the kill and may hold the pipe, but not keep
// execute waiting. execute returns once nothing writes to out any more.
func execute(ctx context.Context, cmd *exec.Cmd, out io.Writer, grace time.Duration) (execution, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return execution{}, err
	}
	cmd.Stdin = nil // os/exec opens /dev/null
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, pr) // ends at EOF, or when pr is closed below
	}()
	err = cmd.Start()
	pw.Close() // the children hold their own copies
	if err != nil {
		pr.Close()
		<-copied
		return execution{}, err
	}
	pgid := cmd.Process.Pid

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var res execution
	res.started = true
	select {
	case err = <-waited:
	case <-ctx.Done():
		res.stopped = true
		killGroup(pgid, syscall.SIGTERM)
		timer := time.NewTimer(grace)
		select {
		case err = <-waited:
			timer.Stop()
		case <-timer.C:
			killGroup(pgid, syscall.SIGKILL)
			err = <-waited
		}
	}
	// Nothing the command started outlives it.
	killGroup(pgid, syscall.SIGKILL)

	drain := time.NewTimer(grace)
	select {
	case <-copied:
	case <-drain.C:
	}
	drain.Stop()
	pr.Close()
	<-copied

	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return res, err
	}
	state := cmd.ProcessState
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.signal = ws.Signal()
	} else {
		res.exitCode = state.ExitCode()
	}
	return res, nil
}

// killGroup signals every process of a group; a group that is gone already
// is not an error.
func killGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
}
