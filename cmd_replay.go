package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hubbot/hubbot/bot"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
)

const replayHelp = `
Send saved webhook payloads (JSON files, as the Hub posts them) to a running
bot and print each answer. With --local no server is needed: each payload
goes through the real receiver (the secret check aside) and router, against
the configuration, and hubbot prints what would happen: ignored and why, or
the jobs that would be queued. --local writes nothing and calls no Hub.
With --run as well, the jobs run in a dry-run bot in this process: they read
the repos from the Hub (HF_ENDPOINT) and every write they would make, such as
a comment, is printed with their logs instead of sent.`

func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := newFlags("replay", stderr)
	port := getenv("PORT")
	if port == "" {
		port = "7860"
	}
	url := fs.String("url", "http://127.0.0.1:"+port+"/webhooks/hub", "the bot's webhook `URL`")
	secret := fs.String("secret", "", "send the webhook secret `S` (default: the first of $WEBHOOK_SECRET, else the dry-run secret kept in the data dir)")
	local := fs.Bool("local", false, "route the payloads in this process instead of posting them")
	cfgPath := fs.String("config", "", "with --local: "+configUsage)
	runJobs := fs.Bool("run", false, "with --local: run the jobs in dry-run, reading from the Hub, and print their logs with the would-be comments")
	files, err := parseArgs(fs, args, 1, -1)
	if err != nil {
		return usageError(stderr, "replay", err)
	}
	if *runJobs && !*local {
		return usagef(stderr, "replay", "--run needs --local")
	}
	if *local {
		cfg, err := config.Load(*cfgPath, getenv)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		if *runJobs {
			return replayRun(ctx, cfg, files, stdout, stderr)
		}
		return replayLocal(ctx, cfg, files, stdout, stderr)
	}
	sent, source := replaySecret(*secret, getenv)
	client := &http.Client{Timeout: 30 * time.Second}
	code := 0
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			code = fail(stderr, "replay: %v", err)
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
		if err != nil {
			return usagef(stderr, "replay", "--url %q: %v", *url, err)
		}
		req.Header.Set("Content-Type", "application/json")
		if sent != "" {
			req.Header.Set("X-Webhook-Secret", sent)
		}
		resp, err := client.Do(req)
		if err != nil {
			code = fail(stderr, "replay: %s: %v", file, err)
			continue
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		fmt.Fprintf(stdout, "%s: %d %s\n", file, resp.StatusCode, strings.TrimSpace(string(answer)))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			fmt.Fprintln(stderr, replayRefused(resp.StatusCode, source))
			return 1
		}
		if resp.StatusCode >= 300 {
			code = 1
		}
	}
	return code
}

// replayLocal prints what the bot would make of each payload.
func replayLocal(ctx context.Context, cfg *config.Config, files []string, stdout, stderr io.Writer) int {
	code := 0
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			code = fail(stderr, "replay: %v", err)
			continue
		}
		d, err := bot.RouteLocal(ctx, cfg, body)
		if err != nil {
			code = fail(stderr, "replay: %s: %v", file, err)
			continue
		}
		switch d.Outcome {
		case "rejected":
			fmt.Fprintf(stdout, "%s: rejected (%d): %s\n", file, d.Status, d.Reason)
			code = 1
		case "ignored":
			fmt.Fprintf(stdout, "%s: ignored: %s\n", file, d.Reason)
		default:
			fmt.Fprintf(stdout, "%s: would queue %d job%s\n", file, len(d.Jobs), plural(len(d.Jobs)))
			for _, j := range d.Jobs {
				fmt.Fprintf(stdout, "  %s\n", describeJob(j))
			}
		}
	}
	return code
}

// describeJob renders a job that would be queued on one line: its kind,
// action, repo, ref, revision and trigger.
func describeJob(j jobs.Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", j.Kind)
	if j.Action != "" {
		fmt.Fprintf(&b, " %s", j.Action)
	}
	fmt.Fprintf(&b, " on %s", j.Repo)
	if j.Discussion > 0 {
		fmt.Fprintf(&b, " #%d", j.Discussion)
	}
	if j.Ref != "" {
		fmt.Fprintf(&b, " ref %s", j.Ref)
	}
	if j.SHA != "" {
		fmt.Fprintf(&b, " sha %s", j.SHA)
	}
	if j.Trigger != "" {
		fmt.Fprintf(&b, " trigger %s", j.Trigger)
	}
	if j.Event != "" {
		fmt.Fprintf(&b, " event %s", j.Event)
	}
	if len(j.Data) > 0 {
		fmt.Fprintf(&b, " commands %s", j.Data)
	}
	if j.Text != "" {
		fmt.Fprintf(&b, " answer %q", j.Text)
	}
	return b.String()
}

// replayRun runs the payloads' jobs in a dry-run bot in this process and
// prints each job with its log, where the would-be comments are.
func replayRun(ctx context.Context, cfg *config.Config, files []string, stdout, stderr io.Writer) int {
	var bodies [][]byte
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			return fail(stderr, "replay: %v", err)
		}
		bodies = append(bodies, body)
	}
	dir, err := os.MkdirTemp("", "hubbot-replay-")
	if err != nil {
		return fail(stderr, "replay: %v", err)
	}
	defer os.RemoveAll(dir)
	list, err := bot.RunLocal(ctx, cfg, dir, bodies)
	if err != nil {
		return fail(stderr, "replay: %v", err)
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no job to run")
	}
	code := 0
	for _, j := range list {
		fmt.Fprintf(stdout, "job %d: %s: %s", j.ID, describeJob(j.Spec), j.State)
		if j.Summary != "" {
			fmt.Fprintf(stdout, ": %s", oneLine(j.Summary))
		}
		fmt.Fprintln(stdout)
		for _, line := range strings.Split(strings.TrimRight(j.Log, "\n"), "\n") {
			fmt.Fprintf(stdout, "    %s\n", line)
		}
		if j.State == jobs.StateFailed {
			code = 1
		}
	}
	return code
}
