package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpapi"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/tenant"
)

// The API sees the tenant as its administrators set it up in the company
// profile, as serve wires it: /me names it, new deals take its currency.
func TestAPIUsesTheTenantProfile(t *testing.T) {
	e := testfix.New(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	crmSvc := &postgres.CRMService{DB: e.DB}
	api := &httpapi.API{Auth: e.Auth, Audit: &postgres.AuditService{DB: e.DB}, CRM: crmSvc, Log: log, Metrics: metrics.New()}
	srv := httptest.NewServer((&httpserver.Server{Log: log, Metrics: metrics.New(), Tenants: tenant.NewRegistry(e.Tenants),
		API: httpserver.TenantOverlay(profileOverlay(crmSvc, log), api.Handler())}).Handler())
	defer srv.Close()
	if _, err := crmSvc.UpdateTenantProfile(ctx, e.System(t, "alpha"), crm.ProfileInput{Name: "Alpha Treuhand AG", Currency: "EUR"}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	e.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	token := e.Login(t, "alpha", "anna@alpha.test").AccessToken
	call := func(method, path, body string) map[string]any {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Host = "alpha.test"
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out) //nolint:errcheck
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	me := call("GET", "/api/v1/me", "")
	tn := me["tenant"].(map[string]any)
	if tn["name"] != "Alpha Treuhand AG" || tn["currency"] != "EUR" || tn["locale"] != "de-CH" {
		t.Fatalf("/me tenant: %v", tn)
	}
	deal := call("POST", "/api/v1/deals", `{"title": "Website"}`)
	if deal["currency"] != "EUR" {
		t.Fatalf("new deal's currency: %v", deal["currency"])
	}
}
