package main

// `hubbot jobs` and `hubbot logs`: the operator API from a shell.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubbot/hubbot/bot/jobs"
)

// apiJob is a job as GET /api/jobs and /api/jobs/{id} answer it.
type apiJob struct {
	ID   int64 `json:"id"`
	Spec struct {
		Kind       string `json:"kind"`
		Action     string `json:"action"`
		Repo       any    `json:"repo"`
		Ref        string `json:"ref"`
		SHA        string `json:"sha"`
		Discussion int    `json:"discussion"`
	} `json:"spec"`
	State     string    `json:"state"`
	Summary   string    `json:"summary"`
	CreatedAt time.Time `json:"created_at"`
	Log       string    `json:"log"`
}

// repoName renders the spec's repo as the API encodes it: {"type","id"}.
func (j *apiJob) repoName() string {
	m, ok := j.Spec.Repo.(map[string]any)
	if !ok {
		return fmt.Sprint(j.Spec.Repo)
	}
	id, _ := m["id"].(string)
	switch m["type"] {
	case "dataset":
		return "datasets/" + id
	case "space":
		return "spaces/" + id
	}
	return id
}

// apiClient calls a running bot's /api with HUBBOT_ADMIN_TOKEN.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(rawURL string, getenv func(string) string) (*apiClient, error) {
	if rawURL == "" {
		port := getenv("PORT")
		if port == "" {
			port = "7860"
		}
		rawURL = "http://127.0.0.1:" + port
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q is not an http(s) URL", rawURL)
	}
	return &apiClient{base: strings.TrimRight(rawURL, "/"), token: strings.TrimSpace(getenv("HUBBOT_ADMIN_TOKEN")),
		http: &http.Client{Timeout: 30 * time.Second}}, nil
}

func (c *apiClient) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("ask %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read the answer of %s: %w", c.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%s wants HUBBOT_ADMIN_TOKEN (401: %s)", c.base, e.Error)
		case resp.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%s: not found", path)
		case e.Error != "":
			return fmt.Errorf("%s answered %d: %s", c.base, resp.StatusCode, e.Error)
		}
		return fmt.Errorf("%s answered %d", c.base, resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("read the answer of %s: %w", c.base, err)
	}
	return nil
}

// jobsCmd lists jobs through the API, newest first.
func jobsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := newFlags("jobs", stderr)
	apiURL := fs.String("url", "", "the bot's base URL (default http://127.0.0.1:$PORT, port 7860)")
	repo := fs.String("repo", "", "only jobs of this repo (org/name, datasets/org/name)")
	state := fs.String("state", "", "only jobs in this state: queued, running, succeeded, failed, cancelled, skipped")
	action := fs.String("action", "", "only jobs of this action")
	limit := fs.Int("limit", 30, "how many jobs, at most 1000")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return usageError(stderr, "jobs", err)
	}
	c, err := newAPIClient(*apiURL, getenv)
	if err != nil {
		return usagef(stderr, "jobs", "%v", err)
	}
	q := url.Values{}
	for k, v := range map[string]string{"repo": *repo, "state": *state, "action": *action} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("limit", strconv.Itoa(*limit))
	var out struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	if err := c.get(ctx, "/api/jobs?"+q.Encode(), &out); err != nil {
		return fail(stderr, "jobs: %v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(stderr, "jobs: %v", err)
		}
		return 0
	}
	if len(out.Jobs) == 0 {
		fmt.Fprintln(stdout, "no jobs")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tACTION\tREPO\tREF\tSHA\tCREATED\tSUMMARY")
	for _, raw := range out.Jobs {
		var j apiJob
		if err := json.Unmarshal(raw, &j); err != nil {
			return fail(stderr, "jobs: read a job: %v", err)
		}
		what := j.Spec.Action
		if what == "" {
			what = j.Spec.Kind
		}
		sha := j.Spec.SHA
		if len(sha) > 8 {
			sha = sha[:8]
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.State, what, j.repoName(), j.Spec.Ref, sha,
			j.CreatedAt.Local().Format("2006-01-02 15:04"), shorten(j.Summary, 60))
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}

// logsCmd prints a job's log; with --follow it prints what the log gains
// until the job ends.
func logsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := newFlags("logs", stderr)
	apiURL := fs.String("url", "", "the bot's base URL (default http://127.0.0.1:$PORT, port 7860)")
	follow := fs.Bool("follow", false, "keep printing the log until the job ends")
	fs.BoolVar(follow, "f", false, "short for --follow")
	interval := fs.Duration("interval", time.Second, "how often --follow asks")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return usageError(stderr, "logs", err)
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return usagef(stderr, "logs", "job id %q is not a number", pos[0])
	}
	if *interval <= 0 {
		return usagef(stderr, "logs", "--interval must be positive")
	}
	c, err := newAPIClient(*apiURL, getenv)
	if err != nil {
		return usagef(stderr, "logs", "%v", err)
	}
	printed := 0
	for {
		var out struct {
			Job apiJob `json:"job"`
		}
		if err := c.get(ctx, fmt.Sprintf("/api/jobs/%d", id), &out); err != nil {
			if errors.Is(err, context.Canceled) || ctx.Err() != nil {
				return 1
			}
			return fail(stderr, "logs: %v", err)
		}
		// Offsets count bytes written, so they survive the cut of a long
		// log's middle: a marker says what was missed, then the tail.
		chunk := jobs.LogFrom(out.Job.Log, printed)
		if chunk.Reset {
			fmt.Fprintln(stdout, "[... the log was rewritten; printing it again ...]")
		}
		io.WriteString(stdout, chunk.Text)
		printed = chunk.Next
		if !*follow || terminalState(out.Job.State) {
			if *follow {
				fmt.Fprintf(stderr, "hubbot: logs: job %d %s\n", id, out.Job.State)
			}
			return 0
		}
		select {
		case <-ctx.Done():
			return 1
		case <-time.After(*interval):
		}
	}
}

func terminalState(s string) bool {
	switch s {
	case "succeeded", "failed", "cancelled", "skipped":
		return true
	}
	return false
}
