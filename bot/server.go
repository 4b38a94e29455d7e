package bot

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hubbot/hubbot/actions/run/sandbox"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/webhook"
)

// Handler returns the HTTP surface: the webhook receiver, health, metrics
// and the operator API. Handlers are thin: each reads, checks, calls one
// function and writes the answer.
func (b *Bot) Handler() http.Handler {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(gin.Recovery(), b.accessLog())
	r.NoRoute(func(c *gin.Context) { c.JSON(http.StatusNotFound, gin.H{"error": "not found"}) })
	r.NoMethod(func(c *gin.Context) { c.JSON(http.StatusMethodNotAllowed, gin.H{"error": "method not allowed"}) })

	b.web.Routes(r) // the dashboard: /, /jobs, /deliveries, /repos, /login
	ingress := webhook.NewIngress(b.receiver.Verifier, int64(b.cfg.Server.MaxBody), webhook.DefaultConcurrentBodies)
	r.POST(b.cfg.Server.WebhookPath, b.webhook(ingress))
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", b.ready)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(b.metrics.registry, promhttp.HandlerOpts{})))

	api := r.Group("/api", b.operatorOnly())
	api.GET("/deliveries", b.listDeliveries)
	api.GET("/jobs", b.listJobs)
	api.GET("/jobs/:id", b.getJob)
	api.POST("/jobs/:id/retry", b.retryJob)
	return r
}

// webhook receives a delivery. The secret is checked before the body is
// read, and the body is read under max_body and a cap on concurrent reads
// (webhook.Ingress); the answer is written only once the delivery and its
// jobs are committed.
func (b *Bot) webhook(ingress *webhook.Ingress) gin.HandlerFunc {
	return func(c *gin.Context) {
		if b.draining.Load() {
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": "hubbot is shutting down; replay this delivery later"})
			return
		}
		body, refused := ingress.Admit(c.Request.Context(), c.Writer, c.Request)
		if refused != nil {
			b.metrics.observeDelivery("", "", refused.Outcome)
			c.JSON(refused.Status, refused.Body)
			return
		}
		ans := b.receiver.Receive(c.Request.Context(), c.GetHeader("X-Webhook-Secret"), c.Query("secret"), body)
		c.JSON(ans.Status, ans.Body)
	}
}

func (b *Bot) ready(c *gin.Context) {
	if b.draining.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "draining"})
		return
	}
	if err := b.queue.Ready(c.Request.Context()); err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "store unavailable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// operatorOnly protects /api/: a bearer HUBBOT_ADMIN_TOKEN when one is set,
// else loopback clients only, unless a `run` command could be that client.
// X-Forwarded-For is never trusted for this.
func (b *Bot) operatorOnly() gin.HandlerFunc {
	token := b.cfg.Secrets.AdminToken
	want := sha256.Sum256([]byte(token))
	untrusted := b.commandsReachLoopback()
	return func(c *gin.Context) {
		if token != "" {
			got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "send HUBBOT_ADMIN_TOKEN as a bearer token"})
				return
			}
			c.Next()
			return
		}
		if untrusted != "" {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "the API answers only requests with HUBBOT_ADMIN_TOKEN: " + untrusted})
			return
		}
		host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "the API answers loopback clients only unless HUBBOT_ADMIN_TOKEN is set"})
			return
		}
		c.Next()
	}
}

// commandsReachLoopback says why a loopback client of the API may be a
// `run` command, so that loopback is no proof of an operator: a run action
// is configured and the sandbox cannot keep commands off local ports
// (Landlock ABI < 4, or the sandbox off). "" when loopback can be trusted;
// also without a sandbox, which only in-process tests leave out.
func (b *Bot) commandsReachLoopback() string {
	if b.sandbox == nil || b.sandbox.RestrictsTCP() {
		return ""
	}
	for _, a := range b.cfg.Actions {
		if a.Uses != "run" {
			continue
		}
		if b.sandbox.Mode() == sandbox.ModeOff {
			return fmt.Sprintf("the sandbox is off, so the commands of action %s can connect to it", a.Name)
		}
		return fmt.Sprintf("%s cannot restrict TCP, so the commands of action %s can connect to it", b.sandbox.Support(), a.Name)
	}
	return ""
}

func (b *Bot) listDeliveries(c *gin.Context) {
	limit, _ := strconv.Atoi(c.Query("limit"))
	list, err := b.queue.Deliveries(c.Request.Context(), limit)
	if err != nil {
		b.apiError(c, err)
		return
	}
	if list == nil {
		list = []jobs.DeliveryRecord{}
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": list})
}

func (b *Bot) listJobs(c *gin.Context) {
	limit, _ := strconv.Atoi(c.Query("limit"))
	list, err := b.queue.Jobs(c.Request.Context(), jobs.JobFilter{Repo: c.Query("repo"), State: jobs.State(c.Query("state")),
		Action: c.Query("action"), Limit: limit})
	if err != nil {
		b.apiError(c, err)
		return
	}
	if list == nil {
		list = []*jobs.Job{}
	}
	c.JSON(http.StatusOK, gin.H{"jobs": list})
}

func (b *Bot) getJob(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "job id must be a number"})
		return
	}
	job, err := b.queue.Job(c.Request.Context(), id)
	if err != nil {
		b.apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"job": job, "details": job.Details})
}

func (b *Bot) retryJob(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "job id must be a number"})
		return
	}
	newID, err := b.queue.Retry(c.Request.Context(), id)
	if errors.Is(err, jobs.ErrNotRetryable) {
		c.JSON(http.StatusConflict, gin.H{"error": err.Error()})
		return
	}
	if err != nil {
		b.apiError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"status": "queued", "job": newID, "retry_of": id})
}

func (b *Bot) apiError(c *gin.Context, err error) {
	if errors.Is(err, jobs.ErrNotFound) {
		c.JSON(http.StatusNotFound, gin.H{"error": "not found"})
		return
	}
	b.log.Error("api", "path", c.FullPath(), "error", err)
	c.JSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
}

// accessLog logs each request without its query string, which may carry
// the webhook secret.
func (b *Bot) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		if c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/metrics" {
			return
		}
		b.log.Debug("http", "method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(),
			"took", time.Since(start))
	}
}
