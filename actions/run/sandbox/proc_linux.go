package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// Probe asks the kernel which Landlock ABI it offers. go-landlock's
// BestEffort mode would silently restrict nothing on a kernel without
// Landlock (or under gVisor), so the answer decides whether commands run.
func Probe() Support {
	abi, err := llsys.LandlockGetABIVersion()
	if err != nil {
		return Support{Err: fmt.Errorf("landlock_create_ruleset: %w", err)}
	}
	if abi < 1 {
		return Support{Err: errors.New("Landlock ABI 0")}
	}
	return Support{ABI: abi}
}

// MarkNonDumpable makes the calling process non-dumpable: a process of the
// same user without CAP_SYS_PTRACE can then neither ptrace it nor read its
// /proc/PID/environ or mem, which hold the bot's secrets. Call it early in
// serve; it stays until the process execs.
func MarkNonDumpable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("mark the process non-dumpable: %w", err)
	}
	return nil
}

// procStat is what /proc/PID/stat says of a process.
type procStat struct {
	state           string
	ppid, pgid, sid int
	start           uint64 // clock ticks after boot
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name, in parentheses, may hold spaces and parentheses:
	// the fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is the state (field 3); ppid is field 4, pgrp 5, session 6,
	// starttime 22.
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var s procStat
	s.state = f[0]
	s.ppid, _ = strconv.Atoi(f[1])
	s.pgid, _ = strconv.Atoi(f[2])
	s.sid, _ = strconv.Atoi(f[3])
	s.start, _ = strconv.ParseUint(f[19], 10, 64)
	return s, nil
}

// allProcs lists every process's stat.
func allProcs() map[int]procStat {
	out := map[int]procStat{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := readStat(pid); err == nil {
			out[pid] = s
		}
	}
	return out
}

func childrenOf(parent int) []int {
	var kids []int
	for pid, s := range allProcs() {
		if s.ppid == parent {
			kids = append(kids, pid)
		}
	}
	return kids
}

// writeRecord notes a supervisor's pid and start time, which together name
// it even after its pid is reused.
func writeRecord(path string, pid int) error {
	s, err := readStat(pid)
	if err != nil {
		return fmt.Errorf("record the supervisor: %w", err)
	}
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d %d\n", pid, s.start), 0o600); err != nil {
		return fmt.Errorf("record the supervisor: %w", err)
	}
	return nil
}

// Sweep kills what a previous run of the bot left behind: every supervisor
// still recorded in the state directory (it kills its own command first)
// and every process still in its session or in its command's group. It
// returns how many processes it signalled. Call it at start, before any
// job runs.
func (s *Sandbox) Sweep() (int, error) {
	if s.cfg.StateDir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(s.cfg.StateDir)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	killed := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "run-") {
			continue
		}
		path := filepath.Join(s.cfg.StateDir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var pid int
		var start uint64
		if _, err := fmt.Sscan(string(b), &pid, &start); err != nil || pid <= 1 {
			_ = os.Remove(path)
			continue
		}
		killed += killLeftovers(pid, start)
		_ = os.Remove(path)
	}
	return killed, nil
}

// killLeftovers stops the supervisor pid (when it is still the one
// recorded) and every process of its session. The supervisor led that
// session, so the session id stays its pid and the kernel does not hand
// the number to a new process while any member lives.
func killLeftovers(pid int, start uint64) int {
	killed := 0
	if st, err := readStat(pid); err == nil && st.start != start {
		// The number belongs to a new process, so no session of the old
		// one is left (a session's id is not reused while it has members).
		return 0
	} else if err == nil && st.state != "Z" {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		killed++
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if st, err := readStat(pid); err != nil || st.start != start {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	signalled := map[int]bool{}
	for round := 0; round < 100; round++ {
		var left []int
		for p, st := range allProcs() {
			// A zombie is dead already; its parent (init, now) reaps it.
			if (st.sid == pid || st.pgid == pid) && st.start >= start && st.state != "Z" {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			break
		}
		for _, p := range left {
			_ = syscall.Kill(p, syscall.SIGKILL)
			signalled[p] = true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return killed + len(signalled)
}
