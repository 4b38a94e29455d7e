package web_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	id, event, data string
}

// follow opens a job's event stream from offset and returns its events.
func follow(t *testing.T, w *world, id int64, offset int) <-chan sseEvent {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, fmt.Sprintf("%s/jobs/%d/events?from=%d", w.url, id, offset), nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events := make(chan sseEvent, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 8<<20) // a log event may carry the whole log
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if ev.event != "" { // not the retry: line
					events <- ev
				}
				ev = sseEvent{}
				continue
			}
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "id":
				ev.id = v
			case "event":
				ev.event = v
			case "data":
				ev.data = v
			}
		}
	}()
	return events
}

func nextEvent(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case e, ok := <-events:
		require.True(t, ok, "the stream ended")
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return sseEvent{}
	}
}

type logEvent struct {
	Text  string `json:"text"`
	Reset bool   `json:"reset"`
}

func decodeLog(t *testing.T, e sseEvent) logEvent {
	t.Helper()
	require.Equal(t, "log", e.event)
	var l logEvent
	require.NoError(t, json.Unmarshal([]byte(e.data), &l))
	return l
}

// numberedLines are n lines of 64 bytes, numbered from "from".
func numberedLines(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "line %06d %s\n", i, strings.Repeat("x", 64-13))
	}
	return b.String()
}

var (
	offsetRE = regexp.MustCompile(`data-offset="(\d+)"`)
	markerRE = regexp.MustCompile(`^\n\[\.\.\. (\d+) bytes cut \.\.\.\]\n`)
)

func pageOffset(t *testing.T, page string) int {
	t.Helper()
	m := offsetRE.FindStringSubmatch(page)
	require.NotNil(t, m, "a running job's page says where its live log starts")
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// TestLiveLogAcrossTheCut: a log that outgrows its cap loses its middle.
// The page shows where, and a reader who was following, from the page or
// from a dropped connection, is told how much it missed and goes on with
// the tail: no reset, nothing twice.
func TestLiveLogAcrossTheCut(t *testing.T) {
	w := newWorld(t, worldOpts{})
	id := w.push(t, w.public, "convert", jobs.StateRunning)
	log := <-w.started
	jobPage := fmt.Sprintf("%s/jobs/%d", w.url, id)

	log.Write([]byte(numberedLines(0, 5000))) // 320 kB: past the log's head
	before := get(t, http.DefaultClient, jobPage)
	require.Equal(t, http.StatusOK, before.status)
	assert.NotContains(t, before.body, "bytes cut")
	at := pageOffset(t, before.body)

	more := numberedLines(5000, 30000) // 1.9 MB while that reader is away
	log.Write([]byte(more))
	after := get(t, http.DefaultClient, jobPage)
	assert.Regexp(t, `\[\.\.\. \d+ bytes cut \.\.\.\]`, after.body, "the page shows where the log was cut")
	assert.Contains(t, after.body, "line 034999", "and its tail")
	atAfter := pageOffset(t, after.body)
	assert.Equal(t, at+len(more), atAfter, "offsets count what was written, not the text kept")

	// The reader from the first page view comes back.
	events := follow(t, w, id, at)
	back := nextEvent(t, events)
	got := decodeLog(t, back)
	assert.False(t, got.Reset, "nothing shown is taken back")
	m := markerRE.FindStringSubmatch(got.Text)
	require.NotNil(t, m, "it starts with how much was missed: %.80q", got.Text)
	missed, _ := strconv.Atoi(m[1])
	assert.Equal(t, len(more), missed+len(got.Text)-len(m[0]), "what it missed plus what it got is what was written")
	assert.True(t, strings.HasSuffix(got.Text, numberedLines(34999, 1)), "up to the last line")
	assert.Equal(t, strconv.Itoa(atAfter), back.id, "the event id is the offset reached")

	// The reader of the second page view gets only what follows.
	fresh := follow(t, w, id, atAfter)
	log.Printf("still converting after the cut")
	for _, ch := range []<-chan sseEvent{events, fresh} {
		e := decodeLog(t, nextEvent(t, ch))
		assert.False(t, e.Reset)
		assert.Contains(t, e.Text, "still converting after the cut")
		assert.NotContains(t, e.Text, "line 0", "nothing twice")
	}
	w.finish(id)
	for _, ch := range []<-chan sseEvent{events, fresh} {
		var last sseEvent
		for e := range ch {
			last = e
		}
		assert.Equal(t, "state", last.event)
		assert.Contains(t, last.data, `"state":"succeeded"`)
	}
	done := get(t, http.DefaultClient, jobPage)
	assert.Regexp(t, `\[\.\.\. \d+ bytes cut \.\.\.\]`, done.body, "the finished job's page keeps the marker")
	assert.Contains(t, done.body, "conversion done")
}
