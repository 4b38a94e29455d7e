package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/hubclient"
)

// pageSize is how many rows a list page shows.
const pageSize = 50

func (s *Server) home(c *gin.Context) {
	if c.Request.URL.Path != "/" {
		s.errorPage(c, http.StatusNotFound, "Not found", "There is no page here.")
		return
	}
	v := viewerOf(c)
	recent, err := s.visibleJobs(c, jobs.JobQuery{Limit: 200}, 10)
	if err != nil {
		s.fail(c, err)
		return
	}
	cfg := s.cfg
	reason := ""
	switch {
	case cfg.Secrets.HFToken == "":
		reason = "HF_TOKEN is not set"
	case cfg.Hub.DryRun:
		reason = "hub.dry_run = true in the configuration"
	}
	base := strings.TrimRight(cfg.Server.PublicURL, "/")
	if base == "" {
		base = requestBase(c.Request)
	}
	s.render(c, http.StatusOK, "home", "hubbot", map[string]any{
		"BotName": s.opts.BotName(), "Endpoint": strings.TrimRight(cfg.Hub.Endpoint, "/"),
		"DryRun": reason != "", "DryRunReason": reason, "WebhookURL": base + cfg.Server.WebhookPath,
		"PublicURLSet": cfg.Server.PublicURL != "", "SecretSet": len(cfg.Secrets.WebhookSecrets) > 0,
		"Actions": cfg.Actions, "Recovery": shortDuration(cfg.Workers.RecoveryInterval.D()),
		"Allow": cfg.Repos.Allow, "Deny": cfg.Repos.Deny, "Recent": recent, "Operator": v.operator,
		"Public": cfg.Dashboard.Public, "Hook": s.webhookStatus(c.Request.Context()),
	})
}

// requestBase is the scheme and host the browser used.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// visibleJobs lists jobs matching q that the viewer may see, at most n.
// Jobs of repos the viewer may not see are skipped, so it reads on in
// pages until it has n or the store has no more.
func (s *Server) visibleJobs(c *gin.Context, q jobs.JobQuery, n int) ([]*jobs.Job, error) {
	se := s.seer(c.Request.Context(), viewerOf(c))
	var out []*jobs.Job
	if q.Limit <= 0 {
		q.Limit = 200
	}
	for pages := 0; pages < 5 && len(out) < n; pages++ {
		list, err := s.store.FindJobs(c.Request.Context(), q)
		if err != nil {
			return nil, err
		}
		for _, j := range list {
			if len(out) < n && se.repo(j.Spec.Repo) {
				out = append(out, j)
			}
		}
		if len(list) < q.Limit {
			break
		}
		q.Before = list[len(list)-1].ID
	}
	return out, nil
}

type deliveryRow struct {
	jobs.DeliveryRecord
	Jobs []int64
}

func (s *Server) deliveries(c *gin.Context) {
	ctx := c.Request.Context()
	v := viewerOf(c)
	list, err := s.store.Deliveries(ctx, 500)
	if err != nil {
		s.fail(c, fmt.Errorf("list deliveries: %w", err))
		return
	}
	se := s.seer(ctx, v)
	var rows []deliveryRow
	var keys []string
	hidden := 0
	for _, d := range list {
		if len(rows) == pageSize {
			break
		}
		if !v.operator && (d.Outcome == jobs.OutcomeIgnored || !se.name(d.Repo)) {
			hidden++
			continue
		}
		rows = append(rows, deliveryRow{DeliveryRecord: d})
		keys = append(keys, d.Key)
	}
	byKey, err := s.store.DeliveryJobs(ctx, keys)
	if err != nil {
		s.fail(c, err)
		return
	}
	for i := range rows {
		if rows[i].Outcome == jobs.OutcomeQueued {
			rows[i].Jobs = byKey[rows[i].Key]
		}
	}
	s.render(c, http.StatusOK, "deliveries", "Deliveries", map[string]any{"Rows": rows, "Operator": v.operator, "Hidden": hidden})
}

func (s *Server) delivery(c *gin.Context) {
	v := viewerOf(c)
	if !v.operator {
		s.notFound(c)
		return
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.notFound(c)
		return
	}
	d, body, err := s.store.Delivery(c.Request.Context(), id)
	if err != nil {
		s.storeError(c, err)
		return
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(body)
	}
	byKey, err := s.store.DeliveryJobs(c.Request.Context(), []string{d.Key})
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "delivery", fmt.Sprintf("Delivery %d", d.ID), map[string]any{
		"D": d, "Body": s.redact(pretty.String()), "Jobs": byKey[d.Key]})
}

// jobStates are the states the filter offers.
var jobStates = []string{string(jobs.StateQueued), string(jobs.StateRunning), string(jobs.StateSucceeded), string(jobs.StateFailed), string(jobs.StateCancelled), string(jobs.StateSkipped)}

func (s *Server) jobList(c *gin.Context) {
	q := jobs.JobQuery{Repo: strings.TrimSpace(c.Query("repo")), Action: strings.TrimSpace(c.Query("action")),
		State: c.Query("state"), Ref: strings.TrimSpace(c.Query("ref"))}
	if q.State != "" && !slices.Contains(jobStates, q.State) {
		s.errorPage(c, http.StatusBadRequest, "Unknown state", "State must be one of "+strings.Join(jobStates, ", ")+".")
		return
	}
	if b, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil && b > 0 {
		q.Before = b
	}
	q.Ref = refs.Full(q.Ref) // people type branch names
	list, err := s.visibleJobs(c, q, pageSize+1)
	if err != nil {
		s.fail(c, err)
		return
	}
	var next string
	if len(list) > pageSize {
		list = list[:pageSize]
		p := c.Request.URL.Query()
		p.Set("before", strconv.FormatInt(list[len(list)-1].ID, 10))
		next = "/jobs?" + p.Encode()
	}
	var actions []string
	for _, a := range s.cfg.Actions {
		actions = append(actions, a.Name)
	}
	s.render(c, http.StatusOK, "jobs", "Jobs", map[string]any{"Jobs": list, "Q": q, "States": jobStates,
		"Actions": actions, "Next": next, "Filtered": q != jobs.JobQuery{}})
}

// visibleJob loads a job the viewer may see; anything else is a 404, so
// that a private repo's jobs cannot be told from missing ones.
func (s *Server) visibleJob(c *gin.Context) (*jobs.Job, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(c)
		return nil, false
	}
	job, err := s.store.Job(c.Request.Context(), id)
	if err != nil {
		s.storeError(c, err)
		return nil, false
	}
	if !s.canSee(c.Request.Context(), viewerOf(c), job.Spec.Repo) {
		s.notFound(c)
		return nil, false
	}
	return job, true
}

func (s *Server) job(c *gin.Context) {
	job, ok := s.visibleJob(c)
	if !ok {
		return
	}
	attempts, err := s.store.Attempts(c.Request.Context(), job.ID)
	if err != nil {
		s.log.Warn("attempts", "job", job.ID, "error", err)
	}
	running := !jobs.Terminal(job.State)
	logText, offset := job.Log, jobs.LogEnd(job.Log)
	if running {
		cut := safeCut(logText, len(logText)-s.holdback(logText))
		offset -= len(logText) - cut
		logText = logText[:cut]
	}
	title := fmt.Sprintf("Job %d", job.ID)
	if job.Spec.Action != "" {
		title += " · " + job.Spec.Action
	}
	s.render(c, http.StatusOK, "job", title, map[string]any{
		"Job": job, "Attempts": attempts, "Log": s.redact(logText), "Offset": offset, "Running": running,
		"Operator": viewerOf(c).operator, "Endpoint": strings.TrimRight(s.cfg.Hub.Endpoint, "/"),
		"Duration": duration(job),
	})
}

func duration(j *jobs.Job) string {
	if j.StartedAt.IsZero() || j.FinishedAt.IsZero() {
		return ""
	}
	return j.FinishedAt.Sub(j.StartedAt).Round(100 * time.Millisecond).String()
}

func (s *Server) retry(c *gin.Context) {
	job, ok := s.visibleJob(c)
	if !ok {
		return
	}
	if !viewerOf(c).operator {
		s.errorPage(c, http.StatusForbidden, "Operators only", "Only the bot's operators can retry a job. Ask one of them, or push again.")
		return
	}
	newID, err := s.store.Retry(c.Request.Context(), job.ID)
	if errors.Is(err, jobs.ErrNotRetryable) {
		s.errorPage(c, http.StatusConflict, "Still running", "A job can be retried once it has finished.")
		return
	}
	if err != nil {
		s.fail(c, fmt.Errorf("retry job %d: %w", job.ID, err))
		return
	}
	s.log.Info("job retried from the dashboard", "job", job.ID, "new_job", newID, "by", viewerName(viewerOf(c)))
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/jobs/%d", newID))
}

func (s *Server) cancel(c *gin.Context) {
	job, ok := s.visibleJob(c)
	if !ok {
		return
	}
	if !viewerOf(c).operator {
		s.errorPage(c, http.StatusForbidden, "Operators only", "Only the bot's operators can cancel a job.")
		return
	}
	err := s.store.CancelJob(c.Request.Context(), job.ID)
	if err != nil && !errors.Is(err, jobs.ErrFinished) {
		s.fail(c, err)
		return
	}
	s.log.Info("job cancelled from the dashboard", "job", job.ID, "by", viewerName(viewerOf(c)))
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/jobs/%d", job.ID))
}

func viewerName(v viewer) string {
	if v.user != nil {
		return v.user.Name
	}
	if v.bearer {
		return "admin token"
	}
	return ""
}

// target is one branch, tag or pull request of a repo, with the latest
// result of each action there.
type target struct {
	Label string
	Ref   string
	PR    int
	Jobs  []*jobs.Job
}

func (s *Server) repo(c *gin.Context) {
	r, ok := parseRepo(c.Param("repo"))
	if !ok || !s.canSee(c.Request.Context(), viewerOf(c), r) {
		s.notFound(c)
		return
	}
	list, err := s.store.LatestResults(c.Request.Context(), r.String())
	if err != nil {
		s.fail(c, err)
		return
	}
	var targets []*target
	index := map[string]*target{}
	for _, j := range list {
		key, label, pr := j.Spec.Ref, refLabel(j.Spec.Ref), 0
		if refs.IsPR(j.Spec.Ref) {
			pr = j.Spec.Discussion
			if pr == 0 {
				pr = refs.PRNum(j.Spec.Ref)
			}
			key = fmt.Sprintf("pr:%d", pr)
		}
		t := index[key]
		if t == nil {
			t = &target{Label: label, Ref: j.Spec.Ref, PR: pr}
			index[key] = t
			targets = append(targets, t)
		}
		t.Jobs = append(t.Jobs, j)
	}
	for _, t := range targets {
		slices.SortFunc(t.Jobs, func(a, b *jobs.Job) int { return strings.Compare(a.Spec.Action, b.Spec.Action) })
	}
	targets, closed, unknown := s.openTargets(c.Request.Context(), r, targets)
	s.render(c, http.StatusOK, "repo", r.String(), map[string]any{"Repo": r, "Targets": targets,
		"Endpoint": strings.TrimRight(s.cfg.Hub.Endpoint, "/"), "Closed": closed, "OpenUnknown": unknown})
}

// openTargets keeps the branches and the open pull requests among
// targets, and counts the closed ones left out. When the Hub cannot say
// which are open, every pull request stays and unknown says so.
func (s *Server) openTargets(ctx context.Context, r hubclient.Repo, targets []*target) (kept []*target, closed int, unknown bool) {
	if !slices.ContainsFunc(targets, func(t *target) bool { return t.PR != 0 }) {
		return targets, 0, false
	}
	open, err := s.access.openPRs(ctx, r)
	if err != nil {
		s.log.Warn("which pull requests are open", "repo", r.String(), "error", err)
		return targets, 0, true
	}
	for _, t := range targets {
		if t.PR != 0 && !open[t.PR] {
			closed++
			continue
		}
		kept = append(kept, t)
	}
	return kept, closed, false
}

// refLabel names a ref for people: the branch, "tag v1", "PR #3".
func refLabel(ref string) string {
	switch r := refs.Parse(ref); r.Kind {
	case refs.Branch:
		return r.Name
	case refs.Tag:
		return "tag " + r.Name
	case refs.PullRequest:
		return "PR #" + r.Name
	}
	return ref
}

func (s *Server) storeError(c *gin.Context, err error) {
	if errors.Is(err, jobs.ErrNotFound) {
		s.notFound(c)
		return
	}
	s.fail(c, err)
}

func (s *Server) notFound(c *gin.Context) {
	msg := "There is no such page, or it belongs to a private repo."
	if !viewerOf(c).signedIn() && s.oidc != nil {
		msg += " If you can read the repo on the Hub, sign in to see it."
	}
	s.errorPage(c, http.StatusNotFound, "Not found", msg)
}

func (s *Server) fail(c *gin.Context, err error) {
	s.log.Error("dashboard", "path", c.Request.URL.Path, "error", err)
	s.errorPage(c, http.StatusInternalServerError, "Something went wrong",
		"The bot could not read its store. The error is in the bot's log; try again in a moment.")
}

func (s *Server) errorPage(c *gin.Context, status int, title, msg string) {
	s.render(c, status, "error", title, map[string]any{"Message": msg, "Status": status})
}

// hubURL builds links to the Hub.
func hubURL(endpoint string, r hubclient.Repo, parts ...string) string {
	u := endpoint + "/" + r.String()
	for _, p := range parts {
		u += "/" + url.PathEscape(p)
	}
	return u
}

// shortDuration drops the zero units of a duration: "1h", not "1h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
