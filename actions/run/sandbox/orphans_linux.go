package sandbox

// What a supervisor leaves when it dies before its command's end: a
// command that may signal its supervisor (Landlock below ABI 6, or the
// sandbox off, with the bot not root) can kill it with SIGKILL, and a
// process it had moved to a session of its own would live on. With the
// bot a child subreaper such processes become the bot's children, and Run
// kills them.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// AdoptOrphans makes the calling process (the bot) a child subreaper:
// what a dead supervisor's command left becomes its child instead of
// init's, and Run kills it when that supervisor's command ends. The
// process's only children must be this sandbox's supervisors and what they
// leave: Run kills any other child it finds then that carries
// no_new_privs, as every command a spawner starts does. serve calls it once.
func (s *Sandbox) AdoptOrphans() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox: become a subreaper: %w", err)
	}
	s.mu.Lock()
	s.orphans = true
	s.mu.Unlock()
	return nil
}

// start starts a supervisor and notes it, so that the orphan sweep of
// another command spares it.
func (s *Sandbox) start(cmd *exec.Cmd) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	if s.supervisors == nil {
		s.supervisors = map[int]bool{}
	}
	s.supervisors[cmd.Process.Pid] = true
	return nil
}

// forget drops a supervisor that has been waited for.
func (s *Sandbox) forget(pid int) {
	s.mu.Lock()
	delete(s.supervisors, pid)
	s.mu.Unlock()
}

// reported says whether the supervisor said how the command ended, which
// it does only once every process of the command is dead.
func reported(lines []string) bool {
	for _, line := range lines {
		if kind, _, _ := bytes.Cut([]byte(line), []byte(" ")); string(kind) == "exit" || string(kind) == "signal" {
			return true
		}
	}
	return false
}

// killOrphans kills and reaps, generation by generation, the children of
// this process that are neither running supervisors nor free of
// no_new_privs. It returns how many it killed.
func (s *Sandbox) killOrphans() int {
	s.mu.Lock()
	adopting := s.orphans
	s.mu.Unlock()
	if !adopting {
		return 0
	}
	self := os.Getpid()
	killed := 0
	for range 1000 {
		var orphans []int
		s.mu.Lock()
		for pid, st := range allProcs() {
			if st.ppid != self || s.supervisors[pid] {
				continue
			}
			if st.state == "Z" || noNewPrivs(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				orphans = append(orphans, pid)
			}
		}
		s.mu.Unlock()
		if len(orphans) == 0 {
			break
		}
		// Reaping one moves its children here, for the next round.
		for _, pid := range orphans {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
		killed += len(orphans)
	}
	return killed
}

// noNewPrivs reads the NoNewPrivs flag of a process.
func noNewPrivs(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("NoNewPrivs:")); ok {
			return string(bytes.TrimSpace(v)) == "1"
		}
	}
	return false
}
