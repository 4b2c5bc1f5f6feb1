package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
)

// Purposes of one-time user links.
const (
	// LinkInvite lets an invited user set their first password; the user
	// stays disabled (pending) until then.
	LinkInvite = "invite"
	// LinkReset lets a user who forgot their password set a new one.
	LinkReset = "reset"
)

// How long one-time links stay valid.
const (
	InviteTTL = 7 * 24 * time.Hour
	ResetTTL  = 24 * time.Hour
)

const userLinkPrefix = "ul_"

// UserLink is a freshly issued one-time link token. The token itself is
// shown once (to the administrator who issued it); only its hash is stored.
type UserLink struct {
	Token     string
	Purpose   string
	UserID    uuid.UUID
	ExpiresAt time.Time
}

// LinkInfo describes a valid, unused link to the person who opens it.
type LinkInfo struct {
	Purpose   string
	Email     string
	Name      string
	ExpiresAt time.Time
}

// NewInvite is the input for inviting a user: like NewUser without a
// password, which the user sets through the invitation link.
type NewInvite struct {
	Email   string      `json:"email"`
	Name    string      `json:"name"`
	Locale  string      `json:"locale"`
	RoleIDs []uuid.UUID `json:"role_ids"`
}

// Normalize trims input and lower-cases the e-mail address.
func (in *NewInvite) Normalize() {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	in.Locale = strings.TrimSpace(in.Locale)
}

// Validate checks the input; it expects Normalize to have run.
func (in *NewInvite) Validate() error {
	v := rpcrm.Validation{}
	validateEmail(v, in.Email)
	validateName(v, in.Name)
	validateLocale(v, in.Locale)
	if len(in.RoleIDs) == 0 {
		v.Add("role_ids", "Mindestens eine Rolle ist nötig.")
	}
	return v.Err()
}

// ValidateLocale checks a user's UI language ("" = the tenant's).
func ValidateLocale(l string) error {
	v := rpcrm.Validation{}
	validateLocale(v, l)
	return v.Err()
}

// NewLinkToken returns a random link token and its SHA-256 hash.
func NewLinkToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("auth: reading random bytes: %w", err)
	}
	token = userLinkPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashLinkToken(token), nil
}

// HashLinkToken returns the hash under which a link token is stored.
func HashLinkToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// WellFormedLinkToken reports whether s looks like a link token at all, so
// that garbage never reaches the database.
func WellFormedLinkToken(s string) bool {
	if !strings.HasPrefix(s, userLinkPrefix) || len(s) != len(userLinkPrefix)+43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(userLinkPrefix):])
	return err == nil
}

// LinkService is the part of the auth service for one-time links and a
// user's own settings. The link methods that take a TenantRef are for
// people who are not logged in: the token is their only credential.
type LinkService interface {
	// InviteUser creates a pending (disabled, password-less) user and an
	// invitation link for them; needs the rights of every role given.
	InviteUser(ctx context.Context, p *Principal, in NewInvite, m LoginMeta) (*User, *UserLink, error)
	// IssueUserLink creates a new link for an existing user (a password
	// reset, or a new invitation for a pending user); earlier unused links
	// of the same purpose stop working.
	IssueUserLink(ctx context.Context, p *Principal, userID uuid.UUID, purpose string, m LoginMeta) (*UserLink, error)
	// UserLinkInfo checks a link without using it.
	UserLinkInfo(ctx context.Context, t TenantRef, token string) (*LinkInfo, error)
	// RedeemUserLink sets the password through a link, once: it enables an
	// invited user, ends every session of the user and is audited.
	RedeemUserLink(ctx context.Context, t TenantRef, token, password string, m LoginMeta) error
	// ChangeOwnPassword checks the current password, sets the new one and
	// ends the user's other sessions.
	ChangeOwnPassword(ctx context.Context, p *Principal, current, next string, m LoginMeta) error
	// SetOwnLocale sets the user's UI language ("" = the tenant's).
	SetOwnLocale(ctx context.Context, p *Principal, locale string, m LoginMeta) error
}
