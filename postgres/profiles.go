package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// profileTTL bounds how long a server process serves a cached tenant
// profile; the process that saves a profile forgets its copy at once, so
// only other processes (behind a load balancer) see a change this late.
const profileTTL = 10 * time.Second

// profileCache holds profiles per database and tenant: every page and API
// call needs the effective tenant, and a round trip each would cost more
// than the rest of a small request.
var profileCache sync.Map // profileKey → cachedProfile

type profileKey struct {
	db     *DB
	tenant uuid.UUID
}

type cachedProfile struct {
	p  *crm.TenantProfile
	at time.Time
}

// TenantProfile returns the tenant's profile, empty if none was saved.
func (s *CRMService) TenantProfile(ctx context.Context, tenantID uuid.UUID) (*crm.TenantProfile, error) {
	key := profileKey{s.DB, tenantID}
	if c, ok := profileCache.Load(key); ok && time.Since(c.(cachedProfile).at) < profileTTL {
		return c.(cachedProfile).p, nil
	}
	var p *crm.TenantProfile
	err := s.DB.InTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		p, err = readProfile(ctx, tx, tenantID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	profileCache.Store(key, cachedProfile{p: p, at: time.Now()})
	return p, nil
}

func readProfile(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, lock bool) (*crm.TenantProfile, error) {
	q := `SELECT coalesce(name, ''), coalesce(locale, ''), coalesce(currency, ''), coalesce(logo_type, ''), version, updated_at
		FROM tenant_profiles WHERE tenant_id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	p := &crm.TenantProfile{}
	err := tx.QueryRow(ctx, q, tenantID).Scan(&p.Name, &p.Locale, &p.Currency, &p.LogoType, &p.Version, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return &crm.TenantProfile{}, nil
	}
	return p, err
}

// UpdateTenantProfile saves the profile; needs settings:manage.
func (s *CRMService) UpdateTenantProfile(ctx context.Context, p *auth.Principal, in crm.ProfileInput, m auth.LoginMeta) (*crm.TenantProfile, error) {
	if _, err := scope(p, auth.PermSettingsManage); err != nil {
		return nil, err
	}
	logoType, err := in.Validate()
	if err != nil {
		return nil, err
	}
	var out *crm.TenantProfile
	err = s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tenant_profiles (tenant_id, version) VALUES ($1, 0) ON CONFLICT DO NOTHING`, p.TenantID); err != nil {
			return err
		}
		before, err := readProfile(ctx, tx, p.TenantID, true)
		if err != nil {
			return err
		}
		if in.Version != 0 && in.Version != before.Version {
			return staleVersion(before.Version)
		}
		var logoSum string
		switch {
		case in.Logo != nil:
			h := sha256.Sum256(in.Logo)
			logoSum = hex.EncodeToString(h[:8])
			_, err = tx.Exec(ctx, `UPDATE tenant_profiles SET logo = $2, logo_type = $3 WHERE tenant_id = $1`, p.TenantID, in.Logo, logoType)
		case in.RemoveLogo:
			_, err = tx.Exec(ctx, `UPDATE tenant_profiles SET logo = NULL, logo_type = NULL WHERE tenant_id = $1`, p.TenantID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tenant_profiles SET name = nullif($2, ''), locale = nullif($3, ''), currency = nullif($4, ''),
			updated_at = now(), version = version + 1 WHERE tenant_id = $1`, p.TenantID, in.Name, in.Locale, in.Currency); err != nil {
			return err
		}
		if out, err = readProfile(ctx, tx, p.TenantID, false); err != nil {
			return err
		}
		after := profileFields(out)
		if logoSum != "" {
			after["logo"] = out.LogoType + " " + logoSum
		}
		return auditChanges(ctx, tx, p, m, "tenant_profile.update", "tenant", p.TenantID, profileFields(before), after)
	})
	if err != nil {
		return nil, err
	}
	profileCache.Delete(profileKey{s.DB, p.TenantID})
	return out, nil
}

func profileFields(p *crm.TenantProfile) map[string]any {
	return map[string]any{"name": p.Name, "locale": p.Locale, "currency": p.Currency, "logo": p.LogoType}
}

// TenantLogo returns the tenant's logo.
func (s *CRMService) TenantLogo(ctx context.Context, tenantID uuid.UUID) ([]byte, string, error) {
	var (
		data []byte
		typ  string
	)
	err := s.DB.QueryTenantRow(ctx, tenantID, `SELECT logo, logo_type FROM tenant_profiles WHERE tenant_id = $1 AND logo IS NOT NULL`,
		[]any{tenantID}, func(r pgx.Row) error { return r.Scan(&data, &typ) })
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: "Kein Logo."}
	}
	return data, typ, err
}
