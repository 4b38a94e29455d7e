package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// pickupResult is what the pickup phase measured.
type pickupResult struct {
	N    int
	Rate float64
	// Pickup runs from a delivery's 202 answer to its job's started_at,
	// the moment a worker marked it running (stored in milliseconds, so a
	// value may read up to 1 ms short).
	Pickup distribution
	// FromSend runs from the send of the delivery instead.
	FromSend distribution
	// Run is how long the jobs ran (started_at to finished_at).
	Run      distribution
	States   counts     // final job states
	Errors   errorTally // deliveries not answered 202 with one job
	Unstated int        // jobs not started before the timeout
}

// queuedAnswer is the receiver's 202 body.
type queuedAnswer struct {
	Status string  `json:"status"`
	Jobs   []int64 `json:"jobs"`
}

// apiJob is what the operator API says of a job.
type apiJob struct {
	ID         int64     `json:"id"`
	State      string    `json:"state"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

// pickupPhase sends one delivery per update, at most rate per second and
// each only once the job of the one before has finished, so that a worker
// is always free: what it measures is the time a job waits for a free
// worker to notice it, not a backlog. It asks the bot's API when each job
// started; wait bounds how long one job may take.
func pickupPhase(ctx context.Context, s *sender, apiBase string, updates []refUpdate, build func(refUpdate) ([]byte, error),
	rate float64, wait time.Duration) (pickupResult, error) {
	if rate <= 0 {
		return pickupResult{}, fmt.Errorf("pickup: rate must be positive, not %v", rate)
	}
	res := pickupResult{N: len(updates), Rate: rate, States: counts{}}
	interval := time.Duration(float64(time.Second) / rate)
	var pickup, fromSend, run []time.Duration
	next := time.Now()
	for _, u := range updates {
		if err := sleepUntil(ctx, next); err != nil {
			return pickupResult{}, fmt.Errorf("pickup: %w", err)
		}
		body, err := build(u)
		if err != nil {
			return pickupResult{}, err
		}
		sent := time.Now()
		next = sent.Add(interval)
		a := s.post(ctx, body)
		answered := time.Now()
		var q queuedAnswer
		if a.status != http.StatusAccepted || a.err != nil || json.Unmarshal(a.body, &q) != nil || len(q.Jobs) != 1 {
			res.Errors.add(a)
			continue
		}
		j, err := waitFinished(ctx, s.client, apiBase, q.Jobs[0], wait)
		if err != nil {
			return pickupResult{}, err
		}
		if j.StartedAt.IsZero() {
			res.Unstated++
			continue
		}
		res.States[j.State]++
		pickup = append(pickup, j.StartedAt.Sub(answered))
		fromSend = append(fromSend, j.StartedAt.Sub(sent))
		if !j.FinishedAt.IsZero() {
			run = append(run, j.FinishedAt.Sub(j.StartedAt))
		}
	}
	res.Pickup, res.FromSend, res.Run = summarize(pickup), summarize(fromSend), summarize(run)
	return res, nil
}

// waitFinished polls the operator API (which answers loopback clients
// without a token) until job id has finished or limit has passed, and
// returns what it last said of the job.
func waitFinished(ctx context.Context, client *http.Client, apiBase string, id int64, limit time.Duration) (apiJob, error) {
	deadline := time.Now().Add(limit)
	for {
		j, err := getJob(ctx, client, apiBase, id)
		if err != nil || !j.FinishedAt.IsZero() || time.Now().After(deadline) {
			return j, err
		}
		if err := sleepUntil(ctx, time.Now().Add(25*time.Millisecond)); err != nil {
			return apiJob{}, fmt.Errorf("wait for job %d: %w", id, err)
		}
	}
}

func getJob(ctx context.Context, client *http.Client, apiBase string, id int64) (apiJob, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/jobs/%d", apiBase, id), nil)
	if err != nil {
		return apiJob{}, fmt.Errorf("get job %d: %w", id, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return apiJob{}, fmt.Errorf("get job %d: %w", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiJob{}, fmt.Errorf("get job %d: %s", id, resp.Status)
	}
	var body struct {
		Job apiJob `json:"job"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return apiJob{}, fmt.Errorf("get job %d: %w", id, err)
	}
	return body.Job, nil
}

// sleepUntil waits for t or for ctx to end.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
