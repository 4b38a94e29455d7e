package jobs

import (
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reader follows a log as the dashboard's live tail and `hubbot logs
// --follow` do: from the offset it reached, appending what it is given.
type reader struct {
	text   strings.Builder
	offset int
	resets int
}

func (r *reader) read(log string) {
	c := LogFrom(log, r.offset)
	if c.Reset {
		r.resets++
		r.text.Reset()
	}
	r.text.WriteString(c.Text)
	r.offset = c.Next
}

var cutRE = regexp.MustCompile(`\n\[\.\.\. (\d+) bytes cut \.\.\.\]\n`)

// numbered are lines "line 000042 ...", 64 bytes each.
func numbered(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "line %06d %s\n", i, strings.Repeat("x", 64-13))
	}
	return b.String()
}

// lineNumbers reads the numbers of the numbered lines in text, failing on
// anything else but a cut marker.
func lineNumbers(t *testing.T, text string) []int {
	t.Helper()
	var out []int
	for _, ln := range strings.Split(strings.TrimSuffix(cutRE.ReplaceAllString(text, "\n"), "\n"), "\n") {
		if ln == "" {
			continue
		}
		var n int
		_, err := fmt.Sscanf(ln, "line %d ", &n)
		require.NoError(t, err, "a line that is neither numbered nor a marker: %q", ln)
		out = append(out, n)
	}
	return out
}

func TestLogOffsetsSurviveTheCut(t *testing.T) {
	l := newLog(7, slog.New(slog.DiscardHandler))
	var close, slow, lost reader
	written, total := 0, 0
	write := func(n int) {
		s := numbered(written, n)
		l.Write([]byte(s))
		written += n
		total += len(s)
	}
	write(1600) // 100 KiB: in the head
	close.read(l.String())
	slow.read(l.String())
	write(6400) // 500 KiB: past the head, in the tail
	close.read(l.String())
	lost.read(l.String())
	for range 40 { // 2.5 MiB more, read often: the close reader never falls behind the tail
		write(1000)
		close.read(l.String())
	}
	slow.read(l.String())
	lost.read(l.String())

	final := l.String()
	require.Regexp(t, cutRE, final, "the log was cut")
	assert.Equal(t, total, LogEnd(final), "offsets count what was written, not the text")
	assert.Less(t, len(final), total)

	// The close reader missed nothing: every line once, in order.
	assert.Zero(t, close.resets)
	assert.True(t, numbered(0, written) == close.text.String(), "the close reader has every line once")

	// The slow reader was in the head: it sees what the page shows, marker included.
	assert.Zero(t, slow.resets)
	assert.True(t, final == slow.text.String(), "the slow reader has the log as stored")

	// The lost reader's place was cut away: it is told how much it missed,
	// then gets the tail; no line twice, none out of order.
	assert.Zero(t, lost.resets)
	got := lost.text.String()
	m := cutRE.FindAllStringSubmatch(got, -1)
	require.Len(t, m, 1, "one marker")
	missed, _ := strconv.Atoi(m[0][1])
	assert.Equal(t, total, len(got)-len(m[0][0])+missed, "what it has plus what it missed is the whole log")
	nums := lineNumbers(t, got)
	for i := 1; i < len(nums); i++ {
		require.Greater(t, nums[i], nums[i-1], "lines in order, none twice")
	}
	assert.Equal(t, written-1, nums[len(nums)-1], "up to the last line")

	// A reader that asks past the end starts over.
	var ahead reader
	ahead.offset = total + 1
	ahead.read(final)
	assert.Equal(t, 1, ahead.resets)
	assert.True(t, final == ahead.text.String(), "a reset gives the whole log")

	// A retry's log starts from the earlier attempt's, cut where it was.
	again := newLog(7, slog.New(slog.DiscardHandler))
	again.restore(final)
	assert.True(t, final == again.String(), "restored as it was")
	assert.Equal(t, total, LogEnd(again.String()))
	again.Write([]byte("attempt 2\n"))
	slow.read(again.String())
	assert.True(t, final+"attempt 2\n" == slow.text.String(), "a reader goes on across attempts")
}

func TestSplitLogNeedsARealCut(t *testing.T) {
	// Output that prints a marker is text: only one right after a full
	// head, in a log that long, is a cut.
	short := "hello\n[... 99 bytes cut ...]\nworld\n"
	assert.Equal(t, len(short), LogEnd(short))
	long := strings.Repeat("a", logHeadCap) + "\n[... not a number bytes cut ...]\n" + "tail"
	assert.Equal(t, len(long), LogEnd(long))
	real := strings.Repeat("a", logHeadCap) + cutMarker(1000) + "tail"
	assert.Equal(t, logHeadCap+1000+4, LogEnd(real))
}
