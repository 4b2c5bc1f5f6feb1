package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
)

const userColumns = `u.id, u.email, u.name, u.locale, u.disabled_at IS NOT NULL, u.password_hash = '', u.last_login_at, u.created_at, u.updated_at, u.version,
	coalesce((SELECT json_agg(json_build_object('id', r.id, 'key', r.key, 'name', r.name) ORDER BY r.name)
	          FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
	          WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id), '[]')`

func scanUser(r pgx.Row) (*auth.User, error) {
	u := &auth.User{}
	err := r.Scan(&u.ID, &u.Email, &u.Name, &u.Locale, &u.Disabled, &u.Pending, &u.LastLoginAt, &u.CreatedAt, &u.UpdatedAt, &u.Version, &u.Roles)
	return u, err
}

var errUserNotFound = &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: "Benutzer nicht gefunden."}

// ListUsers returns the tenant's users ordered by name.
func (s *AuthService) ListUsers(ctx context.Context, p *auth.Principal) ([]*auth.User, error) {
	var out []*auth.User
	err := s.DB.QueryTenant(ctx, p.TenantID, `SELECT `+userColumns+` FROM users u WHERE u.tenant_id = $1 ORDER BY lower(u.name), u.email`,
		[]any{p.TenantID}, func(rows pgx.Rows) error {
			var err error
			out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*auth.User, error) { return scanUser(r) })
			return err
		})
	for _, u := range out {
		u.TenantID = p.TenantID
	}
	return out, err
}

// User returns one user.
func (s *AuthService) User(ctx context.Context, p *auth.Principal, id uuid.UUID) (*auth.User, error) {
	var u *auth.User
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		var err error
		u, err = getUser(ctx, tx, p.TenantID, id, false)
		return err
	})
	return u, err
}

func getUser(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, lock bool) (*auth.User, error) {
	q := `SELECT ` + userColumns + ` FROM users u WHERE u.tenant_id = $1 AND u.id = $2`
	if lock {
		q += ` FOR UPDATE OF u`
	}
	u, err := scanUser(tx.QueryRow(ctx, q, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUserNotFound
	}
	if err != nil {
		return nil, err
	}
	u.TenantID = tenantID
	return u, nil
}

// CreateUser creates a user with the given roles.
func (s *AuthService) CreateUser(ctx context.Context, p *auth.Principal, in auth.NewUser, m auth.LoginMeta) (*auth.User, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*auth.User, error) {
		roleIDs, err := resolveRoles(ctx, tx, p, in.RoleIDs, in.RoleKeys)
		if err != nil {
			return nil, err
		}
		id := newID()
		if _, err := tx.Exec(ctx, `
			INSERT INTO users (tenant_id, id, email, name, password_hash, locale) VALUES ($1, $2, $3, $4, $5, $6)`,
			p.TenantID, id, in.Email, in.Name, hash, in.Locale); err != nil {
			return nil, mapError(err)
		}
		if err := setUserRoles(ctx, tx, p.TenantID, id, roleIDs); err != nil {
			return nil, err
		}
		u, err := getUser(ctx, tx, p.TenantID, id, false)
		if err == nil {
			err = auditCreate(ctx, tx, p, m, audit.UserCreate, "user", id, userFields(u))
		}
		return u, err
	})
}

// UpdateUser changes a user; disabling revokes every session of the user.
func (s *AuthService) UpdateUser(ctx context.Context, p *auth.Principal, id uuid.UUID, in auth.UserPatch, m auth.LoginMeta) (*auth.User, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var u *auth.User
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		// Serialise changes that could remove the last administrator.
		if err := lockAdminRole(ctx, tx, p.TenantID); err != nil {
			return err
		}
		before, err := getUser(ctx, tx, p.TenantID, id, true)
		if err != nil {
			return err
		}
		if err := checkCanManage(ctx, tx, p, id); err != nil {
			return err
		}
		adminsBefore, err := countAdmins(ctx, tx, p.TenantID)
		if err != nil {
			return err
		}
		if in.Version != 0 && in.Version != before.Version {
			return staleVersion(before.Version)
		}
		if in.Disabled != nil && *in.Disabled && id == p.UserID {
			return rpcrm.FieldError("disabled", "Sie können sich nicht selbst deaktivieren.")
		}
		email, name, locale := before.Email, before.Name, before.Locale
		if in.Email != nil {
			email = *in.Email
		}
		if in.Name != nil {
			name = *in.Name
		}
		if in.Locale != nil {
			locale = *in.Locale
		}
		disabled := before.Disabled
		if in.Disabled != nil {
			disabled = *in.Disabled
		}
		if _, err := tx.Exec(ctx, `
			UPDATE users SET email = $3, name = $4, locale = $5,
				disabled_at = CASE WHEN $6 THEN coalesce(disabled_at, now()) ELSE NULL END,
				updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, p.TenantID, id, email, name, locale, disabled); err != nil {
			return mapError(err)
		}
		if in.RoleIDs != nil {
			roleIDs, err := resolveRoles(ctx, tx, p, *in.RoleIDs, nil)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2`, p.TenantID, id); err != nil {
				return err
			}
			if err := setUserRoles(ctx, tx, p.TenantID, id, roleIDs); err != nil {
				return err
			}
		}
		if err := ensureAnAdmin(ctx, tx, p.TenantID, adminsBefore); err != nil {
			return err
		}
		if disabled && !before.Disabled {
			if err := revokeUserSessions(ctx, tx, p.TenantID, id, "user disabled"); err != nil {
				return err
			}
		}
		if u, err = getUser(ctx, tx, p.TenantID, id, false); err != nil {
			return err
		}
		action := audit.UserUpdate
		switch {
		case disabled && !before.Disabled:
			action = audit.UserDisable
		case !disabled && before.Disabled:
			action = audit.UserEnable
		}
		e := actorEntry(p, m, action, "user", id)
		e.Changes = audit.Diff(userFields(before), userFields(u))
		return writeAudit(ctx, tx, p.TenantID, e)
	})
	return u, err
}

// SetPassword replaces a user's password and ends all their sessions.
func (s *AuthService) SetPassword(ctx context.Context, p *auth.Principal, id uuid.UUID, password string, m auth.LoginMeta) error {
	var email, name string
	err := s.DB.QueryTenantRow(ctx, p.TenantID, `SELECT email, name FROM users WHERE tenant_id = $1 AND id = $2`,
		[]any{p.TenantID, id}, func(r pgx.Row) error { return r.Scan(&email, &name) })
	if errors.Is(err, pgx.ErrNoRows) {
		return errUserNotFound
	}
	if err != nil {
		return err
	}
	if err := auth.CheckPasswordPolicy(password, email, name); err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		if err := checkCanManage(ctx, tx, p, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, p.TenantID, id, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errUserNotFound
		}
		if err := revokeUserSessions(ctx, tx, p.TenantID, id, "password changed"); err != nil {
			return err
		}
		return writeAudit(ctx, tx, p.TenantID, actorEntry(p, m, audit.UserPassword, "user", id))
	})
}

// UserByEmail finds a user of the tenant by e-mail (used by the CLI).
func (s *AuthService) UserByEmail(ctx context.Context, p *auth.Principal, email string) (*auth.User, error) {
	var u *auth.User
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		var id uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE tenant_id = $1 AND email = $2`,
			p.TenantID, strings.ToLower(strings.TrimSpace(email))).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errUserNotFound
		}
		if err != nil {
			return err
		}
		u, err = getUser(ctx, tx, p.TenantID, id, false)
		return err
	})
	return u, err
}

func userFields(u *auth.User) map[string]any {
	roles := make([]string, 0, len(u.Roles))
	for _, r := range u.Roles {
		roles = append(roles, r.Name)
	}
	return map[string]any{"email": u.Email, "name": u.Name, "locale": u.Locale, "disabled": u.Disabled, "roles": roles}
}

func revokeUserSessions(ctx context.Context, tx pgx.Tx, tenantID, userID uuid.UUID, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoke_reason = $3
		WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL`, tenantID, userID, reason)
	return err
}

func staleVersion(current int) error {
	return &rpcrm.Error{Code: rpcrm.EPRECONDITION,
		Message: "Der Datensatz wurde inzwischen von jemand anderem geändert. Bitte neu laden.",
		Fields:  map[string]string{"version": "aktuelle Version: " + strconv.Itoa(current)}}
}

// resolveRoles checks that every role exists in the tenant and that p holds
// every grant of it: nobody can hand out more rights than they have.
func resolveRoles(ctx context.Context, tx pgx.Tx, p *auth.Principal, ids []uuid.UUID, keys []string) ([]uuid.UUID, error) {
	var out []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, k := range keys {
		var id uuid.UUID
		// A built-in key wins over a custom role that happens to be named like one.
		err := tx.QueryRow(ctx, `SELECT id FROM roles WHERE tenant_id = $1 AND (key = lower($2) OR lower(name) = lower($2))
			ORDER BY key = lower($2) DESC NULLS LAST LIMIT 1`, p.TenantID, k).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, rpcrm.FieldError("role", "Unbekannte Rolle: "+k)
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		grants, err := roleGrants(ctx, tx, p.TenantID, id)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			if !covers(p.Grants, g) {
				return nil, &rpcrm.Error{Code: rpcrm.EFORBIDDEN,
					Message: "Sie können keine Rolle vergeben, die mehr Rechte hat als Sie selbst.",
					Fields:  map[string]string{"role_ids": "Rolle enthält " + g.String()}}
			}
		}
		out = append(out, id)
	}
	return out, nil
}

// covers reports whether held includes g with at least g's scope.
func covers(held auth.Grants, g auth.Grant) bool {
	scope, ok := held.Allows(g.Permission)
	return ok && (scope == auth.ScopeAll || g.Scope == auth.ScopeOwn)
}

func roleGrants(ctx context.Context, tx pgx.Tx, tenantID, roleID uuid.UUID) ([]auth.Grant, error) {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE tenant_id = $1 AND id = $2)`, tenantID, roleID).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, rpcrm.FieldError("role_ids", "Unbekannte Rolle: "+roleID.String())
	}
	rows, err := tx.Query(ctx, `SELECT permission, scope FROM role_permissions WHERE tenant_id = $1 AND role_id = $2`, tenantID, roleID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Grant, error) {
		var g auth.Grant
		err := r.Scan(&g.Permission, &g.Scope)
		return g, err
	})
}

func setUserRoles(ctx context.Context, tx pgx.Tx, tenantID, userID uuid.UUID, roleIDs []uuid.UUID) error {
	_, err := tx.Exec(ctx, `INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT $1, $2, unnest($3::uuid[])`,
		tenantID, userID, roleIDs)
	return mapError(err)
}

func lockAdminRole(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) error {
	_, err := tx.Exec(ctx, `SELECT 1 FROM roles WHERE tenant_id = $1 AND key = 'admin' FOR UPDATE`, tenantID)
	return err
}

// countAdmins counts the tenant's enabled users holding the Administrator role.
func countAdmins(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) (int, error) {
	var admins int
	err := tx.QueryRow(ctx, `
		SELECT count(*) FROM users u
		JOIN user_roles ur ON ur.tenant_id = u.tenant_id AND ur.user_id = u.id
		JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id AND r.key = 'admin'
		WHERE u.tenant_id = $1 AND u.disabled_at IS NULL`, tenantID).Scan(&admins)
	return admins, err
}

// ensureAnAdmin refuses a change that leaves the tenant without an enabled
// administrator when it had one before: nobody could manage users any more.
// A tenant that never had one (fresh from tenants.json) is not blocked.
func ensureAnAdmin(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, before int) error {
	if before == 0 {
		return nil
	}
	admins, err := countAdmins(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	if admins == 0 {
		return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Der letzte aktive Administrator kann nicht entfernt oder deaktiviert werden."}
	}
	return nil
}

// checkCanManage refuses changes to a user who holds rights the principal
// lacks: otherwise a user manager could reset an administrator's password
// and log in as them.
func checkCanManage(ctx context.Context, tx pgx.Tx, p *auth.Principal, userID uuid.UUID) error {
	rows, err := tx.Query(ctx, `
		SELECT rp.permission, rp.scope FROM user_roles ur
		JOIN role_permissions rp ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id
		WHERE ur.tenant_id = $1 AND ur.user_id = $2`, p.TenantID, userID)
	if err != nil {
		return err
	}
	grants, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Grant, error) {
		var g auth.Grant
		err := r.Scan(&g.Permission, &g.Scope)
		return g, err
	})
	if err != nil {
		return err
	}
	for _, g := range grants {
		if !covers(p.Grants, g) {
			return &rpcrm.Error{Code: rpcrm.EFORBIDDEN,
				Message: "Sie können keinen Benutzer ändern, der mehr Rechte hat als Sie selbst."}
		}
	}
	return nil
}
