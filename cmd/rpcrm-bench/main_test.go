package main

import (
	"context"
	"encoding/base64"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/pgserver"
	"github.com/rpcrm/rpcrm/tenant"
)

// TestSQLMatchesServer keeps the benchmark's copies of the server's SQL in
// step with postgres/db.go and postgres/auth.go: (B) measures nothing useful
// once they differ.
func TestSQLMatchesServer(t *testing.T) {
	for _, c := range []struct{ file, name, ours string }{
		{"../../postgres/db.go", "setTenantSQL", setTenantSQL},
		{"../../postgres/auth.go", "principalSQL", principalSQL},
	} {
		got := constString(t, c.file, c.name)
		if got != c.ours {
			t.Errorf("%s in %s differs from the copy in cmd/rpcrm-bench/load.go; copy it again.\nserver:\n%s\nbench:\n%s",
				c.name, c.file, got, c.ours)
		}
	}
}

// principalArgs is how Authenticate passes the arguments of principalSQL,
// which (B) mirrors in pgxTarget.do: their Go types decide how pgx encodes
// them, and that is part of what the request costs.
const principalArgs = "[]any{[16]byte(t.ID), [16]byte(c.UserID), [16]byte(c.SessionID)}"

// TestArgsMatchServer fails when Authenticate passes the arguments of the
// principal query differently; then change pgxTarget.do and principalArgs.
func TestArgsMatchServer(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../../postgres/auth.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		fd, ok := n.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "Authenticate" {
			return true
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 4 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "QueryTenantRow" {
				if id, ok := call.Args[2].(*ast.Ident); ok && id.Name == "principalSQL" {
					var b strings.Builder
					if err := printer.Fprint(&b, fset, call.Args[3]); err != nil {
						t.Fatal(err)
					}
					found = append(found, b.String())
				}
			}
			return true
		})
		return false
	})
	if len(found) != 1 {
		t.Fatalf("found %d calls QueryTenantRow(..., principalSQL, ...) in Authenticate, want 1; update this test", len(found))
	}
	if found[0] != principalArgs {
		t.Errorf("Authenticate passes %s to the principal query, the benchmark mirrors %s: update pgxTarget.do and principalArgs", found[0], principalArgs)
	}
}

// constString returns the value of the string constant name in file.
func constString(t *testing.T, file, name string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if id.Name != name || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s in %s is not a plain string literal any more; update this test", name, file)
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
		}
	}
	t.Fatalf("no constant %s in %s", name, file)
	return ""
}

func TestPercentile(t *testing.T) {
	r := &phaseResult{window: time.Second}
	for i := 1; i <= 100; i++ {
		r.lat = append(r.lat, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := r.percentile(c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if r.max() != 100*time.Millisecond || r.rate() != 100 {
		t.Errorf("max %v rate %v", r.max(), r.rate())
	}
	var empty *phaseResult
	if empty.percentile(99) != 0 || empty.rate() != 0 {
		t.Error("nil result should report zeros")
	}
	m := r.merge(&phaseResult{lat: []time.Duration{time.Microsecond}, errors: 2, window: time.Second})
	if len(m.lat) != 101 || m.lat[0] != time.Microsecond || m.errors != 2 || m.window != 2*time.Second {
		t.Errorf("merge: %d latencies, first %v, %d errors, window %v", len(m.lat), m.lat[0], m.errors, m.window)
	}
}

func TestTokenClaims(t *testing.T) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u","tid":"t","sid":"s","exp":1}`))
	c, err := tokenClaims("eyJhbGciOiJIUzI1NiJ9." + payload + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "u" || c.TenantID != "t" || c.SessionID != "s" {
		t.Errorf("claims %+v", c)
	}
	if _, err := tokenClaims("not-a-jwt"); err == nil {
		t.Error("want an error for a malformed token")
	}
}

func TestChildEnvDropsServerSettings(t *testing.T) {
	t.Setenv("RPCRM_LISTEN", "0.0.0.0:1")
	t.Setenv("rpcrm_typo", "x")
	t.Setenv("DATABASE_URL", "postgres://elsewhere")
	t.Setenv("PGHOST", "elsewhere")
	env := childEnv(map[string]string{"RPCRM_LISTEN": "127.0.0.1:2"}, true)
	seen := map[string]bool{}
	for _, kv := range env {
		seen[kv] = true
	}
	for _, bad := range []string{"RPCRM_LISTEN=0.0.0.0:1", "rpcrm_typo=x", "DATABASE_URL=postgres://elsewhere", "PGHOST=elsewhere"} {
		if seen[bad] {
			t.Errorf("%s passed on", bad)
		}
	}
	if !seen["RPCRM_LISTEN=127.0.0.1:2"] {
		t.Error("own setting missing")
	}
}

func TestIsLocalHost(t *testing.T) {
	for h, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "/var/run/postgresql": true,
		"db.example.com": false, "10.0.0.5": false} {
		if got := isLocalHost(h); got != want {
			t.Errorf("isLocalHost(%q) = %v", h, got)
		}
	}
}

// TestCRMScenarioSmall runs the CRM scenario end to end at a small size:
// the real server binary, a fresh database, the bulk seeder, growth, and
// every operation of the load without a single error.
func TestCRMScenarioSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and runs the benchmark")
	}
	if err := ping(context.Background(), localAdminURL, 2*time.Second); err != nil {
		if _, ferr := pgserver.FindBinDir(); ferr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("no PostgreSQL on 127.0.0.1:5432 (%v) and none installed (%v)", err, ferr)
			}
			t.Skipf("no PostgreSQL: %v; %v", err, ferr)
		}
	}
	bin := filepath.Join(t.TempDir(), "rpcrm")
	build := exec.Command("go", "build", "-o", bin, "github.com/rpcrm/rpcrm/cmd/rpcrm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout, stderr strings.Builder
	o, err := parseOptions([]string{"-bin", bin, "-scenario", "crm", "-contacts", "2000", "-grow-to", "4000",
		"-crm-c", "4", "-cursor-page", "10", "-d", "400ms", "-warmup", "100ms", "-wait-quiet", "0"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b := &bench{o: o, stdout: &stdout, stderr: &stderr}
	rep, err := b.run(ctx)
	var counts map[string]int
	if err == nil {
		counts, err = tableCounts(ctx, b.db.ownerURL)
	}
	if cerr := b.cleanup(); cerr != nil {
		t.Errorf("cleanup: %v", cerr)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}

	// The bulk seeder wrote the mix into both tenants; bench1 grew
	// (and got the contacts the create operation made).
	for k, want := range map[string]int{"bench2 contacts": 2000, "bench2 companies": 400, "bench2 deals": 1000,
		"bench2 activities": 6000, "bench1 companies": 400, "bench1 deals": 1000, "bench1 activities": 6000} {
		if counts[k] != want {
			t.Errorf("%s: %d, want %d", k, counts[k], want)
		}
	}
	if counts["bench1 contacts"] <= 4000 {
		t.Errorf("bench1 contacts: %d, want more than 4000 (grown, then created)", counts["bench1 contacts"])
	}
	if rep.crm == nil || len(rep.crm.stages) != 2 {
		t.Fatalf("want two measured sizes, got %+v\n%s", rep.crm, stdout.String())
	}
	for i, st := range rep.crm.stages {
		if want := []int{2000, 4000}[i]; st.contacts != want || st.cursorPage != 10 {
			t.Errorf("stage %d: %d contacts, cursor page %d; want %d, 10", i, st.contacts, st.cursorPage, want)
		}
		for _, op := range crmOps {
			r := st.results[op.key]
			if r == nil || len(r.lat) == 0 || r.errors != 0 {
				t.Errorf("%s %s: %+v", st.label, op.key, r)
				continue
			}
			if r.errFirst != "" {
				t.Errorf("%s %s: %s", st.label, op.key, r.errFirst)
			}
		}
	}
	out := stdout.String()
	for _, want := range []string{"CRM scenario", "bench1 with 2000 contacts", "bench1 with 4000 contacts",
		"4000 contacts: search within 2x of 2000 contacts", "server exits 0 on SIGTERM"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAIL  server exits") {
		t.Errorf("the server did not stop cleanly:\n%s", out)
	}
}

// tableCounts counts the live rows of the CRM tables per bench tenant, as
// the owner.
func tableCounts(ctx context.Context, ownerURL string) (map[string]int, error) {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	out := map[string]int{}
	for _, slug := range []string{"bench1", "bench2"} {
		for _, table := range []string{"contacts", "companies", "deals", "activities"} {
			var n int
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, setTenantSQL, tenant.UUIDOf(slug).String()); err != nil {
					return err
				}
				return tx.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1", tenant.UUIDOf(slug)).Scan(&n)
			})
			if err != nil {
				return nil, err
			}
			out[slug+" "+table] = n
		}
	}
	return out, nil
}

func TestSelectOps(t *testing.T) {
	ops, err := selectOps("web-1,list")
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops[0].key != "list" || ops[1].key != "web-1" {
		t.Errorf("selectOps(web-1,list) = %+v, want list then web-1", ops)
	}
	if all, _ := selectOps(""); len(all) != len(crmOps) {
		t.Errorf("selectOps(\"\") = %d operations, want all %d", len(all), len(crmOps))
	}
	if _, err := selectOps("list,lists"); err == nil || !strings.Contains(err.Error(), `"lists"`) {
		t.Errorf("selectOps(list,lists) error = %v, want one naming \"lists\"", err)
	}
}
