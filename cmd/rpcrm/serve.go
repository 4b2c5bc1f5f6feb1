package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/config"
	"github.com/rpcrm/rpcrm/httpapi"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/proxy"
	"github.com/rpcrm/rpcrm/ratelimit"
	"github.com/rpcrm/rpcrm/tenant"
	"github.com/rpcrm/rpcrm/web"
)

func runServe(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "serve", "", `Start the server: the JSON API under /api/v1/ and the web UI for every tenant
in tenants.json, on RPCRM_LISTEN. Applies pending migrations first unless
RPCRM_MIGRATE_ON_START=false. SIGHUP reloads tenants.json; SIGTERM or Ctrl-C
stops after the requests in flight have finished.`)
	envFile := configFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *envFile, config.Options{})
	if err != nil {
		return err
	}
	return serve(ctx, env, cfg, nil)
}

// serve runs the server with cfg until ctx ends. started, if not nil,
// receives the listening address once the server accepts connections.
func serve(ctx context.Context, env *environment, cfg *config.Config, started func(addr string)) error {
	log := newLogger(cfg, env.stderr)
	trust, err := proxy.ParseTrust(cfg.TrustedProxies)
	if err != nil {
		return usageErr("RPCRM_TRUSTED_PROXIES: %v", err)
	}
	metricsAllow, err := proxy.ParseTrust(cfg.MetricsAllow)
	if err != nil {
		return usageErr("RPCRM_METRICS_ALLOW: %v", err)
	}
	set, err := loadTenants(cfg.TenantsFile)
	if err != nil {
		return err
	}
	key, err := jwtKey(cfg)
	if err != nil {
		return err
	}
	tokens, err := auth.NewTokens(key, "rpcrm-"+string(cfg.Env), cfg.AccessTokenTTL)
	if err != nil {
		return err
	}
	db, err := prepareDatabase(ctx, cfg, log, cfg.MigrateOnStart)
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.Env != config.EnvDev {
		if err := db.CheckAppRole(ctx); err != nil {
			return err
		}
	}
	if err := db.SyncTenants(ctx, tenantRows(set)); err != nil {
		return err
	}
	registry := tenant.NewRegistry(set)
	auth.DummyVerify("") // build the dummy hash now, not on the first failed login

	m := metrics.New()
	m.TenantsConfigured.Set(float64(len(set.All())))
	m.RegisterPool(func() metrics.PoolStats {
		s := db.Pool.Stat()
		return metrics.PoolStats{Acquired: s.AcquiredConns(), Idle: s.IdleConns(), Total: s.TotalConns(), Max: s.MaxConns(),
			AcquireCount: s.AcquireCount(), AcquireWaitSeconds: s.AcquireDuration().Seconds(), EmptyAcquireCount: s.EmptyAcquireCount()}
	})
	m.RegisterDatabase(db.Pool.Ping, 2*time.Second)
	// The age and outcome of the last `rpcrm backup` of this environment.
	m.RegisterBackupStatus(filepath.Join(cfg.BackupDirectory(), string(cfg.Env)+"_backup_status.json"))
	authSvc := &postgres.AuthService{DB: db, Tokens: tokens, RefreshTTL: cfg.RefreshTokenTTL, ReuseGrace: 30 * time.Second}
	// One gate for API and UI: the login limits count attempts from both.
	gate := httpserver.NewLoginGate(ratelimit.NewWindow(cfg.LoginLimitIP, time.Minute),
		ratelimit.NewWindow(cfg.LoginLimitAccount, 15*time.Minute), m, log, 0)
	files := uploadStore(cfg)
	// Records created through the API, the UI or imports are counted.
	crmSvc := m.CountCreations(&postgres.CRMService{DB: db, Files: files})
	api := &httpapi.API{
		Auth: authSvc, Audit: &postgres.AuditService{DB: db}, CRM: crmSvc, Log: log, Metrics: m,
		MaxBodyBytes: cfg.MaxBodyBytes, Gate: gate, Files: files, MaxUploadBytes: cfg.MaxUploadBytes,
	}
	ui := &web.UI{Auth: authSvc, CRM: crmSvc, Audit: api.Audit, Files: files, MaxUploadBytes: cfg.MaxUploadBytes,
		Gate: gate, Log: log, Secure: cfg.CookieSecure, RefreshTTL: cfg.RefreshTokenTTL, TempDir: filepath.Join(cfg.DataDir, "tmp")}
	srv := &httpserver.Server{
		Log: log, Metrics: m, Tenants: registry, Trust: trust, MetricsAllow: metricsAllow,
		Ready: func(ctx context.Context) error {
			if err := db.Pool.Ping(ctx); err != nil {
				return err
			}
			return db.CheckSchema(ctx)
		},
		API:         httpserver.TenantOverlay(profileOverlay(crmSvc, log), api.Handler()),
		Web:         ui.Handler(),
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
		ShutdownTimeout: cfg.ShutdownTimeout,
	}

	// SIGHUP reloads tenants.json. A bad file is refused and logged; the
	// tenants in force stay as they are.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := reloadTenants(ctx, cfg, db, registry); err != nil {
					m.TenantReloads.WithLabelValues("error").Inc()
					log.Error("tenants.json reload refused; previous tenants stay in force", "file", cfg.TenantsFile, "err", err)
					continue
				}
				m.TenantReloads.WithLabelValues("ok").Inc()
				m.TenantsConfigured.Set(float64(len(registry.Current().All())))
				log.Info("tenants.json reloaded", "file", cfg.TenantsFile, "tenants", len(registry.Current().All()))
			}
		}
	}()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("RPCRM_LISTEN: %w", err)
	}
	pidFile := filepath.Join(cfg.DataDir, "rpcrm.pid")
	if err := os.MkdirAll(cfg.DataDir, 0o750); err == nil {
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err == nil {
			defer os.Remove(pidFile)
		}
	}
	log.Info("rpcrm listening", "addr", ln.Addr().String(), "env", cfg.Env, "version", version,
		"tenants", len(set.All()), "schema", postgres.LatestVersion())
	if started != nil {
		started(ln.Addr().String())
	}
	return srv.Serve(ctx, ln)
}

// reloadTenants reads the file, gives new tenants their rows, then swaps the registry.
func reloadTenants(ctx context.Context, cfg *config.Config, db *postgres.DB, registry *tenant.Registry) error {
	set, err := tenant.LoadFile(cfg.TenantsFile)
	if err != nil {
		return err
	}
	if err := db.SyncTenants(ctx, tenantRows(set)); err != nil {
		return err
	}
	registry.Replace(set)
	return nil
}
