package jobs

import (
	"fmt"
	"log/slog"
	"strconv"
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

// restore starts the log from what an earlier attempt left, as String
// rendered it, cut where that one was, so that offsets stay what they were.
func (l *Log) restore(s string) {
	head, dropped, tail := splitLog(s)
	l.write(head)
	l.mu.Lock()
	l.dropped += int64(dropped)
	l.mu.Unlock()
	l.write(tail)
}

// String returns the log, with a marker where the middle was cut.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped == 0 {
		return l.head.String() + string(l.tail)
	}
	return l.head.String() + cutMarker(l.dropped) + string(l.tail)
}

// cutMarker stands where n bytes of a log were cut.
func cutMarker(n int64) string { return fmt.Sprintf("\n[... %d bytes cut ...]\n", n) }

// splitLog reads a log as String renders it: the head, how many bytes were
// cut after it, and the tail. A log that was never cut is all head. Only a
// marker right after a full head counts, so output that merely prints one
// is text like any other.
func splitLog(s string) (head string, dropped int, tail string) {
	if len(s) <= logHeadCap {
		return s, 0, ""
	}
	rest, ok := strings.CutPrefix(s[logHeadCap:], "\n[... ")
	if !ok {
		return s, 0, ""
	}
	num, after, ok := strings.Cut(rest, " bytes cut ...]\n")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || len(num) > 19 {
		return s, 0, ""
	}
	return s[:logHeadCap], n, after
}

// LogFrom returns what log (a job's log as stored) holds after offset.
// Offsets count bytes written to the log, not bytes of the text: once the
// middle of a long log is cut, an offset a reader reached stays valid, and
// a reader whose place was cut away gets a marker saying how much it
// missed, then the tail. An offset the log never reached resets the reader.
func LogFrom(log string, offset int) LogChunk {
	head, dropped, tail := splitLog(log)
	end := len(head) + dropped + len(tail)
	c := LogChunk{Next: end}
	switch {
	case offset < 0 || offset > end:
		c.Reset, c.Text = true, log
	case offset <= len(head):
		c.Text = log[offset:]
	case offset < len(head)+dropped:
		c.Text = cutMarker(int64(len(head)+dropped-offset)) + tail
	default:
		c.Text = tail[offset-len(head)-dropped:]
	}
	return c
}

// LogEnd is the offset (see LogFrom) reached by the end of log.
func LogEnd(log string) int {
	head, dropped, tail := splitLog(log)
	return len(head) + dropped + len(tail)
}
