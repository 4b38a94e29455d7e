//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"io"
	"syscall"
)

var errNoLinux = errors.New("the sandbox needs Linux (Landlock, subreapers)")

// Result is how a command ended.
type Result struct {
	ExitCode int
	Signal   syscall.Signal
	Stopped  bool
	ExecErr  error
}

type pool struct{}

// Close has nothing to close off Linux.
func (s *Sandbox) Close() error { return nil }

// Launch does nothing off Linux.
func Launch() {}

// Probe reports that there is no Landlock.
func Probe() Support { return Support{Err: errNoLinux} }

// MarkNonDumpable is not available off Linux.
func MarkNonDumpable() error { return errNoLinux }

// AdoptOrphans is not available off Linux.
func (s *Sandbox) AdoptOrphans() error { return errNoLinux }

// Sweep has nothing to do off Linux.
func (s *Sandbox) Sweep() (int, error) { return 0, nil }

// Run refuses: commands need Linux.
func (s *Sandbox) Run(context.Context, Spec, io.Writer) (Result, error) {
	return Result{}, errNoLinux
}
