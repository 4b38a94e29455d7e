package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel send the bot SIGTERM if the benchmark dies
// without stopping it, so that no bot outlives a killed run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
