package metrics

import "github.com/prometheus/client_golang/prometheus"

// PoolStats is what the pool collector reads; it mirrors pgxpool.Stat so
// this package need not import the database driver.
type PoolStats struct {
	Acquired, Idle, Total, Max int32
	AcquireCount               int64
	AcquireWaitSeconds         float64
	EmptyAcquireCount          int64
}

type poolCollector struct {
	stat                                  func() PoolStats
	acquired, idle, total, max            *prometheus.Desc
	acquireCount, acquireWait, emptyWaits *prometheus.Desc
}

// RegisterPool exports the database pool figures that stat returns at every scrape.
func (m *Metrics) RegisterPool(stat func() PoolStats) {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("rpcrm_db_pool_"+name, help, nil, nil)
	}
	m.register(&poolCollector{
		stat:         stat,
		acquired:     d("acquired_connections", "Connections in use."),
		idle:         d("idle_connections", "Idle connections."),
		total:        d("total_connections", "Open connections."),
		max:          d("max_connections", "Maximum size of the pool."),
		acquireCount: d("acquires_total", "Connections acquired from the pool."),
		acquireWait:  d("acquire_wait_seconds_total", "Time spent waiting for a connection."),
		emptyWaits:   d("empty_acquires_total", "Acquires that had to wait because the pool was empty."),
	})
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquireCount, c.acquireWait, c.emptyWaits} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(s.Acquired))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(s.Total))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.Max))
	ch <- prometheus.MustNewConstMetric(c.acquireCount, prometheus.CounterValue, float64(s.AcquireCount))
	ch <- prometheus.MustNewConstMetric(c.acquireWait, prometheus.CounterValue, s.AcquireWaitSeconds)
	ch <- prometheus.MustNewConstMetric(c.emptyWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount))
}
