package config

import (
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const testDB = "postgres://rpcrm_app:app-pw@127.0.0.1:5432/rp_crm_test"

// opts makes Options that read env instead of the process environment, so
// tests neither see nor depend on the developer's shell.
func opts(env map[string]string) Options {
	return Options{
		Lookup: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		Environ: func() []string {
			var out []string
			for k, v := range env {
				out = append(out, k+"="+v)
			}
			return out
		},
	}
}

// with returns env plus the given key/value pairs.
func with(env map[string]string, kv ...string) map[string]string {
	out := maps.Clone(env)
	if out == nil {
		out = map[string]string{}
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func settingError(t *testing.T, err error) *SettingError {
	t.Helper()
	var se *SettingError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SettingError", err, err)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Errorf("error is not one line: %q", err.Error())
	}
	if !strings.HasPrefix(err.Error(), se.Setting+": ") {
		t.Errorf("error %q does not start with the setting name", err.Error())
	}
	return se
}

func TestDefaults(t *testing.T) {
	common := Config{
		DatabaseURL:       testDB,
		DatabaseOwnerURL:  testDB,
		TenantsFile:       "./tenants.json",
		DataDir:           "./data",
		LogLevel:          slog.LevelInfo,
		MetricsAllow:      "127.0.0.0/8,::1/128",
		AccessTokenTTL:    15 * time.Minute,
		RefreshTokenTTL:   720 * time.Hour,
		MigrateOnStart:    true,
		MaxBodyBytes:      1 << 20,
		MaxUploadBytes:    25 << 20,
		DBMaxConns:        20,
		LoginLimitIP:      20,
		LoginLimitAccount: 10,
		ShutdownTimeout:   30 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		BackupRetention:   7 * 24 * time.Hour,
	}
	tests := []struct {
		env    string // RPCRM_ENV; "" leaves it unset
		want   func(c *Config)
		forced Env
	}{
		{env: "", want: func(c *Config) {
			c.Env, c.Listen, c.LogFormat, c.CookieSecure = EnvProd, "127.0.0.1:5000", "json", true
		}},
		{env: "prod", want: func(c *Config) {
			c.Env, c.Listen, c.LogFormat, c.CookieSecure = EnvProd, "127.0.0.1:5000", "json", true
		}},
		{env: "test", want: func(c *Config) {
			c.Env, c.Listen, c.LogFormat, c.CookieSecure = EnvTest, "127.0.0.1:5100", "text", true
		}},
		{env: "dev", want: func(c *Config) {
			c.Env, c.Listen, c.LogFormat, c.CookieSecure = EnvDev, "127.0.0.1:5200", "text", false
		}},
		{env: "prod", forced: EnvDev, want: func(c *Config) {
			c.Env, c.Listen, c.LogFormat, c.CookieSecure = EnvDev, "127.0.0.1:5200", "text", false
		}},
	}
	for _, tt := range tests {
		t.Run(tt.env+"/"+string(tt.forced), func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": testDB}
			if tt.env != "" {
				env["RPCRM_ENV"] = tt.env
			}
			o := opts(env)
			o.Env = tt.forced
			got, err := Load(o)
			if err != nil {
				t.Fatal(err)
			}
			want := common
			tt.want(&want)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("got  %+v\nwant %+v", *got, want)
			}
		})
	}
}

// TestSettingsMatchLoad keeps the Settings table, which the documentation
// is written from, honest about what Load really does.
func TestSettingsMatchLoad(t *testing.T) {
	for _, e := range []Env{EnvProd, EnvTest, EnvDev} {
		o := opts(map[string]string{"RPCRM_ENV": string(e)})
		o.AllowNoDatabase = true
		c, err := Load(o)
		if err != nil {
			t.Fatal(err)
		}
		red := c.Redacted()
		var names []string
		for _, s := range Settings() {
			names = append(names, s.Name)
			if s.Description == "" {
				t.Errorf("%s has no description", s.Name)
			}
			want := s.DefaultFor(e)
			if s.Name == "RPCRM_ENV" {
				want = string(e) // set explicitly above
			}
			if got := red[s.Name]; got != want {
				t.Errorf("%s in %s: Load gives %q, Settings documents %q", s.Name, e, got, want)
			}
		}
		if got := slices.Sorted(maps.Keys(red)); !slices.Equal(got, slices.Sorted(slices.Values(names))) {
			t.Errorf("Redacted keys %v differ from Settings %v", got, names)
		}
	}
}

func TestSettingsOrderMatchesConfig(t *testing.T) {
	// Load reports the first bad setting in Settings order; the brief and
	// the docs promise that is also the order of Config's fields.
	want := []string{"RPCRM_ENV", "DATABASE_URL", "RPCRM_DATABASE_OWNER_URL", "RPCRM_LISTEN",
		"RPCRM_TENANTS_FILE", "RPCRM_DATA_DIR", "RPCRM_LOG_FORMAT", "RPCRM_LOG_LEVEL",
		"RPCRM_TRUSTED_PROXIES", "RPCRM_METRICS_ALLOW", "RPCRM_JWT_SECRET", "RPCRM_ACCESS_TOKEN_TTL",
		"RPCRM_REFRESH_TOKEN_TTL", "RPCRM_COOKIE_SECURE", "RPCRM_MIGRATE_ON_START", "RPCRM_MAX_BODY_BYTES",
		"RPCRM_MAX_UPLOAD_BYTES", "RPCRM_DB_MAX_CONNS", "RPCRM_LOGIN_LIMIT_IP", "RPCRM_LOGIN_LIMIT_ACCOUNT", "RPCRM_SHUTDOWN_TIMEOUT",
		"RPCRM_READ_TIMEOUT", "RPCRM_WRITE_TIMEOUT", "RPCRM_IDLE_TIMEOUT",
		"RPCRM_BACKUP_DIR", "RPCRM_BACKUP_RETENTION", "RPCRM_BACKUP_DATABASE_URL", "RPCRM_BACKUP_HOOK"}
	var got []string
	for _, s := range Settings() {
		got = append(got, s.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Settings order\n got %v\nwant %v", got, want)
	}
	if n := reflect.TypeFor[Config]().NumField(); n != len(want) {
		t.Errorf("Config has %d fields, Settings %d", n, len(want))
	}
}

func TestValidValues(t *testing.T) {
	tests := []struct {
		name, value, want string // want is the Redacted form
	}{
		{"RPCRM_ENV", "TEST", "test"},
		{"RPCRM_ENV", " dev ", "dev"},
		{"DATABASE_URL", "postgresql://u:p@db.example.com/x?sslmode=require", "postgresql://u:xxxxx@db.example.com/x?sslmode=require"},
		{"DATABASE_URL", "postgres://u@/x?host=/var/run/postgresql", "postgres://u@/x?host=/var/run/postgresql"},
		{"DATABASE_URL", "host=127.0.0.1 user=rpcrm_app password=pw dbname=rp_crm_prod", "host=127.0.0.1 user=rpcrm_app password=xxxxx dbname=rp_crm_prod"},
		{"DATABASE_URL", "host = h user='a b' password='p w'", "host=h user='a b' password=xxxxx"},
		{"RPCRM_DATABASE_OWNER_URL", "postgres://owner:opw@h/x", "postgres://owner:xxxxx@h/x"},
		{"RPCRM_LISTEN", "0.0.0.0:8080", "0.0.0.0:8080"},
		{"RPCRM_LISTEN", "[::1]:5000", "[::1]:5000"},
		{"RPCRM_LISTEN", "localhost:5000", "localhost:5000"},
		{"RPCRM_LISTEN", ":0", ":0"},
		{"RPCRM_TENANTS_FILE", "/etc/rpcrm/tenants.json", "/etc/rpcrm/tenants.json"},
		{"RPCRM_DATA_DIR", "/var/lib/rpcrm", "/var/lib/rpcrm"},
		{"RPCRM_LOG_FORMAT", "TEXT", "text"},
		{"RPCRM_LOG_LEVEL", "debug", "debug"},
		{"RPCRM_LOG_LEVEL", "WARN", "warn"},
		{"RPCRM_LOG_LEVEL", "error", "error"},
		{"RPCRM_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16 ,fd00::/8,", "10.0.0.1,192.168.0.0/16,fd00::/8"},
		{"RPCRM_METRICS_ALLOW", "10.1.2.3", "10.1.2.3"},
		{"RPCRM_JWT_SECRET", strings.Repeat("k", 32), "xxxxx"},
		{"RPCRM_ACCESS_TOKEN_TTL", "1m", "1m"},
		{"RPCRM_ACCESS_TOKEN_TTL", "900s", "15m"},
		{"RPCRM_REFRESH_TOKEN_TTL", "1h", "1h"},
		{"RPCRM_REFRESH_TOKEN_TTL", "2160h", "2160h"},
		{"RPCRM_COOKIE_SECURE", "no", "false"},
		{"RPCRM_COOKIE_SECURE", "0", "false"},
		{"RPCRM_COOKIE_SECURE", "False", "false"},
		{"RPCRM_MIGRATE_ON_START", "yes", "true"},
		{"RPCRM_MIGRATE_ON_START", "1", "true"},
		{"RPCRM_MIGRATE_ON_START", "false", "false"},
		{"RPCRM_MAX_BODY_BYTES", "1024", "1024"},
		{"RPCRM_MAX_BODY_BYTES", "1KiB", "1024"},
		{"RPCRM_MAX_BODY_BYTES", "2KB", "2000"},
		{"RPCRM_MAX_BODY_BYTES", "10MB", "10000000"},
		{"RPCRM_MAX_BODY_BYTES", "100MiB", "104857600"},
		{"RPCRM_MAX_BODY_BYTES", "5 mib", "5242880"},
		{"RPCRM_MAX_UPLOAD_BYTES", "1KiB", "1024"},
		{"RPCRM_MAX_UPLOAD_BYTES", "1024MiB", "1073741824"},
		{"RPCRM_DB_MAX_CONNS", "1", "1"},
		{"RPCRM_DB_MAX_CONNS", "1000", "1000"},
		{"RPCRM_LOGIN_LIMIT_IP", "10000", "10000"},
		{"RPCRM_LOGIN_LIMIT_ACCOUNT", "3", "3"},
		{"RPCRM_SHUTDOWN_TIMEOUT", "10m", "10m"},
		{"RPCRM_READ_TIMEOUT", "1s", "1s"},
		{"RPCRM_WRITE_TIMEOUT", "1h", "1h"},
		{"RPCRM_IDLE_TIMEOUT", "90s", "1m30s"},
		{"RPCRM_BACKUP_DIR", "/opt/rp-crm/backups", "/opt/rp-crm/backups"},
		{"RPCRM_BACKUP_RETENTION", "14d", "14d"},
		{"RPCRM_BACKUP_RETENTION", "168h", "7d"},
		{"RPCRM_BACKUP_RETENTION", "36h", "36h"},
		{"RPCRM_BACKUP_DATABASE_URL", "postgres://rp_crm_prod_backup:bpw@h/rp_crm_prod", "postgres://rp_crm_prod_backup:xxxxx@h/rp_crm_prod"},
		{"RPCRM_BACKUP_HOOK", "rclone copy --immutable", "rclone copy --immutable"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			c, err := Load(opts(with(map[string]string{"DATABASE_URL": testDB}, tt.name, tt.value)))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Redacted()[tt.name]; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		name, value, want string // want is a substring of the message
	}{
		{"RPCRM_ENV", "production", `"production" is not prod, test or dev`},
		{"DATABASE_URL", "mysql://u:p@h/db", `scheme "mysql" is not postgres:// or postgresql://`},
		{"DATABASE_URL", "postgres:///db", "has no host"},
		{"DATABASE_URL", "postgres://h/db", "has no user name"},
		{"DATABASE_URL", "postgres://u:p@h:port/db", "is not a valid URL"},
		{"DATABASE_URL", "just-a-word", "neither a postgres:// URL nor a key=value"},
		{"DATABASE_URL", "user=u dbname=x", "has no host"},
		{"DATABASE_URL", "host=h dbname=x", "has no user"},
		{"DATABASE_URL", "host=h user='unterminated", "neither"},
		{"RPCRM_DATABASE_OWNER_URL", "http://o:p@h/db", `scheme "http"`},
		{"RPCRM_LISTEN", "abc", `"abc" is not host:port`},
		{"RPCRM_LISTEN", "5000", "is not host:port"},
		{"RPCRM_LISTEN", ":http", "is not host:port"},
		{"RPCRM_LISTEN", ":70000", "is not host:port"},
		{"RPCRM_LISTEN", "http://x:80", "is not host:port"},
		{"RPCRM_LISTEN", "a b:80", "is not host:port"},
		{"RPCRM_LOG_FORMAT", "xml", `"xml" is not json or text`},
		{"RPCRM_LOG_LEVEL", "verbose", `"verbose" is not debug, info, warn or error`},
		{"RPCRM_TRUSTED_PROXIES", "10.0.0.1,proxy.local", `"proxy.local" is not an IP address or CIDR prefix`},
		{"RPCRM_TRUSTED_PROXIES", "10.0.0.0/33", `"10.0.0.0/33"`},
		{"RPCRM_METRICS_ALLOW", "any", `"any" is not an IP address`},
		{"RPCRM_JWT_SECRET", "short", "too short: 5 bytes, need at least 32"},
		{"RPCRM_ACCESS_TOKEN_TTL", "15", `"15" is not a duration`},
		{"RPCRM_ACCESS_TOKEN_TTL", "30s", "30s is out of range (1m to 15m)"},
		{"RPCRM_ACCESS_TOKEN_TTL", "16m", "out of range"},
		{"RPCRM_REFRESH_TOKEN_TTL", "59m", "out of range (1h to 2160h)"},
		{"RPCRM_REFRESH_TOKEN_TTL", "2161h", "out of range"},
		{"RPCRM_COOKIE_SECURE", "on", `"on" is not a boolean`},
		{"RPCRM_MIGRATE_ON_START", "maybe", "is not a boolean"},
		{"RPCRM_MAX_BODY_BYTES", "1GB", `"1GB" is not a size`},
		{"RPCRM_MAX_BODY_BYTES", "1.5MB", "is not a size"},
		{"RPCRM_MAX_BODY_BYTES", "-1", "is not a size"},
		{"RPCRM_MAX_BODY_BYTES", "1KB", "out of range (1KiB to 100MiB)"},
		{"RPCRM_MAX_BODY_BYTES", "101MiB", "out of range"},
		{"RPCRM_MAX_BODY_BYTES", "99999999999999999999", "is not a size"},
		{"RPCRM_DB_MAX_CONNS", "0", "0 is out of range (1 to 1000)"},
		{"RPCRM_DB_MAX_CONNS", "1001", "out of range"},
		{"RPCRM_DB_MAX_CONNS", "ten", `"ten" is not a whole number`},
		{"RPCRM_LOGIN_LIMIT_IP", "0", "out of range (1 to 10000)"},
		{"RPCRM_LOGIN_LIMIT_IP", "10001", "out of range"},
		{"RPCRM_LOGIN_LIMIT_ACCOUNT", "-5", "out of range"},
		{"RPCRM_LOGIN_LIMIT_ACCOUNT", "1e3", "is not a whole number"},
		{"RPCRM_SHUTDOWN_TIMEOUT", "500ms", "out of range (1s to 10m)"},
		{"RPCRM_SHUTDOWN_TIMEOUT", "11m", "out of range"},
		{"RPCRM_READ_TIMEOUT", "0s", "out of range (1s to 1h)"},
		{"RPCRM_WRITE_TIMEOUT", "2h", "out of range"},
		{"RPCRM_IDLE_TIMEOUT", "forever", "is not a duration"},
		{"RPCRM_BACKUP_RETENTION", "7", "is not a number of days (e.g. 7d) or a duration"},
		{"RPCRM_BACKUP_RETENTION", "30m", "out of range (1h to 3650d)"},
		{"RPCRM_BACKUP_RETENTION", "-1d", "is not a number of days"},
		{"RPCRM_BACKUP_DATABASE_URL", "postgres://h/db", "has no user name"},
		{"RPCRM_LISTEN", "a\nb", `"a\nb"`}, // escaped, so the message stays one line
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := Load(opts(with(map[string]string{"DATABASE_URL": testDB}, tt.name, tt.value)))
			se := settingError(t, err)
			if se.Setting != tt.name {
				t.Errorf("error names %s, want %s: %v", se.Setting, tt.name, err)
			}
			if !strings.Contains(se.Message, tt.want) {
				t.Errorf("message %q does not contain %q", se.Message, tt.want)
			}
		})
	}
}

func TestDatabaseRequired(t *testing.T) {
	for _, e := range []Env{EnvProd, EnvTest, EnvDev} {
		_, err := Load(opts(map[string]string{"RPCRM_ENV": string(e)}))
		se := settingError(t, err)
		want := "DATABASE_URL: required (the application role's PostgreSQL connection, e.g. postgres://rpcrm_app:secret@127.0.0.1:5432/rp_crm_" + string(e) + ")"
		if se.Error() != want {
			t.Errorf("got  %s\nwant %s", se, want)
		}
	}
	// Whitespace only is as good as unset.
	_, err := Load(opts(map[string]string{"DATABASE_URL": "  "}))
	if se := settingError(t, err); se.Setting != "DATABASE_URL" {
		t.Errorf("got %v", err)
	}
}

func TestAllowNoDatabase(t *testing.T) {
	o := opts(nil)
	o.Env, o.AllowNoDatabase = EnvDev, true
	c, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "" || c.DatabaseOwnerURL != "" {
		t.Errorf("got URLs %q, %q; want none", c.DatabaseURL, c.DatabaseOwnerURL)
	}

	// An owner URL alone is a half-configured database, not a dev setup.
	o = opts(map[string]string{"RPCRM_DATABASE_OWNER_URL": "postgres://o:p@h/db"})
	o.AllowNoDatabase = true
	_, err = Load(o)
	if se := settingError(t, err); se.Setting != "RPCRM_DATABASE_OWNER_URL" {
		t.Errorf("got %v", err)
	}
}

func TestOwnerURL(t *testing.T) {
	owner := "postgres://rpcrm_owner:owner-pw@127.0.0.1/rp_crm_test"
	c, err := Load(opts(map[string]string{"DATABASE_URL": testDB, "RPCRM_DATABASE_OWNER_URL": owner}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != testDB || c.DatabaseOwnerURL != owner {
		t.Errorf("got %q, %q", c.DatabaseURL, c.DatabaseOwnerURL)
	}
}

func TestForcedEnv(t *testing.T) {
	// A forced environment wins even over an invalid RPCRM_ENV, which is
	// then irrelevant.
	o := opts(map[string]string{"RPCRM_ENV": "bogus", "DATABASE_URL": testDB})
	o.Env = EnvTest
	c, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Env != EnvTest {
		t.Errorf("Env = %q, want test", c.Env)
	}

	o.Env = "staging"
	_, err = Load(o)
	if se := settingError(t, err); se.Setting != "RPCRM_ENV" {
		t.Errorf("got %v", err)
	}
}

func TestFirstErrorWins(t *testing.T) {
	// Both are wrong; the one earlier in Settings is reported, every time.
	env := map[string]string{
		"DATABASE_URL":         testDB,
		"RPCRM_IDLE_TIMEOUT":   "x",
		"RPCRM_LISTEN":         "x",
		"RPCRM_DB_MAX_CONNS":   "x",
		"RPCRM_COOKIE_SECURE":  "x",
		"RPCRM_METRICS_ALLOW":  "x",
		"RPCRM_LOG_LEVEL":      "x",
		"RPCRM_MAX_BODY_BYTES": "x",
	}
	for range 20 {
		_, err := Load(opts(env))
		if se := settingError(t, err); se.Setting != "RPCRM_LISTEN" {
			t.Fatalf("got %v, want the RPCRM_LISTEN error", err)
		}
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, ".env.test", `
RPCRM_ENV=test
DATABASE_URL=postgres://file:file-pw@127.0.0.1/rp_crm_test
RPCRM_LISTEN=:6000
RPCRM_LOG_LEVEL=debug
RPCRM_DB_MAX_CONNS=
`)
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string // Redacted values
	}{
		{"file over default", nil, map[string]string{
			"RPCRM_ENV": "test", "RPCRM_LISTEN": ":6000", "RPCRM_LOG_LEVEL": "debug",
			"RPCRM_LOG_FORMAT": "text", "RPCRM_DB_MAX_CONNS": "20",
			"DATABASE_URL": "postgres://file:xxxxx@127.0.0.1/rp_crm_test",
		}},
		{"environment over file", map[string]string{"RPCRM_LISTEN": ":7000", "RPCRM_ENV": "dev", "DATABASE_URL": testDB},
			map[string]string{
				"RPCRM_ENV": "dev", "RPCRM_LISTEN": ":7000", "RPCRM_LOG_LEVEL": "debug",
				"RPCRM_COOKIE_SECURE": "false", "DATABASE_URL": "postgres://rpcrm_app:xxxxx@127.0.0.1:5432/rp_crm_test",
			}},
		{"empty environment falls through to file", map[string]string{"RPCRM_LISTEN": ""},
			map[string]string{"RPCRM_LISTEN": ":6000"}},
		{"environment over an empty file value", map[string]string{"RPCRM_DB_MAX_CONNS": "7"},
			map[string]string{"RPCRM_DB_MAX_CONNS": "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(tt.env)
			o.EnvFile = file
			c, err := Load(o)
			if err != nil {
				t.Fatal(err)
			}
			red := c.Redacted()
			for k, want := range tt.want {
				if red[k] != want {
					t.Errorf("%s = %q, want %q", k, red[k], want)
				}
			}
		})
	}
}

func TestErrorNamesFileLine(t *testing.T) {
	file := writeFile(t, ".env.production", "DATABASE_URL="+testDB+"\n\nRPCRM_LISTEN=abc\n")
	o := opts(nil)
	o.EnvFile = file
	_, err := Load(o)
	se := settingError(t, err)
	want := `RPCRM_LISTEN: "abc" is not host:port (e.g. 127.0.0.1:5000 or :5000) (from ` + file + ":3)"
	if se.Error() != want {
		t.Errorf("got  %s\nwant %s", se, want)
	}
}

func TestMissingEnvFile(t *testing.T) {
	o := opts(map[string]string{"DATABASE_URL": testDB})
	o.EnvFile = filepath.Join(t.TempDir(), ".env.production")
	_, err := Load(o)
	var fe *EnvFileError
	if !errors.As(err, &fe) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v (%T), want an *EnvFileError wrapping ErrNotExist", err, err)
	}
	if want := o.EnvFile + ": env file not found"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestUnknownSettings(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string
		want string // the whole error, with FILE standing for the env file path
	}{
		{"typo in environment", map[string]string{"RPCRM_LISTN": ":5000"}, "",
			"RPCRM_LISTN: unknown setting (did you mean RPCRM_LISTEN?)"},
		{"wrong case", map[string]string{"rpcrm_listen": ":5000"}, "",
			"rpcrm_listen: unknown setting (did you mean RPCRM_LISTEN?)"},
		{"prefixed DATABASE_URL", map[string]string{"RPCRM_DATABASE_URL": "x"}, "",
			"RPCRM_DATABASE_URL: unknown setting (did you mean DATABASE_URL?)"},
		{"nothing close", map[string]string{"RPCRM_COLOUR_SCHEME": "dark"}, "",
			"RPCRM_COLOUR_SCHEME: unknown setting"},
		{"sorted order in environment", map[string]string{"RPCRM_ZZZ": "1", "RPCRM_JWT_SECRETS": "1"}, "",
			"RPCRM_JWT_SECRETS: unknown setting (did you mean RPCRM_JWT_SECRET?)"},
		{"typo in file", nil, "DATABASE_URL=" + testDB + "\nRPCRM_LOG_LEVL=debug\n",
			"RPCRM_LOG_LEVL: unknown setting (did you mean RPCRM_LOG_LEVEL?) (from FILE:2)"},
		{"file before environment", map[string]string{"RPCRM_AAA": "1"}, "RPCRM_IDLE_TIMEOUTS=1s\n",
			"RPCRM_IDLE_TIMEOUTS: unknown setting (did you mean RPCRM_IDLE_TIMEOUT?) (from FILE:1)"},
		{"foreign variable in file", nil, "RPCRM_PG_BINDIR=/usr/lib/postgresql/17/bin\n",
			"RPCRM_PG_BINDIR: not read from an env file; set it in the process environment (from FILE:1)"},
		{"unknown beats invalid", map[string]string{"RPCRM_LISTEN": "bad", "RPCRM_LISTN": "x"}, "",
			"RPCRM_LISTN: unknown setting (did you mean RPCRM_LISTEN?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(with(map[string]string{"DATABASE_URL": testDB}, flatten(tt.env)...))
			want := tt.want
			if tt.file != "" {
				o.EnvFile = writeFile(t, ".env", tt.file)
				want = strings.ReplaceAll(want, "FILE", o.EnvFile)
			}
			_, err := Load(o)
			if se := settingError(t, err); se.Error() != want {
				t.Errorf("got  %s\nwant %s", se, want)
			}
		})
	}
}

func TestOtherVariablesIgnored(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testDB, "PATH": "/bin", "PGPASSWORD": "x", "RPCRMX": "1",
		// Read by pgserver and pgtest, not by this package.
		"RPCRM_PG_BINDIR": "/usr/lib/postgresql/17/bin", "RPCRM_TEST_ADMIN_URL": "postgres://postgres@h/postgres",
		"RPCRM_TEST_PRIVATE_PG": "1"}
	o := opts(env)
	o.EnvFile = writeFile(t, ".env", "PGHOST=db\nCOMPOSE_PROJECT_NAME=rpcrm\n")
	if _, err := Load(o); err != nil {
		t.Fatal(err)
	}
}

func flatten(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}

func TestPasswordNeverLeaks(t *testing.T) {
	const pw = "Sup3rSecretPW"
	bad := []string{
		"postgres://user:" + pw + "/x@host/db", // unencoded '/' ends the host
		"postgres://user:" + pw + "@",
		"postgres://user:" + pw + "@host:99999999999/db",
		"postgres://user:" + pw + "@ho st/db",
		"postgres://:" + pw + "@host/db",
		"mysql://user:" + pw + "@host/db",
		"postgres://user:" + pw + "%zz@host/db",
		"host=h password=" + pw,
		"user=u password='" + pw,
		pw,
	}
	for _, name := range []string{"DATABASE_URL", "RPCRM_DATABASE_OWNER_URL"} {
		for _, v := range bad {
			env := with(map[string]string{"DATABASE_URL": testDB}, name, v)
			_, err := Load(opts(env))
			if err == nil {
				t.Errorf("%s=%s: no error", name, v)
				continue
			}
			if se := settingError(t, err); se.Setting != name || strings.Contains(err.Error(), pw) {
				t.Errorf("%s=%s: %v", name, v, err)
			}
		}
	}

	good := []string{
		"postgres://user:" + pw + "@host/db",
		"postgresql://user:" + pw + "@host:5432/db?sslmode=disable",
		"postgres://user@host/db?password=" + pw,
		"postgres://user@host/db?sslpassword=" + pw + "&sslmode=require",
		"host=h user=u password=" + pw,
		"host=h user=u password='" + pw + " with space'",
		`host=h user=u password=` + pw + `\ x`,
	}
	for _, v := range good {
		env := map[string]string{"DATABASE_URL": v, "RPCRM_JWT_SECRET": pw + pw + pw}
		c, err := Load(opts(env))
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		for k, r := range c.Redacted() {
			if strings.Contains(r, pw) {
				t.Errorf("Redacted()[%s] = %q shows the password", k, r)
			}
		}
	}

	// A short secret is reported by length only.
	_, err := Load(opts(map[string]string{"DATABASE_URL": testDB, "RPCRM_JWT_SECRET": pw}))
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("got %v", err)
	}

	// Redacted on a hand-made Config with garbage still hides it.
	c := &Config{DatabaseURL: "postgres://u:" + pw + "/x@h/db", DatabaseOwnerURL: "password='" + pw}
	for k, r := range c.Redacted() {
		if strings.Contains(r, pw) {
			t.Errorf("Redacted()[%s] = %q shows the password", k, r)
		}
	}
}

func TestSuggest(t *testing.T) {
	s := Settings()
	tests := map[string]string{
		"RPCRM_LISTN":          "RPCRM_LISTEN",
		"RPCRM_LISTEN_ADDR":    "",
		"RPCRM_DATADIR":        "RPCRM_DATA_DIR",
		"RPCRM_LOGLEVEL":       "RPCRM_LOG_LEVEL",
		"RPCRM_COOKIES_SECURE": "RPCRM_COOKIE_SECURE",
		"RPCRM_DB_MAXCONNS":    "RPCRM_DB_MAX_CONNS",
		"RPCRM_X":              "",
	}
	for in, want := range tests {
		if got := suggest(in, s); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProcessEnvironment(t *testing.T) {
	// With no Lookup, Load reads the real environment and checks its names.
	t.Setenv("DATABASE_URL", testDB)
	t.Setenv("RPCRM_LISTEN", ":5999")
	t.Setenv("RPCRM_0TYPO", "x") // sorts before any name a developer may have set
	_, err := Load(Options{})
	if se := settingError(t, err); se.Setting != "RPCRM_0TYPO" {
		t.Fatalf("got %v", err)
	}
	os.Unsetenv("RPCRM_0TYPO") // t.Setenv restores it after the test
	c, err := Load(Options{})
	if err != nil {
		t.Skipf("the environment has other RPCRM_* settings: %v", err)
	}
	if c.Listen != ":5999" || c.DatabaseURL != testDB {
		t.Errorf("got %q, %q", c.Listen, c.DatabaseURL)
	}
}
