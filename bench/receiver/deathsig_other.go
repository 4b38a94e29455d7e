//go:build !linux

package main

import "os/exec"

// dieWithParent does nothing where the kernel offers no parent-death
// signal; a killed run may leave its bot behind there.
func dieWithParent(*exec.Cmd) {}
