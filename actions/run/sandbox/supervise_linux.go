package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// message is one message read from a socket.
type message struct {
	payload []byte
	fds     []int
}

// readLoop reads messages from fd until the stream ends, then closes the
// channel.
func readLoop(c *net.UnixConn) <-chan message {
	ch := make(chan message)
	go func() {
		defer close(ch)
		for {
			payload, fds, err := recv(c)
			if err != nil {
				return
			}
			ch <- message{payload, fds}
		}
	}()
	return ch
}

// supervisor is the process that stands between the bot and its commands.
type supervisor struct {
	spawner     int           // pid
	spawnerConn *net.UnixConn // socket to the spawner
	spawnerMsgs <-chan message
	spawnerGone chan struct{} // closed once the spawner is reaped
	spawnerDead bool          // killed or gone: no longer spared
	botMsgs     <-chan message
	sigs        chan os.Signal
}

// supervise runs the bot's commands, one at a time, through its spawner,
// and after each makes sure that nothing the command started is left. As a
// child subreaper it becomes the parent of every orphan below it, so
// nothing can slip away by double-forking or calling setsid. It is itself
// not dumpable, so a command (same user when the bot is not root) cannot
// read its memory. It ends when the bot closes the socket, dies (SIGTERM,
// its parent-death signal) or stops a command (SIGTERM).
func supervise(s setup) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "hubbot sandbox supervisor: "+format+"\n", args...)
		return 126
	}
	bot, err := unixConn(connFD)
	if err != nil {
		return fail("the bot's socket: %v", err)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail("become a subreaper: %v", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fail("mark the supervisor non-dumpable: %v", err)
	}
	sv := &supervisor{sigs: make(chan os.Signal, 4), spawnerGone: make(chan struct{})}
	signal.Notify(sv.sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if s.Record != "" {
		if err := writeRecord(s.Record, os.Getpid()); err != nil {
			return fail("%v", err)
		}
		defer os.Remove(s.Record)
	}
	if err := sv.startSpawner(s); err != nil {
		return fail("%v", err)
	}
	go sv.reap()
	sv.spawnerMsgs = readLoop(sv.spawnerConn)
	sv.botMsgs = readLoop(bot)
	defer sv.shutdown()
	for {
		select {
		case m, ok := <-sv.botMsgs:
			if !ok {
				return 0
			}
			status, again := sv.run(m)
			if err := send(bot, status); err != nil || !again {
				return 0
			}
		case <-sv.sigs:
			return 0
		case _, ok := <-sv.spawnerMsgs:
			if !ok {
				return 0
			}
		}
	}
}

// startSpawner starts the spawner from a thread that stays until the
// spawner is gone: its parent-death signal is tied to that thread.
func (sv *supervisor) startSpawner(s setup) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the spawner: %w", err)
	}
	mine, theirs, err := socketPair()
	if err != nil {
		return err
	}
	s.Record = ""
	arg, _ := json.Marshal(s)
	type started struct {
		pid int
		err error
	}
	ch := make(chan started, 1)
	go func() {
		runtime.LockOSThread()
		pid, err := syscall.ForkExec(self, []string{os.Args[0], launchArg, "spawn", string(arg)}, &syscall.ProcAttr{
			Env:   []string{},
			Files: []uintptr{0, 1, 2, uintptr(theirs)},
			Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
		})
		ch <- started{pid, err}
		if err == nil {
			<-sv.spawnerGone
		}
		// Exiting while locked ends the thread.
	}()
	st := <-ch
	unix.Close(theirs)
	if st.err != nil {
		unix.Close(mine)
		return fmt.Errorf("start the spawner: %w", st.err)
	}
	sv.spawner = st.pid
	if sv.spawnerConn, err = unixConn(mine); err != nil {
		_ = syscall.Kill(st.pid, syscall.SIGKILL)
		return fmt.Errorf("the spawner's socket: %w", err)
	}
	return nil
}

// reap waits for every child: the spawner, and the orphans that the
// kernel hands to a subreaper. Having no child is a pause, not the end:
// once the spawner is gone, its command's children can still be handed
// over.
func (sv *supervisor) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, syscall.ECHILD):
			time.Sleep(time.Millisecond)
		case err != nil:
		case pid == sv.spawner:
			close(sv.spawnerGone)
		}
	}
}

// shutdown ends the spawner and waits for it, so that the CPU time of the
// spawner and of its commands is accounted to this process's parent.
func (sv *supervisor) shutdown() {
	_ = sv.spawnerConn.CloseWrite()
	select {
	case <-sv.spawnerGone:
	case <-time.After(time.Second):
		_ = syscall.Kill(sv.spawner, syscall.SIGKILL)
		<-sv.spawnerGone
	}
}

// run has the spawner start one command, waits for its end or a stop,
// kills every process it left and returns the status lines for the bot,
// and whether this supervisor can take another command.
func (sv *supervisor) run(m message) ([]byte, bool) {
	var req request
	if err := json.Unmarshal(m.payload, &req); err != nil || len(m.fds) != 1 {
		for _, fd := range m.fds {
			unix.Close(fd)
		}
		return []byte("setup: bad request"), false
	}
	err := send(sv.spawnerConn, m.payload, m.fds[0])
	unix.Close(m.fds[0])
	if err != nil {
		return []byte("setup: the spawner is gone"), false
	}
	first, ok := <-sv.spawnerMsgs
	if !ok {
		return []byte("setup: the spawner ended"), false
	}
	head, _, _ := strings.Cut(string(first.payload), "\n")
	rest, isStarted := strings.CutPrefix(head, "started ")
	if !isStarted {
		// Not started: nothing to clean up.
		return first.payload, true
	}
	cmd, err := strconv.Atoi(rest)
	if err != nil || cmd <= 1 {
		return []byte("setup: the spawner said " + strconv.Quote(head)), false
	}

	var end []byte
	again := true
	select {
	case m, ok := <-sv.spawnerMsgs:
		if ok {
			end = m.payload
		} else {
			again = false
		}
	case <-sv.sigs:
		again = false
	case <-sv.botMsgs:
		again = false
	}
	if end == nil && !again {
		end = sv.stop(cmd, req.Grace)
	}
	sv.killAll(cmd)
	if end == nil {
		end = []byte(fmt.Sprintf("signal %d", int(syscall.SIGKILL)))
	}
	if sv.spawnerDead || strings.Contains(string(end), "\nretire") {
		again = false
	}
	return end, again
}

// stop ends a running command: SIGTERM to its group, SIGKILL after the
// grace period. It returns the command's status when the spawner reports
// it; a spawner that does not (stopped by the command) is killed, and the
// command dies with it.
func (sv *supervisor) stop(cmd int, grace time.Duration) []byte {
	_ = syscall.Kill(-cmd, syscall.SIGTERM)
	_ = syscall.Kill(cmd, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for _, sig := range []syscall.Signal{0, syscall.SIGKILL} {
		if sig != 0 {
			_ = syscall.Kill(-cmd, sig)
			_ = syscall.Kill(cmd, sig)
			timer.Reset(time.Second)
		}
		select {
		case m, ok := <-sv.spawnerMsgs:
			if !ok {
				sv.spawnerDead = true
				return nil
			}
			return m.payload
		case <-timer.C:
		}
	}
	_ = syscall.Kill(sv.spawner, syscall.SIGKILL)
	sv.spawnerDead = true
	return nil
}

// killAll kills the command's group and every child of this process but
// the spawner until none is left. The command has ended (or its spawner
// is dead): its children are ours now. Each round kills a generation: the
// children of a killed process are re-parented here and killed in the
// next one. Most commands leave nothing, and then one look at our
// children is all it costs.
func (sv *supervisor) killAll(cmd int) {
	select {
	case <-sv.spawnerGone:
		sv.spawnerDead = true
	default:
	}
	for {
		_ = syscall.Kill(-cmd, syscall.SIGKILL)
		left := 0
		for _, pid := range childrenOfSelf() {
			if pid == sv.spawner && !sv.spawnerDead {
				continue
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
			left++
		}
		if left == 0 {
			return
		}
		time.Sleep(time.Millisecond)
		select {
		case <-sv.spawnerGone:
			sv.spawnerDead = true
		default:
		}
	}
}

// childrenOfSelf lists this process's children, zombies included, from
// /proc/self/task/*/children, or from every process's stat where the
// kernel lacks that file.
func childrenOfSelf() []int {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return childrenOf(os.Getpid())
	}
	var kids []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if errors.Is(err, os.ErrNotExist) && t.Name() == strconv.Itoa(os.Getpid()) {
			return childrenOf(os.Getpid())
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				kids = append(kids, pid)
			}
		}
	}
	return kids
}
