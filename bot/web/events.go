package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hubbot/hubbot/bot/jobs"
)

// jobEvents follows a job's log as server-sent events: "log" events carry
// what the log gained ({"text", "reset"}) with the byte offset reached as
// the event id, so a reconnecting browser resumes where it was; one "state"
// event ({"state", "conclusion", "summary"}) ends the stream when the job
// ends.
func (s *Server) jobEvents(c *gin.Context) {
	job, ok := s.visibleJob(c)
	if !ok {
		return
	}
	offset, err := strconv.Atoi(c.GetHeader("Last-Event-ID"))
	if err != nil {
		offset, _ = strconv.Atoi(c.Query("from"))
	}
	w := c.Writer
	// The server's write timeout is for pages; a followed log may run long.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	w.Flush()

	ctx := c.Request.Context()
	tick := time.NewTicker(s.opts.PollInterval)
	defer tick.Stop()
	for {
		chunk, err := s.store.LogSince(ctx, job.ID, offset)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("follow log", "job", job.ID, "error", err)
			}
			return
		}
		done := jobs.Terminal(chunk.State)
		text, next := chunk.Text, chunk.Next
		if !done { // keep back the tail until it is complete; see holdback
			cut := safeCut(text, len(text)-s.holdback(text))
			next -= len(text) - cut
			text = text[:cut]
		}
		if text != "" || chunk.Reset {
			data, _ := json.Marshal(map[string]any{"text": s.redact(text), "reset": chunk.Reset})
			fmt.Fprintf(w, "id: %d\nevent: log\ndata: %s\n\n", next, data)
			offset = next
		}
		if done {
			fresh, err := s.store.Job(ctx, job.ID)
			if err == nil {
				data, _ := json.Marshal(map[string]string{"state": string(fresh.State), "conclusion": fresh.Conclusion,
					"summary": s.redact(fresh.Summary)})
				fmt.Fprintf(w, "event: state\ndata: %s\n\n", data)
			}
			w.Flush()
			return
		}
		w.Flush()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
