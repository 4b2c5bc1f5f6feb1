package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
)

// AuthService implements auth.Service on PostgreSQL.
type AuthService struct {
	DB         *DB
	Tokens     *auth.Tokens
	RefreshTTL time.Duration
	// ReuseGrace is how long a just-rotated refresh token may still be used,
	// so that two tabs refreshing at once do not log the user out.
	ReuseGrace time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var _ auth.Service = (*AuthService)(nil)

// errBadLogin is the one answer for a wrong e-mail, a wrong password and a
// disabled account, so that none can be told apart.
var errBadLogin = &rpcrm.Error{Code: rpcrm.EUNAUTHORIZED, Message: "E-Mail-Adresse oder Passwort ist falsch."}

// errBadToken is the one answer for every unusable token.
var errBadToken = &rpcrm.Error{Code: rpcrm.EUNAUTHORIZED, Message: "Die Anmeldung ist abgelaufen oder ungültig. Bitte neu anmelden."}

func (s *AuthService) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Login checks e-mail and password and opens a session.
func (s *AuthService) Login(ctx context.Context, t auth.TenantRef, email, password string, m auth.LoginMeta) (*auth.TokenPair, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var (
		userID   uuid.UUID
		hash     string
		disabled bool
	)
	err := s.DB.QueryTenantRow(ctx, t.ID,
		`SELECT id, password_hash, disabled_at IS NOT NULL FROM users WHERE tenant_id = $1 AND email = $2`,
		[]any{t.ID, email}, func(r pgx.Row) error { return r.Scan(&userID, &hash, &disabled) })
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	// The password is hashed whether or not the user exists, so that the
	// answer takes the same time either way. The hashing runs outside any
	// transaction: it is slow on purpose and must not hold a connection.
	ok := false
	// An invited user who has not set a password yet has an empty hash,
	// which matches nothing.
	if found && hash != "" {
		ok, err = auth.VerifyPassword(password, hash)
		if err != nil {
			return nil, fmt.Errorf("verify password of user %s: %w", userID, err)
		}
	} else {
		auth.DummyVerify(password)
	}
	if !ok || disabled {
		reason := "wrong_password"
		switch {
		case !found:
			reason = "unknown_email"
		case hash == "":
			reason = "pending"
		case disabled:
			reason = "disabled"
		}
		e := audit.Entry{Action: audit.LoginFailed, Actor: email, EntityType: "user", IP: m.IP, RequestID: m.RequestID,
			Details: map[string]any{"reason": reason}}
		if found {
			e.EntityID, e.ActorID = &userID, &userID
		}
		if err := s.DB.InTenant(ctx, t.ID, func(tx pgx.Tx) error { return writeAudit(ctx, tx, t.ID, e) }); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	}

	var pair *auth.TokenPair
	err = s.DB.InTenant(ctx, t.ID, func(tx pgx.Tx) error {
		sessionID := newID()
		if _, err := tx.Exec(ctx, `
			INSERT INTO sessions (tenant_id, id, user_id, ip, user_agent) VALUES ($1, $2, $3, $4, $5)`,
			t.ID, sessionID, userID, m.IP, truncate(m.UserAgent, 500)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET last_login_at = now() WHERE tenant_id = $1 AND id = $2`, t.ID, userID); err != nil {
			return err
		}
		e := audit.Entry{Action: audit.LoginSucceeded, ActorID: &userID, Actor: email, EntityType: "user", EntityID: &userID,
			IP: m.IP, RequestID: m.RequestID, Details: map[string]any{"session_id": sessionID}}
		if err := writeAudit(ctx, tx, t.ID, e); err != nil {
			return err
		}
		var err error
		pair, err = s.issue(ctx, tx, t, userID, sessionID)
		return err
	})
	return pair, err
}

// issue stores a new refresh token for the session and signs an access token.
func (s *AuthService) issue(ctx context.Context, tx pgx.Tx, t auth.TenantRef, userID, sessionID uuid.UUID) (*auth.TokenPair, error) {
	refresh, hash, err := auth.NewRefreshToken()
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, expires_at) VALUES ($1, $2, $3, $4)`,
		t.ID, hash, sessionID, s.now().Add(s.RefreshTTL)); err != nil {
		return nil, err
	}
	access, exp, err := s.Tokens.Issue(auth.AccessClaims{UserID: userID, TenantID: t.ID, Tenant: t.Slug, SessionID: sessionID})
	if err != nil {
		return nil, err
	}
	return &auth.TokenPair{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(time.Until(exp).Round(time.Second).Seconds()), ExpiresAt: exp}, nil
}

// Refresh rotates a refresh token. A token used a second time after the grace
// window means it was stolen (or leaked): the whole session is revoked.
func (s *AuthService) Refresh(ctx context.Context, t auth.TenantRef, token string, m auth.LoginMeta) (*auth.TokenPair, error) {
	if !strings.HasPrefix(token, "rt_") {
		return nil, errBadToken
	}
	hash := auth.HashRefreshToken(token)
	var pair *auth.TokenPair
	var reuse bool
	err := s.DB.InTenant(ctx, t.ID, func(tx pgx.Tx) error {
		var (
			sessionID, userID uuid.UUID
			expires           time.Time
			usedAt            *time.Time
			revoked, disabled bool
			email             string
		)
		// FOR UPDATE serialises concurrent refreshes of the same token, so
		// that the second one sees the first one's rotation.
		err := tx.QueryRow(ctx, `
			SELECT rt.session_id, rt.expires_at, rt.used_at, s.revoked_at IS NOT NULL, s.user_id,
			       u.disabled_at IS NOT NULL, u.email
			FROM refresh_tokens rt
			JOIN sessions s ON s.tenant_id = rt.tenant_id AND s.id = rt.session_id
			JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
			WHERE rt.tenant_id = $1 AND rt.token_hash = $2
			FOR UPDATE OF rt, s`, t.ID, hash).
			Scan(&sessionID, &expires, &usedAt, &revoked, &userID, &disabled, &email)
		if errors.Is(err, pgx.ErrNoRows) {
			return errBadToken
		}
		if err != nil {
			return err
		}
		now := s.now()
		if revoked || disabled || !now.Before(expires) {
			return errBadToken
		}
		if usedAt != nil && now.Sub(*usedAt) > s.ReuseGrace {
			if _, err := tx.Exec(ctx, `
				UPDATE sessions SET revoked_at = now(), revoke_reason = 'refresh token reused'
				WHERE tenant_id = $1 AND id = $2`, t.ID, sessionID); err != nil {
				return err
			}
			e := audit.Entry{Action: audit.RefreshReuse, ActorID: &userID, Actor: email, EntityType: "user", EntityID: &userID,
				IP: m.IP, RequestID: m.RequestID, Details: map[string]any{"session_id": sessionID}}
			if err := writeAudit(ctx, tx, t.ID, e); err != nil {
				return err
			}
			reuse = true
			return nil // commit the revocation, then refuse
		}
		if usedAt == nil {
			// The service's clock, not the database's: the grace window above is measured with it.
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $3 WHERE tenant_id = $1 AND token_hash = $2`, t.ID, hash, now); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET last_used_at = now() WHERE tenant_id = $1 AND id = $2`, t.ID, sessionID); err != nil {
			return err
		}
		pair, err = s.issue(ctx, tx, t, userID, sessionID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if reuse {
		return nil, errBadToken
	}
	return pair, nil
}

// Logout revokes the session the principal's access token belongs to.
func (s *AuthService) Logout(ctx context.Context, p *auth.Principal, m auth.LoginMeta) error {
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE sessions SET revoked_at = now(), revoke_reason = 'logout'
			WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL`, p.TenantID, p.SessionID); err != nil {
			return err
		}
		e := actorEntry(p, m, audit.Logout, "user", p.UserID)
		e.Details = map[string]any{"session_id": p.SessionID}
		return writeAudit(ctx, tx, p.TenantID, e)
	})
}

// principalSQL loads a user with their roles and grants, but only while the
// user is enabled and the session is not revoked.
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

// Authenticate verifies an access token for tenant t and loads its principal
// in one round trip to the database.
func (s *AuthService) Authenticate(ctx context.Context, t auth.TenantRef, token string) (*auth.Principal, error) {
	c, err := s.Tokens.Verify(token, t.Slug)
	if err != nil || c.TenantID != t.ID {
		return nil, errBadToken
	}
	p := &auth.Principal{UserID: c.UserID, TenantID: t.ID, Tenant: t.Slug, SessionID: c.SessionID}
	var grants []string
	// [16]byte goes straight into pgx's binary UUID codec; uuid.UUID would
	// take the detour through driver.Valuer and a string on every request.
	err = s.DB.QueryTenantRow(ctx, t.ID, principalSQL, []any{[16]byte(t.ID), [16]byte(c.UserID), [16]byte(c.SessionID)}, func(r pgx.Row) error {
		return r.Scan(&p.Email, &p.Name, &p.Locale, &p.Roles, &grants)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	p.Grants = grantsFromRows(grants)
	return p, nil
}

func grantsFromRows(rows []string) auth.Grants {
	list := make([]auth.Grant, 0, len(rows))
	for _, r := range rows {
		perm, scope, _ := strings.Cut(r, " ")
		list = append(list, auth.Grant{Permission: auth.Permission(perm), Scope: auth.Scope(scope)})
	}
	return auth.MergeGrants(list)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
