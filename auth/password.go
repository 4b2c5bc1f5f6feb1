// Package auth is the authentication and authorisation domain of RP CRM:
// password hashing and policy, access and refresh tokens, the permission
// catalogue with its built-in roles, and the user and role types. It knows
// nothing about HTTP or SQL so that every transport and store applies the
// same rules.
package auth

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/rpcrm/rpcrm"
)

// Argon2id parameters for new hashes: the OWASP minimum recommendation
// (19 MiB, 2 passes, 1 lane). Existing hashes carry their own parameters in
// the PHC string, so raising these later does not lock anyone out; see
// PasswordNeedsRehash.
const (
	argonMemory  uint32 = 19 * 1024 // KiB
	argonTime    uint32 = 2
	argonThreads uint8  = 1
	argonSaltLen        = 16
	argonKeyLen         = 32
)

// Upper bounds for parameters read from a stored hash. A corrupted or
// tampered row must not be able to make one login allocate gigabytes or spin
// for minutes.
const (
	maxArgonMemory  = 1024 * 1024 // KiB, i.e. 1 GiB
	maxArgonTime    = 64
	maxArgonThreads = 64
	minArgonSaltLen = 8
	maxArgonSaltLen = 64
	minArgonKeyLen  = 16
	maxArgonKeyLen  = 64
)

// Password length limits in runes. The upper bound keeps the policy honest
// about what a user can type; it is not needed for hashing performance.
const (
	minPasswordLen = 10
	maxPasswordLen = 256
)

// ErrInvalidHash is returned by VerifyPassword when the stored hash is not a
// well-formed argon2id PHC string. It indicates a data problem, not a wrong
// password, and must not be shown to the user.
var ErrInvalidHash = errors.New("auth: malformed password hash")

var b64 = base64.RawStdEncoding.Strict()

// HashPassword returns an argon2id hash of pw in PHC string format,
// e.g. "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>". It does not apply the
// password policy; call CheckPasswordPolicy first when a user chooses a
// password.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: reading salt: %w", err)
	}
	p := argonParams{memory: argonMemory, time: argonTime, threads: argonThreads}
	key := argon2ID([]byte(pw), salt, p, argonKeyLen)
	return p.encode(salt, key), nil
}

// VerifyPassword reports whether pw matches the encoded hash. A mismatch is
// (false, nil); an unparsable hash is (false, err) with err wrapping
// ErrInvalidHash.
func VerifyPassword(pw, encoded string) (bool, error) {
	p, salt, want, err := parseArgonHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2ID([]byte(pw), salt, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// hashesRunning counts the Argon2id hashes being computed; releasingHashMemory
// is set while a release of their memory runs.
var (
	hashesRunning       atomic.Int32
	releasingHashMemory atomic.Bool
)

// argon2ID computes an Argon2id key with the parameters p. Each hash takes
// its memory parameter (19 MiB) of scratch memory that the Go runtime would
// otherwise keep for minutes, most of a server's memory: when the last
// running hash (of a login, a new password, the start-up's dummy) is done,
// it is given back to the system in the background, one release at a time.
func argon2ID(pw, salt []byte, p argonParams, keyLen uint32) []byte {
	hashesRunning.Add(1)
	key := argon2.IDKey(pw, salt, p.time, p.memory, p.threads, keyLen)
	if hashesRunning.Add(-1) == 0 && releasingHashMemory.CompareAndSwap(false, true) {
		go func() {
			defer releasingHashMemory.Store(false)
			debug.FreeOSMemory()
		}()
	}
	return key
}

// PasswordNeedsRehash reports whether encoded was made with parameters other
// than the current ones (or cannot be parsed), so that a caller can store a
// fresh hash after a successful login.
func PasswordNeedsRehash(encoded string) bool {
	p, salt, key, err := parseArgonHash(encoded)
	if err != nil {
		return true
	}
	return p.memory != argonMemory || p.time != argonTime || p.threads != argonThreads ||
		len(salt) != argonSaltLen || len(key) != argonKeyLen
}

var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("rpcrm dummy password, never assigned to anyone")
	if err != nil {
		// crypto/rand does not fail on supported platforms; if it ever does,
		// no login can succeed anyway.
		panic(err)
	}
	return h
})

// DummyVerify spends as much time as VerifyPassword on a real hash and
// discards the result. Call it when the e-mail address is unknown (or the user
// is disabled) so that response times do not reveal which accounts exist.
// The first call also computes the dummy hash; call DummyVerify("") at
// start-up to keep that cost out of the first request.
func DummyVerify(pw string) {
	_, _ = VerifyPassword(pw, dummyHash())
}

type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
}

func (p argonParams) paramString() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.memory, p.time, p.threads)
}

func (p argonParams) encode(salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$%s$%s$%s",
		argon2.Version, p.paramString(), b64.EncodeToString(salt), b64.EncodeToString(key))
}

func parseArgonHash(encoded string) (p argonParams, salt, key []byte, err error) {
	bad := func(why string) (argonParams, []byte, []byte, error) {
		return argonParams{}, nil, nil, fmt.Errorf("%w: %s", ErrInvalidHash, why)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("wrong number of fields")
	}
	if parts[1] != "argon2id" {
		return bad("not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	var m, t, th uint64
	for i, kv := range strings.Split(parts[3], ",") {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || i > 2 || name != "mtp"[i:i+1] {
			return bad("parameters not m,t,p")
		}
		n, perr := strconv.ParseUint(val, 10, 32)
		if perr != nil {
			return bad("parameter not a number")
		}
		switch i {
		case 0:
			m = n
		case 1:
			t = n
		case 2:
			th = n
		}
	}
	if m == 0 || m > maxArgonMemory || t == 0 || t > maxArgonTime || th == 0 || th > maxArgonThreads || m < 8*th {
		return bad("parameters out of range")
	}
	p = argonParams{memory: uint32(m), time: uint32(t), threads: uint8(th)}
	// Re-encoding and comparing rejects leading zeros, signs and other
	// spellings that ParseUint would tolerate, so one hash has one spelling.
	if p.paramString() != parts[3] {
		return bad("non-canonical parameters")
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < minArgonSaltLen || len(salt) > maxArgonSaltLen {
		return bad("bad salt")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < minArgonKeyLen || len(key) > maxArgonKeyLen {
		return bad("bad key")
	}
	return p, salt, key, nil
}

//go:embed common_passwords.txt
var commonPasswordsFile string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 512)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
})

// CheckPasswordPolicy checks a password a user wants to set. email and name
// are the user's own (either may be empty) and are used to refuse passwords
// derived from them. On failure it returns an *rpcrm.Error from
// rpcrm.FieldError for the field "password" with a German message; the
// concrete type is returned (not wrapped) so callers can merge its Fields.
func CheckPasswordPolicy(pw, email, name string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		// JSON decoding already replaces broken UTF-8, so this only guards
		// other callers (CLI, imports) from storing what nobody can retype.
		return rpcrm.FieldError("password", "Das Passwort enthält ungültige Zeichen.")
	case n < minPasswordLen:
		return rpcrm.FieldError("password", fmt.Sprintf("Das Passwort muss mindestens %d Zeichen lang sein.", minPasswordLen))
	case n > maxPasswordLen:
		return rpcrm.FieldError("password", fmt.Sprintf("Das Passwort darf höchstens %d Zeichen lang sein.", maxPasswordLen))
	case isOneRepeatedRune(pw):
		return rpcrm.FieldError("password", "Das Passwort darf nicht aus einem einzigen wiederholten Zeichen bestehen.")
	case isCommonPassword(pw):
		return rpcrm.FieldError("password", "Dieses Passwort ist zu verbreitet und leicht zu erraten. Bitte wählen Sie ein anderes.")
	case matchesEmail(pw, email):
		return rpcrm.FieldError("password", "Das Passwort darf nicht Ihrer E-Mail-Adresse entsprechen.")
	case matchesName(pw, name):
		return rpcrm.FieldError("password", "Das Passwort darf nicht Ihrem Namen entsprechen.")
	}
	return nil
}

func isOneRepeatedRune(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != first {
			return false
		}
	}
	return true
}

// stripSuffix removes trailing digits, punctuation, symbols and spaces,
// because appending "123!" or a year is the most common way people satisfy a
// length rule without adding any real strength.
func stripSuffix(s string) string {
	return strings.TrimRightFunc(s, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
}

func isCommonPassword(pw string) bool {
	set := commonPasswords()
	lower := strings.ToLower(pw)
	if _, ok := set[lower]; ok {
		return true
	}
	if base := stripSuffix(lower); base != "" {
		if _, ok := set[base]; ok {
			return true
		}
	}
	return false
}

// sameAs compares case-insensitively, also after stripping a decorative
// suffix, so "Hans.Muster2024!" counts as the local part "hans.muster".
func sameAs(pw, s string) bool {
	if s == "" {
		return false
	}
	lower := strings.ToLower(pw)
	s = strings.ToLower(s)
	return lower == s || stripSuffix(lower) == s
}

func matchesEmail(pw, email string) bool {
	email = strings.TrimSpace(email)
	if email == "" {
		return false
	}
	if sameAs(pw, email) {
		return true
	}
	if at := strings.LastIndexByte(email, '@'); at > 0 {
		return sameAs(pw, email[:at])
	}
	return false
}

func matchesName(pw, name string) bool {
	name = strings.TrimSpace(name)
	if name == "" {
		return false
	}
	// People write their name with or without the space ("hansmuster").
	return sameAs(pw, name) || sameAs(strings.Join(strings.Fields(pw), ""), strings.Join(strings.Fields(name), ""))
}
