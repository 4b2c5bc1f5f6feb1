package postgres

import (
	"context"
	"errors"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
)

const roleColumns = `r.id, coalesce(r.key, ''), r.name, r.description, r.created_at, r.updated_at, r.version,
	ARRAY(SELECT rp.permission || CASE WHEN rp.scope = 'own' THEN ':own' ELSE '' END
	      FROM role_permissions rp WHERE rp.tenant_id = r.tenant_id AND rp.role_id = r.id ORDER BY rp.permission),
	(SELECT count(*) FROM user_roles ur WHERE ur.tenant_id = r.tenant_id AND ur.role_id = r.id)`

func scanRole(row pgx.Row) (*auth.Role, error) {
	r := &auth.Role{}
	err := row.Scan(&r.ID, &r.Key, &r.Name, &r.Description, &r.CreatedAt, &r.UpdatedAt, &r.Version, &r.Permissions, &r.Users)
	r.Builtin = r.Key != ""
	return r, err
}

var errRoleNotFound = &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: "Rolle nicht gefunden."}

// ListRoles returns the tenant's roles, built-in ones first.
func (s *AuthService) ListRoles(ctx context.Context, p *auth.Principal) ([]*auth.Role, error) {
	var out []*auth.Role
	err := s.DB.QueryTenant(ctx, p.TenantID, `SELECT `+roleColumns+` FROM roles r WHERE r.tenant_id = $1 ORDER BY r.key IS NULL, lower(r.name)`,
		[]any{p.TenantID}, func(rows pgx.Rows) error {
			var err error
			out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*auth.Role, error) { return scanRole(r) })
			return err
		})
	return out, err
}

// Role returns one role.
func (s *AuthService) Role(ctx context.Context, p *auth.Principal, id uuid.UUID) (*auth.Role, error) {
	var r *auth.Role
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		var err error
		r, err = getRole(ctx, tx, p.TenantID, id)
		return err
	})
	return r, err
}

func getRole(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) (*auth.Role, error) {
	r, err := scanRole(tx.QueryRow(ctx, `SELECT `+roleColumns+` FROM roles r WHERE r.tenant_id = $1 AND r.id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errRoleNotFound
	}
	return r, err
}

// CreateRole creates a custom role.
func (s *AuthService) CreateRole(ctx context.Context, p *auth.Principal, in auth.RoleInput, m auth.LoginMeta) (*auth.Role, error) {
	grants, err := in.Validate()
	if err != nil {
		return nil, err
	}
	if err := checkGrantable(p, grants); err != nil {
		return nil, err
	}
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*auth.Role, error) {
		id := newID()
		if _, err := tx.Exec(ctx, `INSERT INTO roles (tenant_id, id, name, description) VALUES ($1, $2, $3, $4)`,
			p.TenantID, id, in.Name, in.Description); err != nil {
			return nil, mapError(err)
		}
		if err := setRoleGrants(ctx, tx, p.TenantID, id, grants); err != nil {
			return nil, err
		}
		r, err := getRole(ctx, tx, p.TenantID, id)
		if err == nil {
			err = auditCreate(ctx, tx, p, m, audit.RoleCreate, "role", id, roleFields(r))
		}
		return r, err
	})
}

// UpdateRole changes a custom role; built-in roles follow the code and are refused.
func (s *AuthService) UpdateRole(ctx context.Context, p *auth.Principal, id uuid.UUID, in auth.RolePatch, m auth.LoginMeta) (*auth.Role, error) {
	grants, err := in.Validate()
	if err != nil {
		return nil, err
	}
	if in.Permissions != nil {
		if err := checkGrantable(p, grants); err != nil {
			return nil, err
		}
	}
	var r *auth.Role
	err = s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		before, err := getRole(ctx, tx, p.TenantID, id)
		if err != nil {
			return err
		}
		if before.Builtin {
			return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Eingebaute Rollen können nicht geändert werden. Legen Sie eine eigene Rolle an."}
		}
		if in.Version != 0 && in.Version != before.Version {
			return staleVersion(before.Version)
		}
		name, desc := before.Name, before.Description
		if in.Name != nil {
			name = *in.Name
		}
		if in.Description != nil {
			desc = *in.Description
		}
		if _, err := tx.Exec(ctx, `UPDATE roles SET name = $3, description = $4, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, p.TenantID, id, name, desc); err != nil {
			return mapError(err)
		}
		if in.Permissions != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2`, p.TenantID, id); err != nil {
				return err
			}
			if err := setRoleGrants(ctx, tx, p.TenantID, id, grants); err != nil {
				return err
			}
		}
		if r, err = getRole(ctx, tx, p.TenantID, id); err != nil {
			return err
		}
		e := actorEntry(p, m, audit.RoleUpdate, "role", id)
		e.Changes = audit.Diff(roleFields(before), roleFields(r))
		return writeAudit(ctx, tx, p.TenantID, e)
	})
	return r, err
}

// DeleteRole deletes a custom role that nobody holds.
func (s *AuthService) DeleteRole(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		before, err := getRole(ctx, tx, p.TenantID, id)
		if err != nil {
			return err
		}
		if before.Builtin {
			return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Eingebaute Rollen können nicht gelöscht werden."}
		}
		if before.Users > 0 {
			return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Die Rolle ist noch Benutzern zugewiesen. Entfernen Sie sie zuerst dort."}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND id = $2`, p.TenantID, id); err != nil {
			return mapError(err)
		}
		e := actorEntry(p, m, audit.RoleDelete, "role", id)
		e.Changes = audit.Diff(roleFields(before), nil)
		return writeAudit(ctx, tx, p.TenantID, e)
	})
}

func checkGrantable(p *auth.Principal, grants []auth.Grant) error {
	for _, g := range grants {
		if !covers(p.Grants, g) {
			return &rpcrm.Error{Code: rpcrm.EFORBIDDEN,
				Message: "Sie können keine Berechtigung vergeben, die Sie selbst nicht haben.",
				Fields:  map[string]string{"permissions": g.String()}}
		}
	}
	return nil
}

func setRoleGrants(ctx context.Context, tx pgx.Tx, tenantID, roleID uuid.UUID, grants []auth.Grant) error {
	perms := make([]string, 0, len(grants))
	scopes := make([]string, 0, len(grants))
	for _, g := range grants {
		perms = append(perms, string(g.Permission))
		scopes = append(scopes, string(g.Scope))
	}
	_, err := tx.Exec(ctx, `INSERT INTO role_permissions (tenant_id, role_id, permission, scope)
		SELECT $1, $2, p, s FROM unnest($3::text[], $4::text[]) AS g(p, s)`, tenantID, roleID, perms, scopes)
	return err
}

func roleFields(r *auth.Role) map[string]any {
	perms := append([]string(nil), r.Permissions...)
	sort.Strings(perms)
	return map[string]any{"name": r.Name, "description": r.Description, "permissions": perms}
}
