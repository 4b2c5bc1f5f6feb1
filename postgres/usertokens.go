package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
)

// errBadLink is the one answer for every unusable link: unknown, used,
// expired, of another tenant, or for a user who was disabled meanwhile.
var errBadLink = &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: "Dieser Link ist ungültig, abgelaufen oder wurde schon benutzt."}

// InviteUser creates a pending user (disabled, without a password) and an
// invitation link through which they set their password.
func (s *AuthService) InviteUser(ctx context.Context, p *auth.Principal, in auth.NewInvite, m auth.LoginMeta) (*auth.User, *auth.UserLink, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return nil, nil, err
	}
	var (
		u    *auth.User
		link *auth.UserLink
	)
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		roleIDs, err := resolveRoles(ctx, tx, p, in.RoleIDs, nil)
		if err != nil {
			return err
		}
		id := newID()
		// An empty password hash matches no password: the user can log in
		// only after setting one through the link.
		if _, err := tx.Exec(ctx, `
			INSERT INTO users (tenant_id, id, email, name, password_hash, locale, disabled_at) VALUES ($1, $2, $3, $4, '', $5, now())`,
			p.TenantID, id, in.Email, in.Name, in.Locale); err != nil {
			return mapError(err)
		}
		if err := setUserRoles(ctx, tx, p.TenantID, id, roleIDs); err != nil {
			return err
		}
		if u, err = getUser(ctx, tx, p.TenantID, id, false); err != nil {
			return err
		}
		if link, err = s.insertLink(ctx, tx, p, id, auth.LinkInvite); err != nil {
			return err
		}
		e := actorEntry(p, m, audit.UserInvite, "user", id)
		e.Changes = audit.Diff(nil, userFields(u))
		e.Details = map[string]any{"expires_at": link.ExpiresAt}
		return writeAudit(ctx, tx, p.TenantID, e)
	})
	if err != nil {
		return nil, nil, err
	}
	return u, link, nil
}

// IssueUserLink issues a new invitation (for a pending user) or password
// reset link (for an enabled user). Earlier unused links of the same kind
// stop working; p must hold every right the user holds.
func (s *AuthService) IssueUserLink(ctx context.Context, p *auth.Principal, userID uuid.UUID, purpose string, m auth.LoginMeta) (*auth.UserLink, error) {
	if purpose != auth.LinkInvite && purpose != auth.LinkReset {
		return nil, rpcrm.FieldError("purpose", "Erwartet invite oder reset.")
	}
	var link *auth.UserLink
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		u, err := getUser(ctx, tx, p.TenantID, userID, true)
		if err != nil {
			return err
		}
		if err := checkCanManage(ctx, tx, p, userID); err != nil {
			return err
		}
		switch {
		case purpose == auth.LinkInvite && !u.Pending:
			return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Dieser Benutzer hat sein Passwort schon gesetzt; erstellen Sie stattdessen einen Link zum Zurücksetzen."}
		case purpose == auth.LinkReset && u.Pending:
			return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Dieser Benutzer hat die Einladung noch nicht angenommen; erstellen Sie stattdessen eine neue Einladung."}
		case purpose == auth.LinkReset && u.Disabled:
			return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Dieser Benutzer ist deaktiviert. Aktivieren Sie ihn zuerst."}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM user_tokens WHERE tenant_id = $1 AND user_id = $2 AND purpose = $3 AND used_at IS NULL`,
			p.TenantID, userID, purpose); err != nil {
			return err
		}
		if link, err = s.insertLink(ctx, tx, p, userID, purpose); err != nil {
			return err
		}
		action := audit.UserResetLink
		if purpose == auth.LinkInvite {
			action = audit.UserInvite
		}
		e := actorEntry(p, m, action, "user", userID)
		e.Details = map[string]any{"expires_at": link.ExpiresAt}
		return writeAudit(ctx, tx, p.TenantID, e)
	})
	return link, err
}

func (s *AuthService) insertLink(ctx context.Context, tx pgx.Tx, p *auth.Principal, userID uuid.UUID, purpose string) (*auth.UserLink, error) {
	token, hash, err := auth.NewLinkToken()
	if err != nil {
		return nil, err
	}
	ttl := auth.ResetTTL
	if purpose == auth.LinkInvite {
		ttl = auth.InviteTTL
	}
	link := &auth.UserLink{Token: token, Purpose: purpose, UserID: userID, ExpiresAt: s.now().Add(ttl).UTC().Truncate(time.Microsecond)}
	var by *uuid.UUID
	if p.UserID != uuid.Nil {
		by = &p.UserID
	}
	_, err = tx.Exec(ctx, `INSERT INTO user_tokens (tenant_id, token_hash, user_id, purpose, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, p.TenantID, hash, userID, purpose, by, link.ExpiresAt)
	return link, err
}

// linkRow is a link with the user it belongs to.
type linkRow struct {
	userID   uuid.UUID
	info     auth.LinkInfo
	usedAt   *time.Time
	disabled bool
	pending  bool
}

func (s *AuthService) readLink(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, token string, lock bool) (*linkRow, error) {
	if !auth.WellFormedLinkToken(token) {
		return nil, errBadLink
	}
	q := `SELECT ut.user_id, ut.purpose, ut.expires_at, ut.used_at, u.email, u.name, u.disabled_at IS NOT NULL, u.password_hash = ''
		FROM user_tokens ut JOIN users u ON u.tenant_id = ut.tenant_id AND u.id = ut.user_id
		WHERE ut.tenant_id = $1 AND ut.token_hash = $2`
	if lock {
		q += ` FOR UPDATE OF ut, u`
	}
	l := &linkRow{}
	err := tx.QueryRow(ctx, q, tenantID, auth.HashLinkToken(token)).Scan(&l.userID, &l.info.Purpose, &l.info.ExpiresAt,
		&l.usedAt, &l.info.Email, &l.info.Name, &l.disabled, &l.pending)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errBadLink
	}
	if err != nil {
		return nil, err
	}
	usable := l.usedAt == nil && s.now().Before(l.info.ExpiresAt)
	switch l.info.Purpose {
	case auth.LinkInvite:
		usable = usable && l.pending
	case auth.LinkReset:
		usable = usable && !l.disabled && !l.pending
	}
	if !usable {
		return nil, errBadLink
	}
	return l, nil
}

// UserLinkInfo checks a link without using it.
func (s *AuthService) UserLinkInfo(ctx context.Context, t auth.TenantRef, token string) (*auth.LinkInfo, error) {
	var info *auth.LinkInfo
	err := s.DB.InTenant(ctx, t.ID, func(tx pgx.Tx) error {
		l, err := s.readLink(ctx, tx, t.ID, token, false)
		if err == nil {
			info = &l.info
		}
		return err
	})
	return info, err
}

// RedeemUserLink sets a password through a link, exactly once.
func (s *AuthService) RedeemUserLink(ctx context.Context, t auth.TenantRef, token, password string, m auth.LoginMeta) error {
	info, err := s.UserLinkInfo(ctx, t, token)
	if err != nil {
		return err
	}
	if err := auth.CheckPasswordPolicy(password, info.Email, info.Name); err != nil {
		return err
	}
	// Hashing is slow on purpose: outside the transaction.
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	return s.DB.InTenant(ctx, t.ID, func(tx pgx.Tx) error {
		// Locked and checked again: of two concurrent uses, one wins.
		l, err := s.readLink(ctx, tx, t.ID, token, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE users SET password_hash = $3, updated_at = now(), version = version + 1,
				disabled_at = CASE WHEN $4 THEN NULL ELSE disabled_at END
			WHERE tenant_id = $1 AND id = $2`, t.ID, l.userID, hash, l.info.Purpose == auth.LinkInvite); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE user_tokens SET used_at = $3 WHERE tenant_id = $1 AND token_hash = $2`,
			t.ID, auth.HashLinkToken(token), s.now()); err != nil {
			return err
		}
		// Any other outstanding link of the user is void now.
		if _, err := tx.Exec(ctx, `DELETE FROM user_tokens WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL`, t.ID, l.userID); err != nil {
			return err
		}
		if err := revokeUserSessions(ctx, tx, t.ID, l.userID, "password reset"); err != nil {
			return err
		}
		action := audit.UserPasswordReset
		if l.info.Purpose == auth.LinkInvite {
			action = audit.UserInviteAccept
		}
		uid := l.userID
		return writeAudit(ctx, tx, t.ID, audit.Entry{Action: action, ActorID: &uid, Actor: l.info.Email, EntityType: "user",
			EntityID: &uid, IP: m.IP, RequestID: m.RequestID})
	})
}

// ChangeOwnPassword sets p's password after checking the current one, and
// ends p's other sessions (this one stays).
func (s *AuthService) ChangeOwnPassword(ctx context.Context, p *auth.Principal, current, next string, m auth.LoginMeta) error {
	var hash, email, name string
	err := s.DB.QueryTenantRow(ctx, p.TenantID, `SELECT password_hash, email, name FROM users WHERE tenant_id = $1 AND id = $2`,
		[]any{p.TenantID, p.UserID}, func(r pgx.Row) error { return r.Scan(&hash, &email, &name) })
	if errors.Is(err, pgx.ErrNoRows) {
		return errUserNotFound
	}
	if err != nil {
		return err
	}
	v := rpcrm.Validation{}
	if ok, err := auth.VerifyPassword(current, hash); err != nil {
		return err
	} else if !ok {
		v.Add("current_password", "Das aktuelle Passwort ist falsch.")
	}
	if err := auth.CheckPasswordPolicy(next, email, name); err != nil {
		var e *rpcrm.Error
		if !errors.As(err, &e) {
			return err
		}
		for f, msg := range e.Fields {
			v.Add(f, msg)
		}
	} else if next == current {
		v.Add("password", "Das neue Passwort muss sich vom bisherigen unterscheiden.")
	}
	if err := v.Err(); err != nil {
		return err
	}
	newHash, err := auth.HashPassword(next)
	if err != nil {
		return err
	}
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		// Only if nobody changed the password in the meantime.
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2 AND password_hash = $4`, p.TenantID, p.UserID, newHash, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return &rpcrm.Error{Code: rpcrm.EPRECONDITION, Message: "Das Passwort wurde inzwischen geändert. Bitte neu anmelden."}
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoke_reason = 'password changed'
			WHERE tenant_id = $1 AND user_id = $2 AND id <> $3 AND revoked_at IS NULL`, p.TenantID, p.UserID, p.SessionID); err != nil {
			return err
		}
		return writeAudit(ctx, tx, p.TenantID, actorEntry(p, m, audit.UserChangePassword, "user", p.UserID))
	})
}

// SetOwnLocale sets p's UI language; "" follows the tenant's.
func (s *AuthService) SetOwnLocale(ctx context.Context, p *auth.Principal, locale string, m auth.LoginMeta) error {
	if err := auth.ValidateLocale(locale); err != nil {
		return err
	}
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		var before string
		err := tx.QueryRow(ctx, `SELECT locale FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, p.TenantID, p.UserID).Scan(&before)
		if errors.Is(err, pgx.ErrNoRows) {
			return errUserNotFound
		}
		if err != nil || before == locale {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET locale = $3, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, p.TenantID, p.UserID, locale); err != nil {
			return err
		}
		return auditChanges(ctx, tx, p, m, audit.UserUpdate, "user", p.UserID,
			map[string]any{"locale": before}, map[string]any{"locale": locale})
	})
}
