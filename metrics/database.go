package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type databaseCollector struct {
	ping    func(context.Context) error
	timeout time.Duration
	up      *prometheus.Desc
	seconds *prometheus.Desc
}

// RegisterDatabase exports rpcrm_database_up (1 if ping succeeded within
// timeout at scrape time, else 0) and rpcrm_database_ping_seconds (how long
// the ping took). ping should be cheap: a pool ping, not a query per tenant.
func (m *Metrics) RegisterDatabase(ping func(context.Context) error, timeout time.Duration) {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	m.register(&databaseCollector{
		ping: ping, timeout: timeout,
		up:      prometheus.NewDesc("rpcrm_database_up", "1 if the database answered a ping at scrape time, else 0.", nil, nil),
		seconds: prometheus.NewDesc("rpcrm_database_ping_seconds", "Duration of the scrape-time database ping.", nil, nil),
	})
}

func (c *databaseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.seconds
}

func (c *databaseCollector) Collect(ch chan<- prometheus.Metric) {
	// start is taken before the deadline is set, so a ping that runs into
	// the timeout never reports less than the timeout.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	err := c.ping(ctx)
	up := 1.0
	if err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, time.Since(start).Seconds())
}
