package bot

import (
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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

	r.GET("/", b.index)
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

func (b *Bot) index(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"name": "hubbot", "version": b.version, "webhook_path": b.cfg.Server.WebhookPath,
		"dry_run": b.dryRun, "actions": len(b.cfg.Actions)})
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
// else loopback clients only. X-Forwarded-For is never trusted for this.
func (b *Bot) operatorOnly() gin.HandlerFunc {
	token := b.cfg.Secrets.AdminToken
	want := sha256.Sum256([]byte(token))
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
		host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "the API answers loopback clients only unless HUBBOT_ADMIN_TOKEN is set"})
			return
		}
		c.Next()
	}
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
	list, err := b.queue.Jobs(c.Request.Context(), jobs.JobFilter{Repo: c.Query("repo"), State: c.Query("state"),
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
	if errors.Is(err, sql.ErrNoRows) {
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
