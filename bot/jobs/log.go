package jobs

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Log is a job's log: what it did, with command output. It keeps the head
// and the tail when it grows past its cap, and mirrors each line to slog
// with the job id.
type Log struct {
	mu      sync.Mutex
	jobID   int64
	slog    *slog.Logger
	head    strings.Builder
	tail    []byte // ring of the last tailCap bytes once head is full
	dropped int64
}

const (
	logHeadCap = 256 << 10
	logTailCap = 768 << 10
)

func newLog(jobID int64, l *slog.Logger) *Log {
	return &Log{jobID: jobID, slog: l.With("job_id", jobID)}
}

// Printf adds a timestamped line.
func (l *Log) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.slog.Info(msg)
	l.write(time.Now().UTC().Format("15:04:05 ") + msg + "\n")
}

// Write adds raw output (from an action), keeping head and tail.
func (l *Log) Write(p []byte) (int, error) {
	l.write(string(p))
	return len(p), nil
}

// Logger returns the slog logger carrying the job id.
func (l *Log) Logger() *slog.Logger { return l.slog }

func (l *Log) write(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := logHeadCap - l.head.Len(); room > 0 {
		n := min(room, len(s))
		l.head.WriteString(s[:n])
		s = s[n:]
	}
	if s == "" {
		return
	}
	l.tail = append(l.tail, s...)
	if over := len(l.tail) - logTailCap; over > 0 {
		l.dropped += int64(over)
		l.tail = append(l.tail[:0], l.tail[over:]...)
	}
}

// String returns the log, with a marker where the middle was cut.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped == 0 {
		return l.head.String() + string(l.tail)
	}
	return fmt.Sprintf("%s\n[... %d bytes cut ...]\n%s", l.head.String(), l.dropped, l.tail)
}
