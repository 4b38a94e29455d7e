//go:build !unix

package run

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// execution is how a command ended.
type execution struct {
	started  bool
	exitCode int
	signal   syscall.Signal
	stopped  bool
}

// execute needs process groups to stop a command and everything it started,
// which this platform does not have.
func execute(context.Context, *exec.Cmd, io.Writer, time.Duration) (execution, error) {
	return execution{}, errors.New("the run action needs a Unix system (process groups)")
}
