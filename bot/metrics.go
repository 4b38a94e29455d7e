package bot

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are hubbot's Prometheus collectors, on a registry of their own
// (no global state).
type metrics struct {
	registry    *prometheus.Registry
	deliveries  *prometheus.CounterVec
	jobs        *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	hubCalls    *prometheus.CounterVec
	hubLatency  *prometheus.HistogramVec
}

func newMetrics(queueDepth func(context.Context) (int, error)) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubbot_deliveries_total",
			Help: "Webhook deliveries by scope, action and outcome (queued, ignored, duplicate, unauthorized, bad_request, draining, error).",
		}, []string{"scope", "action", "outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubbot_jobs_total",
			Help: "Jobs entering a state, by action and state.",
		}, []string{"action", "state"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hubbot_job_duration_seconds",
			Help:    "How long jobs ran, by action and final state.",
			Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"action", "state"}),
		hubCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubbot_hub_requests_total",
			Help: "Hub API calls by endpoint and HTTP status (0 for a transport error).",
		}, []string{"endpoint", "code"}),
		hubLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hubbot_hub_request_duration_seconds",
			Help:    "Hub API call latency by endpoint.",
			Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hubbot_queue_depth",
		Help: "Jobs waiting to run.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := queueDepth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	m.registry.MustRegister(m.deliveries, m.jobs, m.jobDuration, m.hubCalls, m.hubLatency, depth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeHub(endpoint string, status int, took time.Duration) {
	m.hubCalls.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.hubLatency.WithLabelValues(endpoint).Observe(took.Seconds())
}

func (m *metrics) observeJob(action, from, to string) {
	if action == "" {
		action = "-"
	}
	m.jobs.WithLabelValues(action, to).Inc()
}

func (m *metrics) observeDelivery(scope, action, outcome string) {
	m.deliveries.WithLabelValues(scope, action, outcome).Inc()
}
