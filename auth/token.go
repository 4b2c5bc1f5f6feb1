package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
)

// Access token constraints.
const (
	// MinTokenKeyLen is the minimum HMAC key length: HS256 needs at least as
	// many key bytes as the hash output to reach its full strength (RFC 7518
	// section 3.2).
	MinTokenKeyLen = 32
	// MinAccessTTL and MaxAccessTTL bound the access token lifetime. Tokens
	// are checked against the session on every request, but a short life
	// still limits what a stolen token is worth if that check is bypassed.
	MinAccessTTL = time.Minute
	MaxAccessTTL = 15 * time.Minute

	// accessTokenType is the JWT "typ" header of RFC 9068; requiring it keeps
	// other JWTs signed with the same key from being accepted as access
	// tokens (RFC 8725 section 3.11).
	accessTokenType = "at+jwt"
	// clockLeeway tolerates small clock differences between servers.
	clockLeeway = 30 * time.Second
	// maxTokenLen bounds the work spent on a header value before anything
	// is verified; our tokens are well under 1 KB.
	maxTokenLen = 4096
	// refreshTokenPrefix makes refresh tokens recognisable in logs and
	// secret scanners, and impossible to confuse with a JWT.
	refreshTokenPrefix = "rt_"
	refreshTokenBytes  = 32
)

// ErrInvalidToken is the only error Tokens.Verify returns (possibly wrapped
// with details for the log). Compare with errors.Is; send clients only its
// message, never the wrapped detail, so they learn nothing about which check
// failed.
var ErrInvalidToken = &rpcrm.Error{
	Code:    rpcrm.EUNAUTHORIZED,
	Message: "Die Anmeldung ist ungültig oder abgelaufen. Bitte melden Sie sich erneut an.",
}

// AccessClaims is what an access token asserts.
type AccessClaims struct {
	UserID uuid.UUID
	// TenantID is the database key of the tenant.
	TenantID uuid.UUID
	// Tenant is the tenant slug; it is the token audience, so a token of one
	// tenant is refused by every other.
	Tenant string
	// SessionID is the refresh-token family; the server checks on every
	// request that it is not revoked, which makes logout immediate.
	SessionID uuid.UUID
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Tokens issues and verifies HS256-signed access tokens for one issuer.
type Tokens struct {
	key    []byte
	issuer string
	ttl    time.Duration
	// now is replaceable so tests can move the clock.
	now func() time.Time
}

// NewTokens returns a Tokens with the given HMAC key (at least MinTokenKeyLen
// bytes), issuer (the "iss" claim, e.g. the public base URL) and access token
// lifetime (between MinAccessTTL and MaxAccessTTL).
func NewTokens(key []byte, issuer string, ttl time.Duration) (*Tokens, error) {
	if len(key) < MinTokenKeyLen {
		return nil, fmt.Errorf("auth: token key must be at least %d bytes, got %d", MinTokenKeyLen, len(key))
	}
	if issuer == "" {
		return nil, errors.New("auth: token issuer is empty")
	}
	if ttl < MinAccessTTL || ttl > MaxAccessTTL {
		return nil, fmt.Errorf("auth: access token ttl %v outside %v..%v", ttl, MinAccessTTL, MaxAccessTTL)
	}
	// The copy keeps a caller that reuses or zeroes its buffer from changing
	// our key underneath us.
	return &Tokens{key: append([]byte(nil), key...), issuer: issuer, ttl: ttl, now: time.Now}, nil
}

// TTL returns the access token lifetime.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// accessJWT is the wire form of the claims. aud is a single string (allowed
// by RFC 7519 and what RFC 9068 shows); a token carrying an array fails to
// decode and is refused, which is fine because we only accept our own.
type accessJWT struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  string           `json:"aud"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	TenantID  string           `json:"tid"`
	SessionID string           `json:"sid"`
}

// The getters satisfy jwt.Claims so the parser can run its standard checks.
func (c *accessJWT) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *accessJWT) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *accessJWT) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *accessJWT) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *accessJWT) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *accessJWT) GetAudience() (jwt.ClaimStrings, error) {
	if c.Audience == "" {
		return nil, nil
	}
	return jwt.ClaimStrings{c.Audience}, nil
}

// Validate is called by the jwt parser after the registered claims have been
// checked; it covers what the library does not know about.
func (c *accessJWT) Validate() error {
	// The parser calls Validate even when its own checks already failed, so
	// missing times must be handled here rather than dereferenced.
	switch {
	case c.IssuedAt == nil || c.ExpiresAt == nil:
		return errors.New("iat or exp missing")
	case c.ID == "":
		return errors.New("jti missing")
	case !c.ExpiresAt.After(c.IssuedAt.Time):
		return errors.New("exp not after iat")
	case c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxAccessTTL:
		// Even a correctly signed token may not outlive what this code would
		// ever issue.
		return errors.New("lifetime too long")
	}
	if _, err := parseStrictUUID(c.Subject); err != nil {
		return fmt.Errorf("sub: %w", err)
	}
	if _, err := parseStrictUUID(c.TenantID); err != nil {
		return fmt.Errorf("tid: %w", err)
	}
	if _, err := parseStrictUUID(c.SessionID); err != nil {
		return fmt.Errorf("sid: %w", err)
	}
	return nil
}

// parseStrictUUID accepts only the canonical lower-case hyphenated form and
// refuses the nil UUID, since uuid.Parse also takes braces, URNs and bare hex.
func parseStrictUUID(s string) (uuid.UUID, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, err
	}
	if u.String() != s {
		return uuid.Nil, errors.New("non-canonical uuid")
	}
	if u == uuid.Nil {
		return uuid.Nil, errors.New("nil uuid")
	}
	return u, nil
}

// Issue signs an access token for c. IssuedAt and ExpiresAt in c are ignored;
// the token is valid from now for TTL, and the expiry is returned.
func (t *Tokens) Issue(c AccessClaims) (string, time.Time, error) {
	if c.UserID == uuid.Nil || c.TenantID == uuid.Nil || c.SessionID == uuid.Nil || c.Tenant == "" {
		return "", time.Time{}, errors.New("auth: access claims incomplete")
	}
	// Whole seconds because that is all a NumericDate carries; the returned
	// expiry then matches what Verify will report.
	now := t.now().Truncate(time.Second)
	exp := now.Add(t.ttl)
	claims := &accessJWT{
		Issuer:    t.issuer,
		Subject:   c.UserID.String(),
		Audience:  c.Tenant,
		ExpiresAt: jwt.NewNumericDate(exp),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        rand.Text(),
		TenantID:  c.TenantID.String(),
		SessionID: c.SessionID.String(),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["typ"] = accessTokenType
	s, err := tok.SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: signing access token: %w", err)
	}
	return s, exp, nil
}

// Verify checks token for the tenant with the given slug and returns its
// claims. Every failure is ErrInvalidToken. Verify does not know about
// sessions: the caller must still check that SessionID is not revoked.
func (t *Tokens) Verify(token, tenant string) (AccessClaims, error) {
	c, err := t.verify(token, tenant)
	if err != nil {
		return AccessClaims{}, &tokenError{detail: err}
	}
	return c, nil
}

// tokenError carries the reason a token was refused into the server log while
// unwrapping to ErrInvalidToken, whose message is all a client may see.
type tokenError struct{ detail error }

func (e *tokenError) Error() string { return "auth: invalid access token: " + e.detail.Error() }
func (e *tokenError) Unwrap() error { return ErrInvalidToken }

func (t *Tokens) verify(token, tenant string) (AccessClaims, error) {
	if tenant == "" {
		return AccessClaims{}, errors.New("no tenant to check the audience against")
	}
	if len(token) > maxTokenLen {
		return AccessClaims{}, errors.New("token too long")
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(tenant),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockLeeway),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	var claims accessJWT
	_, err := p.ParseWithClaims(token, &claims, t.keyFunc)
	if err != nil {
		return AccessClaims{}, err
	}
	// The parser verified these in Validate; parsing again cannot fail.
	uid, _ := parseStrictUUID(claims.Subject)
	tid, _ := parseStrictUUID(claims.TenantID)
	sid, _ := parseStrictUUID(claims.SessionID)
	return AccessClaims{
		UserID:    uid,
		TenantID:  tid,
		Tenant:    claims.Audience,
		SessionID: sid,
		IssuedAt:  claims.IssuedAt.Time,
		ExpiresAt: claims.ExpiresAt.Time,
	}, nil
}

// keyFunc returns our one key. Header parameters that name or carry keys
// (kid, jku, x5u, x5c, jwk) are deliberately never read: honouring them is how
// attackers get tokens verified with keys of their choosing (RFC 8725
// section 3.10).
func (t *Tokens) keyFunc(tok *jwt.Token) (any, error) {
	if _, ok := tok.Method.(*jwt.SigningMethodHMAC); !ok || tok.Method.Alg() != jwt.SigningMethodHS256.Alg() {
		// Already refused by WithValidMethods; repeated so that the key can
		// never reach a verifier for another algorithm.
		return nil, fmt.Errorf("unexpected alg %v", tok.Header["alg"])
	}
	typ, _ := tok.Header["typ"].(string)
	// RFC 9068 section 4 allows the media type with its prefix, and media
	// types compare case-insensitively.
	typ = strings.ToLower(typ)
	if typ != accessTokenType && typ != "application/"+accessTokenType {
		return nil, fmt.Errorf("unexpected typ %#v", tok.Header["typ"])
	}
	if _, ok := tok.Header["crit"]; ok {
		// RFC 7515 section 4.1.11: extensions we do not understand must make
		// the token invalid, and we understand none.
		return nil, errors.New("crit header not supported")
	}
	return t.key, nil
}

// NewRefreshToken returns a new opaque refresh token ("rt_" followed by 32
// random bytes in unpadded base64url) and the SHA-256 hash to store instead
// of it. A plain hash suffices because the token has 256 bits of entropy;
// unlike a password it cannot be guessed.
func NewRefreshToken() (token string, hash []byte, err error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("auth: reading random bytes: %w", err)
	}
	token = refreshTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashRefreshToken(token), nil
}

// HashRefreshToken returns the SHA-256 hash of token, the form in which
// refresh tokens are stored and looked up.
func HashRefreshToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
