package metrics

import (
	"regexp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var fqNameRE = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names returns every series name this registry can export, as PromQL sees
// them: histograms with _bucket, _sum and _count, summaries with _sum and
// _count. It combines what a scrape returns now with the descriptors of
// every collector, so label vectors that have not been used yet and
// scrape-time series that are absent at the moment (a missing backup
// status) are listed too. Tests use it to prove that alert rules and
// dashboards only name metrics that exist.
func (m *Metrics) Names() ([]string, error) {
	set := map[string]bool{}
	add := func(name string, t dto.MetricType) {
		set[name] = true
		switch t {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			set[name+"_bucket"], set[name+"_sum"], set[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			set[name+"_sum"], set[name+"_count"] = true, true
		}
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		return nil, err
	}
	for _, f := range fams {
		add(f.GetName(), f.GetType())
	}
	for _, c := range m.collectors {
		t := dto.MetricType_UNTYPED
		switch c.(type) {
		case *prometheus.HistogramVec, prometheus.Histogram:
			t = dto.MetricType_HISTOGRAM
		case *prometheus.SummaryVec, prometheus.Summary:
			t = dto.MetricType_SUMMARY
		}
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if sm := fqNameRE.FindStringSubmatch(d.String()); sm != nil && !set[sm[1]] {
				add(sm[1], t)
			}
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}
