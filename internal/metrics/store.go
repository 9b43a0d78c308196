package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	queueDepthDesc = prometheus.NewDesc("calmony_webhook_queue_depth",
		"Webhook deliveries pending (not yet delivered nor given up on), across projects.", nil, nil)
	queueAgeDesc = prometheus.NewDesc("calmony_webhook_queue_oldest_pending_seconds",
		"Age of the oldest pending webhook delivery; 0 when none is pending.", nil, nil)
	schedulerLagDesc = prometheus.NewDesc("calmony_billing_scheduler_lag_seconds",
		"How long the oldest due billing action (a renewal, trial end, retry, invoice step; test clocks excluded) has been waiting; 0 when none is due.", nil, nil)
	storeUpDesc = prometheus.NewDesc("calmony_store_scrape_success",
		"1 if the webhook queue and scheduler gauges could be read from the database at the last refresh, else 0.", nil, nil)

	poolOpenDesc     = prometheus.NewDesc("calmony_db_open_connections", "Open connections of a database pool.", []string{"pool"}, nil)
	poolInUseDesc    = prometheus.NewDesc("calmony_db_in_use_connections", "Connections of a database pool in use.", []string{"pool"}, nil)
	poolIdleDesc     = prometheus.NewDesc("calmony_db_idle_connections", "Idle connections of a database pool.", []string{"pool"}, nil)
	poolMaxDesc      = prometheus.NewDesc("calmony_db_max_open_connections", "Maximum open connections of a database pool.", []string{"pool"}, nil)
	poolWaitDesc     = prometheus.NewDesc("calmony_db_wait_count_total", "Times a caller waited for a connection of a database pool.", []string{"pool"}, nil)
	poolWaitTimeDesc = prometheus.NewDesc("calmony_db_wait_duration_seconds_total", "Total time callers waited for a connection of a database pool.", []string{"pool"}, nil)
)

// storeCollector reads the store's gauges when scraped, through a cache.
type storeCollector struct {
	db       Store
	log      *slog.Logger
	cacheFor time.Duration
	now      func() time.Time

	mu      sync.Mutex
	read    time.Time // when the cached values were read
	ok      bool
	depth   int64
	oldest  int64 // unix seconds of the oldest pending delivery; 0 none
	nextDue int64 // unix seconds of the oldest due action; 0 none
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueDepthDesc, queueAgeDesc, schedulerLagDesc, storeUpDesc,
		poolOpenDesc, poolInUseDesc, poolIdleDesc, poolMaxDesc, poolWaitDesc, poolWaitTimeDesc} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	c.mu.Lock()
	if now.Sub(c.read) >= c.cacheFor {
		c.refresh(now)
	}
	ok, depth, oldest, nextDue := c.ok, c.depth, c.oldest, c.nextDue
	c.mu.Unlock()
	up := 0.0
	if ok {
		up = 1
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(depth))
		ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, secondsSince(now, oldest))
		ch <- prometheus.MustNewConstMetric(schedulerLagDesc, prometheus.GaugeValue, secondsSince(now, nextDue))
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, up)
	for _, p := range c.db.Pools() {
		s := p.Stats
		ch <- prometheus.MustNewConstMetric(poolOpenDesc, prometheus.GaugeValue, float64(s.OpenConnections), p.Name)
		ch <- prometheus.MustNewConstMetric(poolInUseDesc, prometheus.GaugeValue, float64(s.InUse), p.Name)
		ch <- prometheus.MustNewConstMetric(poolIdleDesc, prometheus.GaugeValue, float64(s.Idle), p.Name)
		ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(s.MaxOpenConnections), p.Name)
		ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, float64(s.WaitCount), p.Name)
		ch <- prometheus.MustNewConstMetric(poolWaitTimeDesc, prometheus.CounterValue, s.WaitDuration.Seconds(), p.Name)
	}
}

// refresh rereads the gauges, within 2 seconds; c.mu is held.
func (c *storeCollector) refresh(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.read = now
	q, err := c.db.FindWebhookQueue(ctx)
	if err == nil {
		c.nextDue, err = c.db.FindOldestDue(ctx)
	}
	if err != nil {
		c.ok = false
		c.log.Warn("metrics: read the webhook queue and billing schedule", "err", err)
		return
	}
	c.ok, c.depth, c.oldest = true, q.Pending, q.OldestPending
}

// secondsSince is how long ago the unix time t was, 0 if t is 0 or ahead.
func secondsSince(now time.Time, t int64) float64 {
	if t == 0 {
		return 0
	}
	return max(0, float64(now.Unix()-t))
}
