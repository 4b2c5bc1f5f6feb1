package auth

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
)

// User is a person who can log in to one tenant.
type User struct {
	ID       uuid.UUID `json:"id"`
	TenantID uuid.UUID `json:"-"`
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Locale   string    `json:"locale,omitempty"`
	Roles    []RoleRef `json:"roles"`
	Disabled bool      `json:"disabled"`
	// Pending is set for an invited user who has not set a password yet.
	Pending     bool       `json:"pending,omitempty"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Version     int        `json:"version"`
}

// RoleRef names a role a user holds.
type RoleRef struct {
	ID   uuid.UUID `json:"id"`
	Key  string    `json:"key,omitempty"`
	Name string    `json:"name"`
}

// Principal is the authenticated user of one request, with the grants of all
// their roles merged.
type Principal struct {
	UserID    uuid.UUID
	TenantID  uuid.UUID
	Tenant    string // slug
	SessionID uuid.UUID
	Email     string
	Name      string
	Locale    string
	Roles     []RoleRef
	Grants    Grants
}

// Can reports whether the principal holds p, and with which scope.
func (p *Principal) Can(perm Permission) (Scope, bool) {
	if p == nil {
		return "", false
	}
	return p.Grants.Allows(perm)
}

// NewUser is the input for creating a user.
type NewUser struct {
	Email    string      `json:"email"`
	Name     string      `json:"name"`
	Password string      `json:"password"`
	Locale   string      `json:"locale"`
	RoleIDs  []uuid.UUID `json:"role_ids"`
	// RoleKeys names built-in roles by key or name (used by the CLI).
	RoleKeys []string `json:"-"`
}

// Normalize trims input and lower-cases the e-mail address.
func (u *NewUser) Normalize() {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.Name = strings.TrimSpace(u.Name)
	u.Locale = strings.TrimSpace(u.Locale)
}

// Validate checks the input; it expects Normalize to have run.
func (u *NewUser) Validate() error {
	v := rpcrm.Validation{}
	validateEmail(v, u.Email)
	validateName(v, u.Name)
	validateLocale(v, u.Locale)
	if len(u.RoleIDs) == 0 && len(u.RoleKeys) == 0 {
		v.Add("role_ids", "Mindestens eine Rolle ist nötig.")
	}
	if err := CheckPasswordPolicy(u.Password, u.Email, u.Name); err != nil {
		if e, ok := err.(*rpcrm.Error); ok {
			for f, m := range e.Fields {
				v.Add(f, m)
			}
		} else {
			return err
		}
	}
	return v.Err()
}

// UserPatch is a partial update of a user; nil fields stay unchanged.
type UserPatch struct {
	Email    *string      `json:"email"`
	Name     *string      `json:"name"`
	Locale   *string      `json:"locale"`
	RoleIDs  *[]uuid.UUID `json:"role_ids"`
	Disabled *bool        `json:"disabled"`
	// Version is the version the client last saw; 0 means "don't check".
	Version int `json:"version"`
}

// Normalize trims input and lower-cases the e-mail address.
func (p *UserPatch) Normalize() {
	if p.Email != nil {
		s := strings.ToLower(strings.TrimSpace(*p.Email))
		p.Email = &s
	}
	if p.Name != nil {
		s := strings.TrimSpace(*p.Name)
		p.Name = &s
	}
	if p.Locale != nil {
		s := strings.TrimSpace(*p.Locale)
		p.Locale = &s
	}
}

// Validate checks the fields that are set.
func (p *UserPatch) Validate() error {
	v := rpcrm.Validation{}
	if p.Email != nil {
		validateEmail(v, *p.Email)
	}
	if p.Name != nil {
		validateName(v, *p.Name)
	}
	if p.Locale != nil {
		validateLocale(v, *p.Locale)
	}
	if p.RoleIDs != nil && len(*p.RoleIDs) == 0 {
		v.Add("role_ids", "Mindestens eine Rolle ist nötig.")
	}
	return v.Err()
}

func validateEmail(v rpcrm.Validation, email string) {
	switch {
	case email == "":
		v.Add("email", "Die E-Mail-Adresse fehlt.")
	case len(email) > 254:
		v.Add("email", "Die E-Mail-Adresse ist zu lang.")
	default:
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
			v.Add("email", "Die E-Mail-Adresse ist ungültig.")
		}
	}
}

func validateName(v rpcrm.Validation, name string) {
	switch {
	case name == "":
		v.Add("name", "Der Name fehlt.")
	case utf8.RuneCountInString(name) > 200:
		v.Add("name", "Der Name darf höchstens 200 Zeichen lang sein.")
	}
}

// Locales lists the UI languages a user may choose.
var Locales = []string{"de-CH", "fr-CH", "it-CH", "en"}

func validateLocale(v rpcrm.Validation, l string) {
	if l == "" {
		return
	}
	for _, x := range Locales {
		if l == x {
			return
		}
	}
	v.Add("locale", "Unbekannte Sprache; erlaubt: "+strings.Join(Locales, ", ")+".")
}

// LoginMeta describes where a login or refresh came from, for the audit log.
type LoginMeta struct {
	IP        string
	UserAgent string
	RequestID string
}

// TokenPair is what a successful login or refresh returns.
type TokenPair struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int       `json:"expires_in"`
	ExpiresAt    time.Time `json:"-"`
}

// TenantRef identifies the tenant a call acts on.
type TenantRef struct {
	ID   uuid.UUID
	Slug string
}

// Service is the authentication and user/role administration service.
// Every method runs in one transaction scoped to the given tenant.
type Service interface {
	Login(ctx context.Context, t TenantRef, email, password string, m LoginMeta) (*TokenPair, error)
	Refresh(ctx context.Context, t TenantRef, refreshToken string, m LoginMeta) (*TokenPair, error)
	Logout(ctx context.Context, p *Principal, m LoginMeta) error
	Authenticate(ctx context.Context, t TenantRef, accessToken string) (*Principal, error)

	ListUsers(ctx context.Context, p *Principal) ([]*User, error)
	User(ctx context.Context, p *Principal, id uuid.UUID) (*User, error)
	CreateUser(ctx context.Context, p *Principal, in NewUser, m LoginMeta) (*User, error)
	UpdateUser(ctx context.Context, p *Principal, id uuid.UUID, in UserPatch, m LoginMeta) (*User, error)
	SetPassword(ctx context.Context, p *Principal, id uuid.UUID, password string, m LoginMeta) error

	ListRoles(ctx context.Context, p *Principal) ([]*Role, error)
	Role(ctx context.Context, p *Principal, id uuid.UUID) (*Role, error)
	CreateRole(ctx context.Context, p *Principal, in RoleInput, m LoginMeta) (*Role, error)
	UpdateRole(ctx context.Context, p *Principal, id uuid.UUID, in RolePatch, m LoginMeta) (*Role, error)
	DeleteRole(ctx context.Context, p *Principal, id uuid.UUID, m LoginMeta) error

	LinkService
}
