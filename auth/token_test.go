package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
)

const testIssuer = "https://app.rpcrm.ch"

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	otherKey  = []byte("fedcba9876543210fedcba9876543210")
	testStart = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
)

type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

func newTestTokens(t *testing.T) (*Tokens, *testClock) {
	t.Helper()
	tk, err := NewTokens(testKey, testIssuer, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{testStart}
	tk.now = clk.now
	return tk, clk
}

func testClaims() AccessClaims {
	return AccessClaims{
		UserID:    uuid.MustParse("6f1c3c1e-8a4b-4a53-9a55-1b2f3c4d5e6f"),
		TenantID:  uuid.MustParse("0b9d2c4e-1f3a-4b5c-8d7e-9f0a1b2c3d4e"),
		Tenant:    "muster-ag",
		SessionID: uuid.MustParse("a1b2c3d4-e5f6-4789-8abc-def012345678"),
	}
}

// validMap returns the claims our Issue would produce, for tests that build
// tokens by hand and then break one thing.
func validMap() jwt.MapClaims {
	c := testClaims()
	return jwt.MapClaims{
		"iss": testIssuer,
		"sub": c.UserID.String(),
		"aud": c.Tenant,
		"exp": testStart.Add(10 * time.Minute).Unix(),
		"nbf": testStart.Unix(),
		"iat": testStart.Unix(),
		"jti": "abc",
		"tid": c.TenantID.String(),
		"sid": c.SessionID.String(),
	}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = "at+jwt"
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hmacRaw builds a token from a literal header so that any "alg" can be paired
// with an HS256 signature over our key (the classic algorithm confusion).
func hmacRaw(t *testing.T, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	mac := hmac.New(sha256.New, testKey)
	mac.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func wantInvalid(t *testing.T, tk *Tokens, token, tenant string) {
	t.Helper()
	c, err := tk.Verify(token, tenant)
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", c, err)
	}
	t.Logf("refused: %v", err)
	if c != (AccessClaims{}) {
		t.Fatalf("Verify returned claims with an error: %+v", c)
	}
	if rpcrm.ErrorCode(err) != rpcrm.EUNAUTHORIZED {
		t.Fatalf("code = %q", rpcrm.ErrorCode(err))
	}
	if rpcrm.ErrorMessage(err) != ErrInvalidToken.Message {
		t.Fatalf("client message leaks detail: %q", rpcrm.ErrorMessage(err))
	}
}

func TestTokenRoundTrip(t *testing.T) {
	tk, _ := newTestTokens(t)
	in := testClaims()
	tok, exp, err := tk.Issue(in)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(testStart.Add(10 * time.Minute)) {
		t.Errorf("expiresAt = %v", exp)
	}
	got, err := tk.Verify(tok, "muster-ag")
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.IssuedAt = testStart
	want.ExpiresAt = exp
	if got.UserID != want.UserID || got.TenantID != want.TenantID || got.Tenant != want.Tenant ||
		got.SessionID != want.SessionID || !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("Verify = %+v, want %+v", got, want)
	}

	// The wire format is what RFC 9068 describes.
	parts := strings.Split(tok, ".")
	var header, payload map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(hb, &header); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(pb, &payload); err != nil {
		t.Fatal(err)
	}
	if header["alg"] != "HS256" || header["typ"] != "at+jwt" {
		t.Errorf("header = %v", header)
	}
	if payload["aud"] != "muster-ag" {
		t.Errorf("aud = %#v, want a single string", payload["aud"])
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "tid", "sid"} {
		if _, ok := payload[k]; !ok {
			t.Errorf("claim %q missing", k)
		}
	}

	tok2, _, _ := tk.Issue(in)
	if tok2 == tok {
		t.Error("two tokens are identical; jti is not random")
	}
}

func TestTokenIssueIncompleteClaims(t *testing.T) {
	tk, _ := newTestTokens(t)
	for _, mod := range []func(*AccessClaims){
		func(c *AccessClaims) { c.UserID = uuid.Nil },
		func(c *AccessClaims) { c.TenantID = uuid.Nil },
		func(c *AccessClaims) { c.SessionID = uuid.Nil },
		func(c *AccessClaims) { c.Tenant = "" },
	} {
		c := testClaims()
		mod(&c)
		if _, _, err := tk.Issue(c); err == nil {
			t.Errorf("Issue(%+v) succeeded", c)
		}
	}
}

func TestTokenExpiry(t *testing.T) {
	tk, clk := newTestTokens(t)
	tok, _, err := tk.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	clk.t = testStart.Add(10*time.Minute + 29*time.Second)
	if _, err := tk.Verify(tok, "muster-ag"); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clk.t = testStart.Add(10*time.Minute + 31*time.Second)
	wantInvalid(t, tk, tok, "muster-ag")
}

func TestTokenNotYetValid(t *testing.T) {
	tk, clk := newTestTokens(t)
	clk.t = testStart.Add(2 * time.Minute)
	tok, _, err := tk.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	clk.t = testStart.Add(time.Minute + 45*time.Second)
	if _, err := tk.Verify(tok, "muster-ag"); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clk.t = testStart
	wantInvalid(t, tk, tok, "muster-ag")
}

func TestTokenWrongAudience(t *testing.T) {
	tk, _ := newTestTokens(t)
	tok, _, err := tk.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, tk, tok, "andere-gmbh")
	wantInvalid(t, tk, tok, "Muster-AG")
	wantInvalid(t, tk, tok, "")

	m := validMap()
	m["aud"] = []string{"andere-gmbh", "muster-ag"}
	wantInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testKey, nil, m), "muster-ag")
}

func TestTokenWrongIssuer(t *testing.T) {
	tk, _ := newTestTokens(t)
	other, err := NewTokens(testKey, "https://evil.example", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other.now = tk.now
	tok, _, err := other.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, tk, tok, "muster-ag")
}

func TestTokenWrongKey(t *testing.T) {
	tk, _ := newTestTokens(t)
	wantInvalid(t, tk, sign(t, jwt.SigningMethodHS256, otherKey, nil, validMap()), "muster-ag")
}

func TestTokenAlgorithms(t *testing.T) {
	tk, _ := newTestTokens(t)

	// Sanity check of the helpers: the same claims with HS256 are accepted.
	if _, err := tk.Verify(sign(t, jwt.SigningMethodHS256, testKey, nil, validMap()), "muster-ag"); err != nil {
		t.Fatalf("baseline token refused: %v", err)
	}
	if _, err := tk.Verify(hmacRaw(t, map[string]any{"alg": "HS256", "typ": "at+jwt"}, validMap()), "muster-ag"); err != nil {
		t.Fatalf("baseline raw token refused: %v", err)
	}

	t.Run("none", func(t *testing.T) {
		tok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, validMap())
		wantInvalid(t, tk, tok, "muster-ag")
		// Also with a signature segment appended.
		wantInvalid(t, tk, tok+"c2ln", "muster-ag")
		for _, alg := range []string{"none", "None", "NONE"} {
			wantInvalid(t, tk, hmacRaw(t, map[string]any{"alg": alg, "typ": "at+jwt"}, validMap()), "muster-ag")
		}
	})
	t.Run("HS512", func(t *testing.T) {
		wantInvalid(t, tk, sign(t, jwt.SigningMethodHS512, testKey, nil, validMap()), "muster-ag")
		wantInvalid(t, tk, sign(t, jwt.SigningMethodHS384, testKey, nil, validMap()), "muster-ag")
	})
	t.Run("RS256 header with HMAC signature", func(t *testing.T) {
		wantInvalid(t, tk, hmacRaw(t, map[string]any{"alg": "RS256", "typ": "at+jwt"}, validMap()), "muster-ag")
	})
	t.Run("RS256 properly signed", func(t *testing.T) {
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, tk, sign(t, jwt.SigningMethodRS256, rk, nil, validMap()), "muster-ag")
	})
	t.Run("no alg", func(t *testing.T) {
		wantInvalid(t, tk, hmacRaw(t, map[string]any{"typ": "at+jwt"}, validMap()), "muster-ag")
	})
}

func TestTokenRequiredClaims(t *testing.T) {
	tk, _ := newTestTokens(t)
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "tid", "sid"} {
		t.Run("missing "+k, func(t *testing.T) {
			m := validMap()
			delete(m, k)
			wantInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testKey, nil, m), "muster-ag")
		})
	}
	for name, mod := range map[string]func(jwt.MapClaims){
		"sub not a uuid":       func(m jwt.MapClaims) { m["sub"] = "admin" },
		"sub upper case":       func(m jwt.MapClaims) { m["sub"] = strings.ToUpper(m["sub"].(string)) },
		"sub braces":           func(m jwt.MapClaims) { m["sub"] = "{" + m["sub"].(string) + "}" },
		"sub nil uuid":         func(m jwt.MapClaims) { m["sub"] = uuid.Nil.String() },
		"tid not a uuid":       func(m jwt.MapClaims) { m["tid"] = "muster-ag" },
		"tid urn":              func(m jwt.MapClaims) { m["tid"] = "urn:uuid:" + m["tid"].(string) },
		"sid bare hex":         func(m jwt.MapClaims) { m["sid"] = strings.ReplaceAll(m["sid"].(string), "-", "") },
		"sid number":           func(m jwt.MapClaims) { m["sid"] = 42 },
		"exp string":           func(m jwt.MapClaims) { m["exp"] = "tomorrow" },
		"exp before iat":       func(m jwt.MapClaims) { m["exp"] = testStart.Add(-time.Second).Unix() },
		"lifetime over 15 min": func(m jwt.MapClaims) { m["exp"] = testStart.Add(16 * time.Minute).Unix() },
		"empty jti":            func(m jwt.MapClaims) { m["jti"] = "" },
	} {
		t.Run(name, func(t *testing.T) {
			m := validMap()
			mod(m)
			wantInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testKey, nil, m), "muster-ag")
		})
	}
}

func TestTokenType(t *testing.T) {
	tk, _ := newTestTokens(t)
	for _, typ := range []any{nil, "JWT", "jwt", "rt+jwt", "", 1, "at+jwt "} {
		wantInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testKey, map[string]any{"typ": typ}, validMap()), "muster-ag")
	}
	// RFC 9068 allows the full media type; media types are case-insensitive.
	for _, typ := range []string{"application/at+jwt", "AT+JWT"} {
		if _, err := tk.Verify(sign(t, jwt.SigningMethodHS256, testKey, map[string]any{"typ": typ}, validMap()), "muster-ag"); err != nil {
			t.Errorf("typ %q refused: %v", typ, err)
		}
	}
}

func TestTokenTampered(t *testing.T) {
	tk, _ := newTestTokens(t)
	tok, _, err := tk.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")

	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	wantInvalid(t, tk, parts[0]+"."+parts[1]+"."+base64.RawURLEncoding.EncodeToString(sig), "muster-ag")
	wantInvalid(t, tk, parts[0]+"."+parts[1]+".", "muster-ag")
	wantInvalid(t, tk, parts[0]+"."+parts[1], "muster-ag")

	// Swap in a payload for another user, keeping the original signature.
	m := validMap()
	m["sub"] = uuid.NewString()
	forged := strings.Split(sign(t, jwt.SigningMethodHS256, otherKey, nil, m), ".")
	wantInvalid(t, tk, parts[0]+"."+forged[1]+"."+parts[2], "muster-ag")

	wantInvalid(t, tk, "", "muster-ag")
	wantInvalid(t, tk, "Bearer "+tok, "muster-ag")
	wantInvalid(t, tk, tok+strings.Repeat("A", maxTokenLen), "muster-ag")
}

func TestTokenRefreshTokenRefused(t *testing.T) {
	tk, _ := newTestTokens(t)
	rt, _, err := NewRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, tk, rt, "muster-ag")
}

func TestTokenKeyHeadersIgnored(t *testing.T) {
	tk, _ := newTestTokens(t)
	// Headers naming keys elsewhere change nothing: our key still verifies...
	hdr := map[string]any{
		"kid": "../../../../etc/passwd",
		"jku": "https://evil.example/jwks.json",
		"x5u": "https://evil.example/cert.pem",
	}
	if _, err := tk.Verify(sign(t, jwt.SigningMethodHS256, testKey, hdr, validMap()), "muster-ag"); err != nil {
		t.Fatalf("token with kid/jku/x5u refused: %v", err)
	}
	// ...and a token signed with the key they point to is refused.
	hdr["jwk"] = map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(otherKey)}
	hdr["kid"] = "other"
	wantInvalid(t, tk, sign(t, jwt.SigningMethodHS256, otherKey, hdr, validMap()), "muster-ag")
}

func TestTokenCritRefused(t *testing.T) {
	tk, _ := newTestTokens(t)
	hdr := map[string]any{"crit": []string{"exp"}}
	wantInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testKey, hdr, validMap()), "muster-ag")
}

func TestNewTokensBounds(t *testing.T) {
	for _, tc := range []struct {
		key    []byte
		issuer string
		ttl    time.Duration
		ok     bool
	}{
		{testKey, testIssuer, time.Minute, true},
		{testKey, testIssuer, 15 * time.Minute, true},
		{testKey, testIssuer, 59 * time.Second, false},
		{testKey, testIssuer, 15*time.Minute + time.Second, false},
		{testKey, testIssuer, 0, false},
		{testKey, testIssuer, -time.Minute, false},
		{testKey[:31], testIssuer, 5 * time.Minute, false},
		{nil, testIssuer, 5 * time.Minute, false},
		{testKey, "", 5 * time.Minute, false},
	} {
		tk, err := NewTokens(tc.key, tc.issuer, tc.ttl)
		if (err == nil) != tc.ok {
			t.Errorf("NewTokens(len %d, %q, %v) err = %v", len(tc.key), tc.issuer, tc.ttl, err)
		}
		if err == nil && tk.TTL() != tc.ttl {
			t.Errorf("TTL() = %v, want %v", tk.TTL(), tc.ttl)
		}
	}

	// The key is copied, so later changes to the caller's slice do not matter.
	key := append([]byte(nil), testKey...)
	tk, err := NewTokens(key, testIssuer, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := tk.Issue(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	clear(key)
	if _, err := tk.Verify(tok, "muster-ag"); err != nil {
		t.Fatalf("key not copied: %v", err)
	}
}

func TestRefreshToken(t *testing.T) {
	tok, hash, err := NewRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "rt_") {
		t.Fatalf("token %q lacks prefix", tok)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(tok, "rt_"))
	if err != nil || len(raw) != 32 {
		t.Fatalf("token body: %d bytes, %v", len(raw), err)
	}
	sum := sha256.Sum256([]byte(tok))
	if string(hash) != string(sum[:]) || string(HashRefreshToken(tok)) != string(sum[:]) {
		t.Fatal("hash is not SHA-256 of the token string")
	}
	tok2, hash2, _ := NewRefreshToken()
	if tok2 == tok || string(hash2) == string(hash) {
		t.Fatal("refresh tokens repeat")
	}
}
