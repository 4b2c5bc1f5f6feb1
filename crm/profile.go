package crm

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg" // logo formats
	_ "image/png"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/tenant"
)

// TenantProfile is what a tenant's administrators set about their company:
// overrides of the name, locale and currency that the operator's
// tenants.json gives (empty = as there), and a logo. The effective values
// are Apply(tenant from tenants.json).
type TenantProfile struct {
	Name     string `json:"name"`
	Locale   string `json:"locale"`
	Currency string `json:"currency"`
	// LogoType is image/png or image/jpeg, "" without a logo.
	LogoType  string    `json:"logo_type"`
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Apply returns a copy of t with the profile's overrides; t itself (shared
// by every request) stays unchanged. A nil profile returns t.
func (p *TenantProfile) Apply(t *tenant.Tenant) *tenant.Tenant {
	if p == nil || t == nil || p.Name == "" && p.Locale == "" && p.Currency == "" {
		return t
	}
	c := *t
	if p.Name != "" {
		c.Name = p.Name
	}
	if p.Locale != "" {
		c.Locale = p.Locale
	}
	if p.Currency != "" {
		c.Currency = p.Currency
	}
	return &c
}

// Logo limits: PNG or JPEG only (SVG could carry script), at most
// MaxLogoBytes and MaxLogoPixels on each side.
const (
	MaxLogoBytes  = 512 << 10
	MaxLogoPixels = 2000
)

// ProfileInput changes the tenant profile. Empty Name/Locale/Currency
// restore the value of tenants.json.
type ProfileInput struct {
	Name     string
	Locale   string
	Currency string
	// Logo, when not nil, replaces the logo; RemoveLogo deletes it.
	Logo       []byte
	RemoveLogo bool
	// Version is the version the client last read; 0 means "don't check".
	Version int
}

// Validate checks the input and returns the logo's content type (sniffed
// and decoded, never taken from the client) when a logo is given.
func (in *ProfileInput) Validate() (logoType string, err error) {
	v := validation{map[string]string{}}
	in.Name = strings.TrimSpace(in.Name)
	in.Locale = strings.TrimSpace(in.Locale)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	if utf8.RuneCountInString(in.Name) > 100 {
		v.add("name", "Höchstens 100 Zeichen.")
	}
	if in.Locale != "" && !contains(tenant.SupportedLocales, in.Locale) {
		v.add("locale", "Erwartet eine von "+strings.Join(tenant.SupportedLocales, ", ")+".")
	}
	if in.Currency != "" && !contains(tenant.SupportedCurrencies, in.Currency) {
		v.add("currency", "Erwartet eine von "+strings.Join(tenant.SupportedCurrencies, ", ")+".")
	}
	if in.Logo != nil {
		logoType = sniffLogo(v, in.Logo)
	}
	return logoType, v.Err()
}

func sniffLogo(v validation, b []byte) string {
	var typ string
	switch {
	case len(b) > MaxLogoBytes:
		v.add("logo", "Das Logo darf höchstens 512 KB gross sein.")
		return ""
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		typ = "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		typ = "image/jpeg"
	default:
		v.add("logo", "Erwartet ein Bild im Format PNG oder JPEG.")
		return ""
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	switch {
	case err != nil:
		v.add("logo", "Das Bild ist beschädigt.")
		return ""
	case cfg.Width > MaxLogoPixels || cfg.Height > MaxLogoPixels:
		v.add("logo", "Das Logo darf höchstens 2000 × 2000 Pixel gross sein.")
		return ""
	}
	return typ
}

// ProfileService keeps the tenant profile. Reading is for everyone (the
// login page shows the name and logo); changing needs settings:manage.
type ProfileService interface {
	// TenantProfile returns the profile (an empty one if none was saved);
	// it may be up to a few seconds old when another server process
	// changed it.
	TenantProfile(ctx context.Context, tenantID uuid.UUID) (*TenantProfile, error)
	UpdateTenantProfile(ctx context.Context, p *auth.Principal, in ProfileInput, m auth.LoginMeta) (*TenantProfile, error)
	// TenantLogo returns the logo and its content type; ENOTFOUND without one.
	TenantLogo(ctx context.Context, tenantID uuid.UUID) ([]byte, string, error)
}
