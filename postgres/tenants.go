package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/auth"
)

// TenantRow is a tenant as the database mirrors it from tenants.json.
type TenantRow struct {
	ID     uuid.UUID
	Slug   string
	Name   string
	Active bool
}

// SyncTenants makes sure every tenant has its database rows: the tenant record
// and the built-in roles with the grants the code defines for them. It is
// idempotent and runs at start, on reload and in every command that needs it.
// Tenants missing from the list are left alone: their data is never deleted
// by editing a file.
func (db *DB) SyncTenants(ctx context.Context, tenants []TenantRow) error {
	for _, t := range tenants {
		if err := db.syncTenant(ctx, t); err != nil {
			return fmt.Errorf("sync tenant %s: %w", t.Slug, err)
		}
	}
	return nil
}

func (db *DB) syncTenant(ctx context.Context, t TenantRow) error {
	return db.InTenant(ctx, t.ID, func(tx pgx.Tx) error {
		var slug string
		err := tx.QueryRow(ctx, `
			INSERT INTO tenants (id, slug, name, active) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, active = excluded.active,
				updated_at = CASE WHEN (tenants.name, tenants.active) IS DISTINCT FROM (excluded.name, excluded.active)
				                  THEN now() ELSE tenants.updated_at END
			RETURNING slug`, t.ID, t.Slug, t.Name, t.Active).Scan(&slug)
		if err != nil {
			return err
		}
		if slug != t.Slug {
			return fmt.Errorf("tenant id %s belongs to slug %q", t.ID, slug)
		}
		for _, br := range auth.BuiltinRoles() {
			if err := syncBuiltinRole(ctx, tx, t.ID, br); err != nil {
				return err
			}
		}
		return ensureDefaultPipeline(ctx, tx, t.ID)
	})
}

func syncBuiltinRole(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, br auth.BuiltinRole) error {
	var roleID uuid.UUID
	err := tx.QueryRow(ctx, `
		INSERT INTO roles (tenant_id, id, key, name, description) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, key) DO UPDATE SET name = excluded.name, description = excluded.description
		RETURNING id`, tenantID, newID(), br.Key, br.Name, br.Description).Scan(&roleID)
	if err != nil {
		return fmt.Errorf("built-in role %s: %w", br.Key, err)
	}
	perms := make([]string, 0, len(br.Grants))
	scopes := make([]string, 0, len(br.Grants))
	for _, g := range br.Grants {
		perms = append(perms, string(g.Permission))
		scopes = append(scopes, string(g.Scope))
	}
	if _, err := tx.Exec(ctx, `
		DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2 AND NOT (permission = ANY($3))`,
		tenantID, roleID, perms); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO role_permissions (tenant_id, role_id, permission, scope)
		SELECT $1, $2, p, s FROM unnest($3::text[], $4::text[]) AS g(p, s)
		ON CONFLICT (tenant_id, role_id, permission) DO UPDATE SET scope = excluded.scope
		WHERE role_permissions.scope <> excluded.scope`,
		tenantID, roleID, perms, scopes)
	return err
}
