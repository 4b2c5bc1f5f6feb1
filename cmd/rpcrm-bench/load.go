package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/tenant"
)

// requestGrace bounds a request still running when a phase ends.
const requestGrace = 10 * time.Second

type loadOptions struct {
	clients          int
	warmup, duration time.Duration
	trace            bool // keep every measured request in phaseResult.trace
}

// traceEntry is one measured request, for -latency-log.
type traceEntry struct {
	worker         int
	start, latency time.Duration // start is relative to the end of the warm-up
	err            error
}

// phaseResult is what one phase (or several, merged) measured. Only
// requests started in the measured window count; those started during the
// warm-up do not.
type phaseResult struct {
	lat      []time.Duration // successful requests, sorted
	trace    []traceEntry    // with loadOptions.trace, every request by start time
	errors   int
	errFirst string
	window   time.Duration // measured time

	// CPU time used during the measured window.
	benchCPU, serverCPU, pgCPU, machineBusy, machineTotal time.Duration
	haveServerCPU, havePGCPU, haveMachineCPU              bool
}

func (r *phaseResult) rate() float64 {
	if r == nil || r.window <= 0 {
		return 0
	}
	return float64(len(r.lat)) / r.window.Seconds()
}

// percentile returns the nearest-rank percentile p (0 < p <= 100).
func (r *phaseResult) percentile(p float64) time.Duration {
	if r == nil || len(r.lat) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(r.lat))+0.9999999) - 1
	return r.lat[min(max(rank, 0), len(r.lat)-1)]
}

func (r *phaseResult) max() time.Duration {
	if r == nil || len(r.lat) == 0 {
		return 0
	}
	return r.lat[len(r.lat)-1]
}

// merge adds o (the next round) to r; r may be nil.
func (r *phaseResult) merge(o *phaseResult) *phaseResult {
	if o == nil {
		return r
	}
	if r == nil {
		return o
	}
	m := &phaseResult{
		lat:            append(append([]time.Duration{}, r.lat...), o.lat...),
		errors:         r.errors + o.errors,
		errFirst:       r.errFirst,
		window:         r.window + o.window,
		benchCPU:       r.benchCPU + o.benchCPU,
		serverCPU:      r.serverCPU + o.serverCPU,
		pgCPU:          r.pgCPU + o.pgCPU,
		havePGCPU:      r.havePGCPU && o.havePGCPU,
		machineBusy:    r.machineBusy + o.machineBusy,
		machineTotal:   r.machineTotal + o.machineTotal,
		haveServerCPU:  r.haveServerCPU && o.haveServerCPU,
		haveMachineCPU: r.haveMachineCPU && o.haveMachineCPU,
	}
	if m.errFirst == "" {
		m.errFirst = o.errFirst
	}
	slices.Sort(m.lat)
	return m
}

// cpuProbe says whose CPU time to record besides this process and the machine.
type cpuProbe struct {
	serverPID int    // 0: none
	database  string // whose PostgreSQL backends to count; "": none
}

type cpuSnapshot struct {
	self, server, busy, total time.Duration
	pg                        map[string]time.Duration
	serverOK, pgOK, machineOK bool
}

func (p cpuProbe) snapshot() cpuSnapshot {
	s := cpuSnapshot{self: selfCPU()}
	if p.serverPID != 0 {
		d, err := processCPU(p.serverPID)
		s.server, s.serverOK = d, err == nil
	}
	if p.database != "" {
		pg, err := postgresCPU(p.database)
		s.pg, s.pgOK = pg, err == nil
	}
	b, t, err := machineCPU()
	s.busy, s.total, s.machineOK = b, t, err == nil
	return s
}

// runLoad runs do from o.clients goroutines in closed loops (each sends its
// next request when the previous one is answered) for the warm-up and then
// the measured duration.
func runLoad(ctx context.Context, o loadOptions, do func(context.Context) error, probe cpuProbe) (*phaseResult, error) {
	start := time.Now()
	warmEnd := start.Add(o.warmup)
	end := warmEnd.Add(o.duration)
	pctx, cancel := context.WithDeadline(ctx, end.Add(requestGrace))
	defer cancel()

	type worker struct {
		lat    []time.Duration
		trace  []traceEntry
		errors int
		first  error
	}
	workers := make([]worker, o.clients)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.lat = make([]time.Duration, 0, 4096)
		wg.Go(func() {
			for {
				t0 := time.Now()
				if !t0.Before(end) || pctx.Err() != nil {
					return
				}
				err := do(pctx)
				d := time.Since(t0)
				if t0.Before(warmEnd) {
					continue
				}
				if o.trace {
					w.trace = append(w.trace, traceEntry{worker: i, start: t0.Sub(warmEnd), latency: d, err: err})
				}
				if err != nil {
					w.errors++
					if w.first == nil {
						w.first = err
					}
					continue
				}
				w.lat = append(w.lat, d)
			}
		})
	}

	// CPU use over the measured window only.
	var before, after cpuSnapshot
	interrupted := false
	wait := func(until time.Time) bool {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if wait(warmEnd) {
		before = probe.snapshot()
		if wait(end) {
			after = probe.snapshot()
		} else {
			interrupted = true
		}
	} else {
		interrupted = true
	}
	wg.Wait()
	if interrupted {
		return nil, fmt.Errorf("load run interrupted: %w", context.Cause(ctx))
	}

	r := &phaseResult{window: o.duration}
	for _, w := range workers {
		r.lat = append(r.lat, w.lat...)
		r.trace = append(r.trace, w.trace...)
		r.errors += w.errors
		if w.first != nil && r.errFirst == "" {
			r.errFirst = oneLine(w.first)
		}
	}
	slices.Sort(r.lat)
	slices.SortFunc(r.trace, func(a, b traceEntry) int { return cmp.Compare(a.start, b.start) })
	r.benchCPU = after.self - before.self
	if before.serverOK && after.serverOK {
		r.serverCPU, r.haveServerCPU = after.server-before.server, true
	}
	if before.pgOK && after.pgOK {
		r.pgCPU, r.havePGCPU = cpuDiff(before.pg, after.pg), true
	}
	if before.machineOK && after.machineOK {
		r.machineBusy, r.machineTotal, r.haveMachineCPU = after.busy-before.busy, after.total-before.total, true
	}
	return r, nil
}

// session is the login the load runs with, and what (B) needs to query for it.
type session struct {
	token                       string
	tenantID, userID, sessionID uuid.UUID
}

// httpTarget is (A): GET /api/v1/me on the server, by IP with the tenant's
// host name in the Host header.
type httpTarget struct {
	base, host string
	transport  *http.Transport
	client     *http.Client
	authz      string
}

func newHTTPTarget(listen, host string, clients int) *httpTarget {
	tr := &http.Transport{
		// Never a proxy: the target is 127.0.0.1.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        2 * clients,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &httpTarget{base: "http://" + listen, host: host, transport: tr, client: &http.Client{Transport: tr,
		// A redirect (say, to the login page) is an answer to check, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (h *httpTarget) closeIdle() { h.transport.CloseIdleConnections() }

// do is one request of (A).
func (h *httpTarget) do(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/api/v1/me", nil)
	if err != nil {
		return err
	}
	req.Host = h.host
	req.Header.Set("Authorization", h.authz)
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/v1/me: %s", resp.Status)
	}
	return err
}

// login logs in once through the API and reads what (B) needs: the user id
// from GET /api/v1/me and the session id from the access token.
func (h *httpTarget) login(ctx context.Context, email, password string) (*session, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	var pair auth.TokenPair
	if err := h.call(ctx, http.MethodPost, "/api/v1/auth/login", "", body, &pair); err != nil {
		return nil, err
	}
	if pair.AccessToken == "" {
		return nil, errors.New("POST /api/v1/auth/login: no access_token in the answer")
	}
	var me struct {
		ID     string `json:"id"`
		Email  string `json:"email"`
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	if err := h.call(ctx, http.MethodGet, "/api/v1/me", pair.AccessToken, nil, &me); err != nil {
		return nil, err
	}
	s := &session{token: pair.AccessToken, tenantID: tenant.UUIDOf(benchTenant)}
	var err error
	if s.userID, err = uuid.Parse(me.ID); err != nil {
		return nil, fmt.Errorf("GET /api/v1/me: id %q: %w", me.ID, err)
	}
	if me.Tenant.ID != benchTenant || !strings.EqualFold(me.Email, email) {
		return nil, fmt.Errorf("GET /api/v1/me answered for %s in tenant %q, not %s in %s", me.Email, me.Tenant.ID, email, benchTenant)
	}
	c, err := tokenClaims(pair.AccessToken)
	if err != nil {
		return nil, err
	}
	if s.sessionID, err = uuid.Parse(c.SessionID); err != nil {
		return nil, fmt.Errorf("access token: sid %q: %w", c.SessionID, err)
	}
	if c.TenantID != s.tenantID.String() || c.Subject != s.userID.String() {
		return nil, fmt.Errorf("access token: tid %s / sub %s do not match tenant %s / user %s", c.TenantID, c.Subject, s.tenantID, s.userID)
	}
	h.authz = "Bearer " + pair.AccessToken
	return s, nil
}

func (h *httpTarget) call(ctx context.Context, method, path, token string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Host = h.host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

type claims struct {
	Subject   string `json:"sub"`
	TenantID  string `json:"tid"`
	SessionID string `json:"sid"`
}

// tokenClaims decodes the payload of a JWT without verifying it: the
// benchmark only needs to know which session the server opened.
func tokenClaims(token string) (*claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("access token payload: %w", err)
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("access token payload: %w", err)
	}
	return &c, nil
}

// setTenantSQL and principalSQL are copies of the constants of the same
// names in postgres/db.go and postgres/auth.go, which the server sends for
// every authenticated request (postgres.AuthService.Authenticate through
// postgres.DB.QueryTenantRow). They are duplicated rather than exported so
// that the benchmark changes nothing in the server's API;
// TestSQLMatchesServer fails when the copies drift.
const setTenantSQL = "SELECT set_config('app.tenant_id', $1, true)"

const principalSQL = `
SELECT u.email, u.name, u.locale,
	coalesce((SELECT json_agg(json_build_object('id', r.id, 'key', r.key, 'name', r.name) ORDER BY r.name)
	          FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
	          WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id), '[]'),
	ARRAY(SELECT rp.permission || ' ' || rp.scope
	      FROM user_roles ur JOIN role_permissions rp ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id
	      WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id)
FROM users u
WHERE u.tenant_id = $1 AND u.id = $2 AND u.disabled_at IS NULL
  AND EXISTS (SELECT 1 FROM sessions s WHERE s.tenant_id = $1 AND s.id = $3 AND s.revoked_at IS NULL)`

// pgxTarget is (B): the server's database work for one authenticated
// request, sent from this process.
type pgxTarget struct {
	pool *pgxpool.Pool
	sess *session
}

// newPGXTarget opens a pool like postgres.Open does for the server: same
// URL (the application role), same MaxConns, pgx defaults otherwise.
func newPGXTarget(ctx context.Context, appURL string, maxConns int, sess *session) (*pgxTarget, error) {
	cfg, err := pgxpool.ParseConfig(appURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ConnConfig.RuntimeParams["application_name"] = "rpcrm-bench"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := &pgxTarget{pool: pool, sess: sess}
	// One request first: a wrong session or role shows here, not as
	// 300 000 errors.
	if err := t.do(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("(B) first query: %w", err)
	}
	return t, nil
}

// do is one request of (B): what QueryTenantRow sends for Authenticate, one
// pipelined batch (one round trip) with the same arguments, scanned into the
// same Go types.
func (t *pgxTarget) do(ctx context.Context) error {
	var (
		email, name, locale string
		roles               []auth.RoleRef
		grants              []string
	)
	b := &pgx.Batch{}
	b.Queue(setTenantSQL, t.sess.tenantID.String())
	// The arguments as Authenticate passes them: [16]byte, which pgx encodes
	// directly (TestSQLMatchesServer checks that the server still does).
	b.Queue(principalSQL, [16]byte(t.sess.tenantID), [16]byte(t.sess.userID), [16]byte(t.sess.sessionID)).QueryRow(func(row pgx.Row) error {
		return row.Scan(&email, &name, &locale, &roles, &grants)
	})
	return t.pool.SendBatch(ctx, b).Close()
}

func (t *pgxTarget) serverVersion(ctx context.Context) string {
	var v string
	if err := t.pool.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "?"
	}
	return v
}
