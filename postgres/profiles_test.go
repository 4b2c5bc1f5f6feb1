package postgres_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"testing"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

func pngOf(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestTenantProfile(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	svc := &postgres.CRMService{DB: e.DB}
	alpha, beta := e.Tenant(t, "alpha"), e.Tenant(t, "beta")
	sys := e.System(t, "alpha")

	p, err := svc.TenantProfile(ctx, alpha.UUID())
	if err != nil || p.Name != "" || p.Apply(alpha) != alpha {
		t.Fatalf("profile before any save: %+v %v", p, err)
	}
	e.CreateUser(t, "alpha", "s@alpha.test", "sales")
	_, sales := loginAs(t, e, "alpha", "s@alpha.test")
	_, err = svc.UpdateTenantProfile(ctx, sales, crm.ProfileInput{Name: "X"}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EFORBIDDEN, "profile without settings:manage")

	_, err = svc.UpdateTenantProfile(ctx, sys, crm.ProfileInput{Locale: "xx", Currency: "DOGE", Logo: []byte("<svg onload=alert(1)>")}, auth.LoginMeta{})
	if e, ok := err.(*rpcrm.Error); !ok || e.Fields["locale"] == "" || e.Fields["currency"] == "" || e.Fields["logo"] == "" {
		t.Fatalf("bad profile: %v", err)
	}
	_, err = svc.UpdateTenantProfile(ctx, sys, crm.ProfileInput{Logo: pngOf(t, 3000, 10)}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EINVALID, "logo too wide")
	_, err = svc.UpdateTenantProfile(ctx, sys, crm.ProfileInput{Logo: append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EINVALID, "broken PNG")

	logo := pngOf(t, 40, 20)
	p, err = svc.UpdateTenantProfile(ctx, sys, crm.ProfileInput{Name: "Alpha Treuhand AG", Locale: "en-GB", Currency: "eur", Logo: logo}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	eff := p.Apply(alpha)
	if eff.Name != "Alpha Treuhand AG" || eff.Locale != "en-GB" || eff.Currency != "EUR" || eff.ID != "alpha" || eff.UUID() != alpha.UUID() {
		t.Fatalf("effective tenant: %+v", eff)
	}
	if alpha.Name != "Alpha AG" {
		t.Fatal("Apply changed the shared tenant")
	}
	if got, _ := svc.TenantProfile(ctx, alpha.UUID()); got.Name != "Alpha Treuhand AG" || got.LogoType != "image/png" {
		t.Fatalf("read after save (cache must be dropped): %+v", got)
	}
	data, typ, err := svc.TenantLogo(ctx, alpha.UUID())
	if err != nil || typ != "image/png" || !bytes.Equal(data, logo) {
		t.Fatalf("logo: %s %v", typ, err)
	}
	// Beta sees none of it.
	if got, _ := svc.TenantProfile(ctx, beta.UUID()); got.Name != "" || got.LogoType != "" {
		t.Fatalf("beta's profile: %+v", got)
	}
	if _, _, err := svc.TenantLogo(ctx, beta.UUID()); rpcrm.ErrorCode(err) != rpcrm.ENOTFOUND {
		t.Fatalf("beta's logo: %v", err)
	}
	// A stale version is refused; empty values fall back to tenants.json.
	_, err = svc.UpdateTenantProfile(ctx, sys, crm.ProfileInput{Version: p.Version + 1}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EPRECONDITION, "stale profile")
	p, err = svc.UpdateTenantProfile(ctx, sys, crm.ProfileInput{RemoveLogo: true, Version: p.Version}, auth.LoginMeta{})
	if err != nil || p.Apply(alpha) != alpha || p.LogoType != "" {
		t.Fatalf("reset profile: %+v %v", p, err)
	}
	l := auditList(t, e, "alpha", audit.Filter{Action: "tenant_profile.update"})
	if len(l) != 2 || l[1].Changes["name"].After != "Alpha Treuhand AG" || l[0].Changes["name"].After != "" {
		t.Errorf("audit: %+v", l)
	}
}
