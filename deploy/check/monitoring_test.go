package check

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/rpcrm/rpcrm/metrics"
)

// external are the metrics the rules and the dashboard may use without the
// app exporting them: Prometheus's own "up" and node_exporter's disk figures.
var external = []string{"up", "node_filesystem_avail_bytes", "node_filesystem_size_bytes"}

var promql = parser.NewParser(parser.Options{})

// appMetrics is every series name the app's registry can export, wired as
// `rpcrm serve` wires it (plus the backup status collector).
func appMetrics(t *testing.T) []string {
	t.Helper()
	m := metrics.New()
	m.RegisterPool(func() metrics.PoolStats { return metrics.PoolStats{} })
	m.RegisterDatabase(func(context.Context) error { return nil }, time.Second)
	m.RegisterBackupStatus(filepath.Join(t.TempDir(), "prod_backup_status.json"))
	names, err := m.Names()
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// metricNames returns the metric names an expression selects.
func metricNames(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := promql.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %v\n%s", where, err, expr)
		return nil
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			if name == "" {
				t.Errorf("%s: a selector without a metric name: %s", where, vs)
			}
			names = append(names, name)
		}
		return nil
	})
	return names
}

func checkKnown(t *testing.T, where string, used, known []string) {
	t.Helper()
	for _, n := range used {
		if !slices.Contains(known, n) && !slices.Contains(external, n) {
			t.Errorf("%s uses %s, which the app does not export", where, n)
		}
	}
}

func TestAlertRules(t *testing.T) {
	known := appMetrics(t)
	groups, errs := rulefmt.ParseFile(filepath.Join("..", "monitoring", "alerts.yml"), false, model.UTF8Validation, promql, slog.Default())
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil {
		t.FailNow()
	}
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			checkKnown(t, "alert "+r.Alert, metricNames(t, "alert "+r.Alert, r.Expr), known)
			if r.Labels["severity"] != "critical" && r.Labels["severity"] != "warning" {
				t.Errorf("alert %s: severity %q", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("alert %s: no summary", r.Alert)
			}
		}
	}
	// The alerts issue 5 asks for.
	for _, want := range []string{"RPCRMInstanceDown", "RPCRMHigh5xxRate", "RPCRMSlowRequestsP99", "RPCRMDatabaseUnreachable",
		"RPCRMBackupTooOld", "DiskAlmostFull"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
	// Backup age: the threshold is 26 hours.
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "RPCRMBackupTooOld" && !strings.Contains(r.Expr, "> 26 * 3600") {
				t.Errorf("RPCRMBackupTooOld: %s", r.Expr)
			}
		}
	}
}

// grafanaVars replaces the dashboard's variables with values PromQL accepts.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$__interval", "1m", "$env", "prod")

func TestGrafanaDashboard(t *testing.T) {
	known := appMetrics(t)
	b, err := os.ReadFile(filepath.Join("..", "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title, UID string
		Panels     []struct {
			ID          int
			Type, Title string
			GridPos     struct{ H, W, X, Y int } `json:"gridPos"`
			Targets     []struct{ Expr string }
		}
		Templating struct {
			List []struct{ Name, Type, Definition string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Errorf("dashboard uid %q title %q", dash.UID, dash.Title)
	}
	used := map[string]bool{}
	exprs := 0
	for _, p := range dash.Panels {
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: grid %+v", p.Title, p.GridPos)
		}
		for _, tg := range p.Targets {
			exprs++
			for _, n := range metricNames(t, "panel "+p.Title, grafanaVars.Replace(tg.Expr)) {
				used[n] = true
			}
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type == "query" {
			inner := strings.TrimSuffix(strings.TrimPrefix(v.Definition, "label_values("), ", env)")
			for _, n := range metricNames(t, "variable "+v.Name, inner) {
				used[n] = true
			}
		}
	}
	var names []string
	for n := range used {
		names = append(names, n)
	}
	slices.Sort(names)
	checkKnown(t, "dashboard", names, known)
	// The dashboard shows the app's own figures, business counters included.
	for _, want := range []string{"rpcrm_http_requests_total", "rpcrm_http_request_duration_seconds_bucket", "rpcrm_logins_total",
		"rpcrm_records_created_total", "rpcrm_database_up", "rpcrm_backup_last_success_timestamp_seconds"} {
		if !used[want] {
			t.Errorf("dashboard does not show %s", want)
		}
	}
	t.Logf("%d panels, %d queries over %d metrics", len(dash.Panels), exprs, len(names))
}

func TestPrometheusConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "monitoring", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string
				Labels  map[string]string
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	for _, f := range cfg.RuleFiles {
		if _, err := os.Stat(filepath.Join("..", "monitoring", f)); err != nil {
			t.Errorf("rule file %s: %v", f, err)
		}
	}
	got := map[string]string{}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "rpcrm" {
			continue
		}
		if sc.MetricsPath != "/metrics" {
			t.Errorf("metrics_path %q", sc.MetricsPath)
		}
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				got[st.Labels["env"]] = tg
			}
		}
	}
	for _, e := range environments {
		if got[e.name] != "127.0.0.1:"+e.appPort {
			t.Errorf("env %s scraped at %q, want 127.0.0.1:%s", e.name, got[e.name], e.appPort)
		}
	}
}
