package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// environments are the seed's three, with their ports and the memory of the
// seed's table ("Ressourcen Verwendung"): PostgreSQL, and backend +
// frontend for the app (one Go binary serves both here).
var environments = []struct {
	name             string
	pgPort, appPort  string
	pgMiB, appMiB    float64
	subnetGatewayPfx string
}{
	{"prod", "5432", "5000", 1.5 * 1024, 1.2 * 1024, "172.30.0."},
	{"test", "5433", "5100", 1.0 * 1024, 0.9 * 1024, "172.30.1."},
	{"dev", "5434", "5200", 0.8 * 1024, 0.7 * 1024, "172.30.2."},
}

// loadCompose loads compose.ENV.yml the way `docker compose --env-file
// ENV.env -f compose.ENV.yml config` does, from a copy of deploy/compose
// with the env-file template in place of the real env file.
func loadCompose(t *testing.T, env string) *types.Project {
	t.Helper()
	dir := filepath.Join(t.TempDir(), env)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("..", "compose")
	for _, f := range []string{"compose.common.yml", "compose." + env + ".yml"} {
		copyFile(t, filepath.Join(src, f), filepath.Join(dir, f))
	}
	copyFile(t, filepath.Join(src, env+".env.example"), filepath.Join(dir, env+".env"))
	if err := os.WriteFile(filepath.Join(dir, "tenants.json"), []byte(`{"tenants":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose."+env+".yml")},
		cli.WithWorkingDirectory(dir), cli.WithEnvFiles(filepath.Join(dir, env+".env")), cli.WithDotEnv,
		cli.WithEnv([]string{}), cli.WithConsistency(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.%s.yml: %v", env, err)
	}
	return p
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestComposeFiles(t *testing.T) {
	var totalMiB float64
	for _, e := range environments {
		t.Run(e.name, func(t *testing.T) {
			p := loadCompose(t, e.name)
			if p.Name != "rpcrm-"+e.name {
				t.Errorf("project name %q", p.Name)
			}
			db, app := p.Services["db"], p.Services["app"]
			if db.Name == "" || app.Name == "" {
				t.Fatalf("services: %v", p.ServiceNames())
			}
			for _, s := range []types.ServiceConfig{db, app} {
				if s.Restart != "unless-stopped" {
					t.Errorf("%s: restart %q", s.Name, s.Restart)
				}
				if s.Deploy == nil || s.Deploy.Resources.Limits == nil || s.Deploy.Resources.Limits.MemoryBytes == 0 {
					t.Fatalf("%s: no memory limit", s.Name)
				}
			}
			// Ports only on loopback, as in the seed's table; nginx is the only way in.
			checkPort := func(s types.ServiceConfig, published string) {
				t.Helper()
				if len(s.Ports) != 1 || s.Ports[0].HostIP != "127.0.0.1" || s.Ports[0].Published != published {
					t.Errorf("%s: ports %+v, want 127.0.0.1:%s", s.Name, s.Ports, published)
				}
			}
			checkPort(db, e.pgPort)
			checkPort(app, e.appPort)

			// PostgreSQL keeps its data in a named volume and has a health check
			// the app waits for.
			if db.HealthCheck == nil || len(db.HealthCheck.Test) < 2 || !strings.Contains(strings.Join(db.HealthCheck.Test, " "), "pg_isready") {
				t.Errorf("db healthcheck %+v", db.HealthCheck)
			}
			if len(db.Volumes) != 1 || db.Volumes[0].Type != types.VolumeTypeVolume || db.Volumes[0].Target != "/var/lib/postgresql/data" {
				t.Errorf("db volumes %+v", db.Volumes)
			}
			if v := p.Volumes[db.Volumes[0].Source]; v.Name != "rpcrm-"+e.name+"-pgdata" {
				t.Errorf("pg volume %+v", v)
			}
			if dep, ok := app.DependsOn["db"]; !ok || dep.Condition != types.ServiceConditionHealthy {
				t.Errorf("app depends_on %+v", app.DependsOn)
			}
			if got := app.Environment["RPCRM_ENV"]; got == nil || *got != e.name {
				t.Errorf("RPCRM_ENV %v", got)
			}
			// The env file reached the app; the database URL names this
			// environment's database inside the compose network.
			if got := app.Environment["DATABASE_URL"]; got == nil || !strings.Contains(*got, "@db:5432/rp_crm_"+e.name) {
				t.Errorf("DATABASE_URL %v", got)
			}
			if got := app.Environment["RPCRM_TRUSTED_PROXIES"]; got == nil || *got != e.subnetGatewayPfx+"1" {
				t.Errorf("RPCRM_TRUSTED_PROXIES %v", got)
			}
			if app.Image != "rpcrm:"+e.name || !app.ReadOnly || len(app.CapDrop) != 1 || app.CapDrop[0] != "ALL" {
				t.Errorf("app image %q read_only %v cap_drop %v", app.Image, app.ReadOnly, app.CapDrop)
			}
			// No RPCRM_* name the app would refuse as unknown comes from the
			// compose side (APP_IMAGE, POSTGRES_* are compose's).
			for k := range app.Environment {
				if strings.HasPrefix(k, "RPCRM_IMAGE") {
					t.Errorf("app environment has %s", k)
				}
			}
			// Memory limits close to the seed's table (within 10 %).
			for _, c := range []struct {
				s    types.ServiceConfig
				want float64
			}{{db, e.pgMiB}, {app, e.appMiB}} {
				got := float64(c.s.Deploy.Resources.Limits.MemoryBytes) / (1 << 20)
				totalMiB += got
				if got < c.want*0.9 || got > c.want*1.1 {
					t.Errorf("%s memory limit %.0f MiB, seed says %.0f MiB", c.s.Name, got, c.want)
				}
			}
		})
	}
	// Everything together leaves room for the OS, Docker, nginx and
	// monitoring on the seed's 8 GB server (its table reserves 1.8 GB).
	if totalMiB > 6.2*1024 {
		t.Errorf("all limits together %.0f MiB", totalMiB)
	}
	t.Logf("memory limits of all six containers: %.0f MiB", totalMiB)
}

// A missing secret is refused at load time, not discovered at runtime.
func TestComposeRequiresSecrets(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "compose")
	for _, f := range []string{"compose.common.yml", "compose.prod.yml"} {
		copyFile(t, filepath.Join(src, f), filepath.Join(dir, f))
	}
	if err := os.WriteFile(filepath.Join(dir, "prod.env"), []byte("POSTGRES_DB=rp_crm_prod\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.prod.yml")},
		cli.WithWorkingDirectory(dir), cli.WithEnvFiles(filepath.Join(dir, "prod.env")), cli.WithDotEnv, cli.WithEnv([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opts.LoadProject(context.Background()); err == nil || !strings.Contains(err.Error(), "POSTGRES_PASSWORD") {
		t.Errorf("load without POSTGRES_PASSWORD: %v", err)
	}
}
