package auth

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/rpcrm/rpcrm"
)

func TestHashPasswordFormat(t *testing.T) {
	h, err := HashPassword("korrekt Pferd Batterie")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h) {
		t.Fatalf("unexpected hash format %q", h)
	}
	h2, err := HashPassword("korrekt Pferd Batterie")
	if err != nil {
		t.Fatal(err)
	}
	if h == h2 {
		t.Fatal("two hashes of the same password are equal; salt is not random")
	}
	if PasswordNeedsRehash(h) {
		t.Fatal("fresh hash reported as needing a rehash")
	}
}

func TestVerifyPassword(t *testing.T) {
	h, err := HashPassword("Grüezi mitenand 42")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"Grüezi mitenand 42", true},
		{"grüezi mitenand 42", false},
		{"Grüezi mitenand 42 ", false},
		{"", false},
	} {
		ok, err := VerifyPassword(tc.pw, h)
		if err != nil {
			t.Fatalf("VerifyPassword(%q): %v", tc.pw, err)
		}
		if ok != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, want %v", tc.pw, ok, tc.want)
		}
	}
}

// A hash made with other parameters must still verify, so that the defaults
// can be raised without locking anyone out.
func TestVerifyPasswordUsesStoredParams(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("alte Parameter!"), salt, 1, 64, 2, 24)
	enc := "$argon2id$v=19$m=64,t=1,p=2$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
	ok, err := VerifyPassword("alte Parameter!", enc)
	if err != nil || !ok {
		t.Fatalf("VerifyPassword = %v, %v; want true, nil", ok, err)
	}
	if ok, _ := VerifyPassword("alte Parameter?", enc); ok {
		t.Fatal("wrong password accepted")
	}
	if !PasswordNeedsRehash(enc) {
		t.Fatal("old parameters not reported as needing a rehash")
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	for _, enc := range []string{
		"",
		"plaintext",
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
		"x$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1,x=1$" + salt + "$" + key,
		"$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "=",
		"$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + base64.RawStdEncoding.EncodeToString([]byte("short")) + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 8)),
	} {
		ok, err := VerifyPassword("irgendein Passwort", enc)
		if ok || !errors.Is(err, ErrInvalidHash) {
			t.Errorf("VerifyPassword(%q) = %v, %v; want false, ErrInvalidHash", enc, ok, err)
		}
		if !PasswordNeedsRehash(enc) {
			t.Errorf("PasswordNeedsRehash(%q) = false for a malformed hash", enc)
		}
	}
}

func TestDummyVerify(t *testing.T) {
	// Only checks that it runs without panicking and the dummy hash is valid;
	// timing is covered by the benchmarks.
	DummyVerify("whatever")
	if _, _, _, err := parseArgonHash(dummyHash()); err != nil {
		t.Fatal(err)
	}
}

func TestCheckPasswordPolicy(t *testing.T) {
	const (
		msgShort    = "Das Passwort muss mindestens 10 Zeichen lang sein."
		msgLong     = "Das Passwort darf höchstens 256 Zeichen lang sein."
		msgRepeated = "Das Passwort darf nicht aus einem einzigen wiederholten Zeichen bestehen."
		msgCommon   = "Dieses Passwort ist zu verbreitet und leicht zu erraten. Bitte wählen Sie ein anderes."
		msgEmail    = "Das Passwort darf nicht Ihrer E-Mail-Adresse entsprechen."
		msgName     = "Das Passwort darf nicht Ihrem Namen entsprechen."
		msgInvalid  = "Das Passwort enthält ungültige Zeichen."
	)
	email, name := "hans.muster@beispiel.ch", "Hans Muster"
	for _, tc := range []struct {
		pw   string
		want string // "" means accepted
	}{
		{"Velo-Tour am Zürisee", ""},
		{"x7#Lm9!pQ2", ""},
		{"äöüäöüäöüß", ""}, // ten runes, more bytes
		{strings.Repeat("ab", 128), ""},
		{"", msgShort},
		{"kurz", msgShort},
		{"123456789", msgShort},
		{"äöüäöüäöü", msgShort}, // nine runes, eighteen bytes
		{strings.Repeat("ab", 128) + "c", msgLong},
		{"aaaaaaaaaa", msgRepeated},
		{"          ", msgRepeated},
		{"1111111111111", msgRepeated},
		{"ééééééééééé", msgRepeated},
		{"password123", msgCommon},
		{"Passwort123!", msgCommon},
		{"PASSWORT 2025", msgCommon},
		{"passwort!!!!!!", msgCommon},
		{"123456789012", msgCommon},
		{"1234567890", msgCommon},
		{"qwertzuiop", msgCommon},
		{"QwertzUiop1", msgCommon},
		{"Hallo123456", msgCommon},
		{"Schweiz2024!", msgCommon},
		{"Zürich 1291!", msgCommon},
		{"Sommer2024", msgCommon},
		{"sommer2027??", msgCommon},
		{"letmein2025", msgCommon},
		{"ILoveYou!!!!", msgCommon},
		{"Willkommen1", msgCommon},
		{"MeineCRM2025", msgCommon},
		{"rpcrm123456", msgCommon},
		{"Administrator", msgCommon},
		{"hans.muster@beispiel.ch", msgEmail},
		{"Hans.Muster@Beispiel.CH", msgEmail},
		{"hans.muster", msgEmail},
		{"Hans.Muster2024!", msgEmail},
		{"hansmuster", msgName},
		{"Hans Muster", msgName},
		{"HansMuster99", msgName},
		{"ab\xffcdefghij", msgInvalid},
	} {
		err := CheckPasswordPolicy(tc.pw, email, name)
		if tc.want == "" {
			if err != nil {
				t.Errorf("CheckPasswordPolicy(%q) = %v, want nil", tc.pw, err)
			}
			continue
		}
		e, ok := err.(*rpcrm.Error)
		if !ok {
			t.Errorf("CheckPasswordPolicy(%q) = %#v, want *rpcrm.Error", tc.pw, err)
			continue
		}
		if e.Code != rpcrm.EINVALID || e.Fields["password"] != tc.want || len(e.Fields) != 1 {
			t.Errorf("CheckPasswordPolicy(%q) = %v %v, want password: %q", tc.pw, e.Code, e.Fields, tc.want)
		}
	}
}

func TestCheckPasswordPolicyWithoutContext(t *testing.T) {
	if err := CheckPasswordPolicy("hans.muster", "", ""); err != nil {
		t.Fatalf("empty e-mail and name must not restrict anything: %v", err)
	}
	if err := CheckPasswordPolicy("keinmail-lokalteil", "@example.ch", ""); err != nil {
		t.Fatalf("degenerate e-mail: %v", err)
	}
}

func TestCommonPasswordsList(t *testing.T) {
	seen := map[string]bool{}
	n := 0
	for i, line := range strings.Split(commonPasswordsFile, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		if line != strings.ToLower(line) {
			t.Errorf("line %d: %q is not lower case", i+1, line)
		}
		if strings.IndexFunc(line, unicode.IsSpace) >= 0 {
			t.Errorf("line %d: %q contains white space", i+1, line)
		}
		if seen[line] {
			t.Errorf("line %d: duplicate %q", i+1, line)
		}
		seen[line] = true
	}
	if n < 250 {
		t.Errorf("only %d entries", n)
	}
	for _, must := range []string{
		"password", "passwort", "123456789012", "qwertzuiop", "hallo123456", "schweiz",
		"zuerich", "letmein", "iloveyou", "willkommen", "sommer2024", "admin", "meinecrm", "rpcrm",
	} {
		if !seen[must] {
			t.Errorf("%q missing from list", must)
		}
	}
	if len(commonPasswords()) != n {
		t.Errorf("parsed set has %d entries, file has %d", len(commonPasswords()), n)
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("Velo-Tour am Zürisee"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	h, err := HashPassword("Velo-Tour am Zürisee")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_, _ = VerifyPassword("falsches Passwort", h)
	}
}

func BenchmarkDummyVerify(b *testing.B) {
	DummyVerify("")
	for b.Loop() {
		DummyVerify("falsches Passwort")
	}
}
