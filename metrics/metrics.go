// Package metrics defines the Prometheus metrics RP CRM exports. They live on
// a registry of their own (no package globals), created once per process.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every collector of the application.
type Metrics struct {
	Registry *prometheus.Registry

	// HTTPRequests counts finished requests by route pattern, method and status.
	HTTPRequests *prometheus.CounterVec
	// HTTPDuration observes request latency by route pattern and method.
	HTTPDuration *prometheus.HistogramVec
	// HTTPInFlight is the number of requests being served.
	HTTPInFlight prometheus.Gauge
	// Logins counts login attempts by tenant and outcome (success, failure, rate_limited).
	Logins *prometheus.CounterVec
	// TenantReloads counts tenants.json reloads by result (ok, error).
	TenantReloads *prometheus.CounterVec
	// TenantsConfigured is the number of tenants in the current tenants.json.
	TenantsConfigured prometheus.Gauge
	// RecordsCreated counts CRM records created, by tenant and record type
	// (contact, company, deal, activity, document); imports count each row.
	// Tenants are the few configured in tenants.json and types a fixed list,
	// so the series stay few.
	RecordsCreated *prometheus.CounterVec

	// collectors is everything registered, for Names.
	collectors []prometheus.Collector
}

// New creates the collectors and registers them, together with the Go
// runtime and process collectors, on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rpcrm_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rpcrm_http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		HTTPInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rpcrm_http_requests_in_flight",
			Help: "HTTP requests currently being served.",
		}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rpcrm_logins_total",
			Help: "Login attempts, by tenant and outcome (success, failure, rate_limited).",
		}, []string{"tenant", "outcome"}),
		TenantReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rpcrm_tenant_reloads_total",
			Help: "Reloads of tenants.json, by result (ok, error).",
		}, []string{"result"}),
		TenantsConfigured: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rpcrm_tenants_configured",
			Help: "Tenants defined in the tenants.json in force.",
		}),
		RecordsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rpcrm_records_created_total",
			Help: "CRM records created (by form, API or import), by tenant and record type.",
		}, []string{"tenant", "type"}),
	}
	m.register(
		m.HTTPRequests, m.HTTPDuration, m.HTTPInFlight, m.Logins, m.TenantReloads, m.TenantsConfigured,
		m.RecordsCreated,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// register registers cs on the registry and remembers them for Names.
func (m *Metrics) register(cs ...prometheus.Collector) {
	m.Registry.MustRegister(cs...)
	m.collectors = append(m.collectors, cs...)
}
