package main

import (
	"encoding/base64"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"strconv"
	"strings"
	"testing"
	"time"
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
