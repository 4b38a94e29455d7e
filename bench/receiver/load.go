package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// repoInfo is the repo the payloads name, as the Hub describes it.
type repoInfo struct {
	Name    string // "namespace/name"
	ID      string // 24-hex ObjectId
	OwnerID string
	Web     string // web URL of the repo
	API     string // API URL of the repo
	Head    string // head of main
}

// refUpdate is one entry of updatedRefs. An empty Old is a new ref (null).
type refUpdate struct {
	Ref string
	Old string
	New string
}

// v3 payload shapes, written from the Hub's documented sample rather than
// from hubbot's own types, so that the benchmark cannot agree with a
// decoder that drifted from the Hub.
type (
	v3Payload struct {
		Event       v3Event   `json:"event"`
		Repo        v3Repo    `json:"repo"`
		UpdatedRefs []v3Ref   `json:"updatedRefs"`
		Webhook     v3Webhook `json:"webhook"`
	}
	v3Event struct {
		Action string `json:"action"`
		Scope  string `json:"scope"`
	}
	v3Repo struct {
		Type    string  `json:"type"`
		Name    string  `json:"name"`
		ID      string  `json:"id"`
		Private bool    `json:"private"`
		URL     v3URL   `json:"url"`
		HeadSHA string  `json:"headSha"`
		Owner   v3Owner `json:"owner"`
	}
	v3URL struct {
		Web string `json:"web"`
		API string `json:"api"`
	}
	v3Owner struct {
		ID string `json:"id"`
	}
	v3Ref struct {
		Ref    string  `json:"ref"`
		OldSHA *string `json:"oldSha"`
		NewSHA *string `json:"newSha"`
	}
	v3Webhook struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	}
)

// benchWebhookID stands for the id of the webhook configuration on the Hub.
const benchWebhookID = "6390e855e30d9209411de93b"

// contentPayload is the body the Hub sends when u is pushed to r.
func contentPayload(r repoInfo, u refUpdate) ([]byte, error) {
	p := v3Payload{
		Event: v3Event{Action: "update", Scope: "repo.content"},
		Repo: v3Repo{Type: "model", Name: r.Name, ID: r.ID, URL: v3URL{Web: r.Web, API: r.API},
			HeadSHA: r.Head, Owner: v3Owner{ID: r.OwnerID}},
		UpdatedRefs: []v3Ref{{Ref: u.Ref, NewSHA: &u.New}},
		Webhook:     v3Webhook{ID: benchWebhookID, Version: 3},
	}
	if u.Old != "" {
		p.UpdatedRefs[0].OldSHA = &u.Old
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("build payload for %s: %w", u.Ref, err)
	}
	return b, nil
}

// refSource hands out pushes of new branches that no other delivery of the
// run names, so that the bot never takes one for a replay. It is safe for
// concurrent use.
type refSource struct {
	prefix string // unique to the run and phase
	n      atomic.Int64
}

func (s *refSource) next() refUpdate {
	ref := fmt.Sprintf("refs/heads/%s-%d", s.prefix, s.n.Add(1))
	sum := sha1.Sum([]byte(ref)) // a well-formed sha, unique per ref
	return refUpdate{Ref: ref, New: hex.EncodeToString(sum[:])}
}

// sender posts deliveries to the bot over keep-alive connections; with
// several URLs (replicas), to each in turn, as a load balancer would.
type sender struct {
	client *http.Client
	url    string
	more   []string // further replicas, round-robin with url
	next   atomic.Uint64
	secret string
}

// target is the URL of the next delivery.
func (s *sender) target() string {
	if len(s.more) == 0 {
		return s.url
	}
	i := int(s.next.Add(1) % uint64(len(s.more)+1))
	if i == 0 {
		return s.url
	}
	return s.more[i-1]
}

// newSender returns a sender that keeps up to conns connections open.
func newSender(url, secret string, conns int) *sender {
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &sender{client: &http.Client{Transport: tr, Timeout: time.Minute}, url: url, secret: secret}
}

// answer is the bot's answer to one delivery; status is 0 when the request
// failed before an answer arrived.
type answer struct {
	status int
	body   []byte
	err    error
}

// label names an answer for error tallies.
func (a answer) label() string {
	if a.status == 0 {
		return "transport error"
	}
	return fmt.Sprintf("HTTP %d", a.status)
}

// post sends one delivery and reads the whole answer, so that the
// connection goes back to the pool.
func (s *sender) post(ctx context.Context, body []byte) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target(), bytes.NewReader(body))
	if err != nil {
		return answer{err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", s.secret)
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return answer{status: resp.StatusCode, err: fmt.Errorf("read answer: %w", err)}
	}
	return answer{status: resp.StatusCode, body: b}
}

// errorTally counts failed deliveries by kind and keeps the first
// transport error, which says more than a count.
type errorTally struct {
	counts counts
	first  error
}

func (t *errorTally) add(a answer) {
	if t.counts == nil {
		t.counts = counts{}
	}
	t.counts[a.label()]++
	if t.first == nil && a.err != nil {
		t.first = a.err
	}
}

func (t *errorTally) merge(o errorTally) {
	for k, v := range o.counts {
		if t.counts == nil {
			t.counts = counts{}
		}
		t.counts[k] += v
	}
	if t.first == nil {
		t.first = o.first
	}
}

func (t errorTally) String() string {
	s := t.counts.String()
	if t.first != nil {
		s += fmt.Sprintf(" (first transport error: %v)", t.first)
	}
	return s
}

// closedResult is what a closed-loop run measured.
type closedResult struct {
	Conns    int
	Window   time.Duration // measured time, after the warm-up
	Accepted int           // 202 answers completed in the window
	Latency  distribution  // of those answers
	Errors   errorTally    // non-202 answers and failures, warm-up included
	Sent     int           // every request, warm-up included
	// BySecond counts 202 answers in each second from the start, warm-up
	// included, to show a trend that one rate hides.
	BySecond []int
}

// PerSecond is the sustained rate of accepted deliveries.
func (r closedResult) PerSecond() float64 { return float64(r.Accepted) / r.Window.Seconds() }

// closedLoop keeps conns deliveries in flight: each connection sends the
// next one as soon as the previous is answered. Answers completed during
// the warm-up or after the window are not measured; errors always count.
func closedLoop(ctx context.Context, s *sender, build func() ([]byte, error), conns int, warmup, window time.Duration) (closedResult, error) {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+window)
	type worker struct {
		lat    []time.Duration
		ok     []time.Duration // since start, of every 202
		errs   errorTally
		sent   int
		buildE error
	}
	ws := make([]worker, conns)
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(to) {
				body, err := build()
				if err != nil {
					w.buildE = err
					return
				}
				sent := time.Now()
				a := s.post(ctx, body)
				done := time.Now()
				w.sent++
				if a.status != http.StatusAccepted || a.err != nil {
					if ctx.Err() == nil {
						w.errs.add(a)
					}
					continue
				}
				w.ok = append(w.ok, done.Sub(start))
				if !done.Before(from) && !done.After(to) {
					w.lat = append(w.lat, done.Sub(sent))
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return closedResult{}, fmt.Errorf("closed loop: %w", err)
	}
	res := closedResult{Conns: conns, Window: window, BySecond: make([]int, int((warmup+window+time.Second-1)/time.Second))}
	var lat []time.Duration
	for _, w := range ws {
		if w.buildE != nil {
			return closedResult{}, w.buildE
		}
		for _, d := range w.ok {
			if i := int(d / time.Second); i < len(res.BySecond) {
				res.BySecond[i]++
			}
		}
		lat = append(lat, w.lat...)
		res.Errors.merge(w.errs)
		res.Sent += w.sent
	}
	res.Accepted = len(lat)
	res.Latency = summarize(lat)
	return res, nil
}

// openResult is what an open-loop run measured.
type openResult struct {
	Rate     float64
	Window   time.Duration
	Measured int // requests scheduled in the window
	Accepted int
	// Latency runs from the time a request was due to its answer, so a
	// stall counts against every request it delayed, not only the one
	// that was in flight (no coordinated omission).
	Latency distribution
	// Service runs from the actual send to the answer.
	Service distribution
	// Lag is how late the generator sent requests; when it is large, the
	// machine rather than the bot was slow to schedule the generator.
	Lag    distribution
	Errors errorTally // warm-up included
	Sent   int
}

// errMaxInFlight stops an open-loop run that would need more connections
// than allowed: the bot is not keeping up with the rate.
var errMaxInFlight = errors.New("too many deliveries in flight")

// openLoop sends deliveries on a fixed schedule, rate per second, whatever
// the bot's answers take: request i is due at start + i/rate. Only requests
// due after the warm-up are measured.
func openLoop(ctx context.Context, s *sender, build func() ([]byte, error), rate float64, warmup, window time.Duration, maxInFlight int) (openResult, error) {
	if rate <= 0 {
		return openResult{}, fmt.Errorf("open loop: rate must be positive, not %v", rate)
	}
	interval := time.Duration(float64(time.Second) / rate)
	n := int((warmup + window) / interval)
	skip := int(warmup / interval)
	type sample struct {
		due, sent, done time.Time
		a               answer
	}
	samples := make([]sample, n)
	sem := make(chan struct{}, maxInFlight)
	// Cancelled when the run is given up, so that stuck requests do not
	// hold the result back.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now().Add(10 * time.Millisecond)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var stopErr error
	sent := 0
dispatch:
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				stopErr = ctx.Err()
				break dispatch
			case <-timer.C:
			}
		}
		select {
		case sem <- struct{}{}:
		default:
			stopErr = fmt.Errorf("%w: %d after %d requests", errMaxInFlight, maxInFlight, i)
			break dispatch
		}
		body, err := build()
		if err != nil {
			<-sem
			stopErr = err
			break dispatch
		}
		sent++
		wg.Go(func() {
			defer func() { <-sem }()
			sample := &samples[i]
			sample.due, sample.sent = due, time.Now()
			sample.a = s.post(runCtx, body)
			sample.done = time.Now()
		})
	}
	if stopErr != nil {
		cancel()
		wg.Wait()
		return openResult{}, fmt.Errorf("open loop at %v/s: %w", rate, stopErr)
	}
	wg.Wait()
	res := openResult{Rate: rate, Window: window, Sent: sent}
	var lat, service, lag []time.Duration
	for i, sm := range samples {
		if sm.a.status != http.StatusAccepted || sm.a.err != nil {
			res.Errors.add(sm.a)
			continue
		}
		if i < skip {
			continue
		}
		lat = append(lat, sm.done.Sub(sm.due))
		service = append(service, sm.done.Sub(sm.sent))
		lag = append(lag, max(0, sm.sent.Sub(sm.due)))
	}
	res.Measured = n - skip
	res.Accepted = len(lat)
	res.Latency, res.Service, res.Lag = summarize(lat), summarize(service), summarize(lag)
	return res, nil
}
