// Package config reads RP CRM's settings from the process environment and an
// optional env file into one typed Config, and validates all of them at
// start, so a bad value stops the program before it opens a port or touches
// the database instead of failing on the first request that needs it.
//
// Settings lists every variable with its default and description; the
// documentation in docs/configuration.md is checked against it.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Env names a deployment environment. It selects per-environment defaults,
// such as the listen port.
type Env string

// The environments. Each has its own port and database (see
// docs/configuration.md), so they can run side by side on one host.
const (
	EnvProd Env = "prod"
	EnvTest Env = "test"
	EnvDev  Env = "dev"
)

func (e Env) valid() bool { return e == EnvProd || e == EnvTest || e == EnvDev }

// Config is the validated configuration. Each field names the variable it is
// read from; Settings holds the defaults and descriptions.
type Config struct {
	Env              Env        // RPCRM_ENV
	DatabaseURL      string     // DATABASE_URL: the application role's connection; empty only with Options.AllowNoDatabase
	DatabaseOwnerURL string     // RPCRM_DATABASE_OWNER_URL: migrations run with it; DatabaseURL when unset
	Listen           string     // RPCRM_LISTEN: host:port
	TenantsFile      string     // RPCRM_TENANTS_FILE
	DataDir          string     // RPCRM_DATA_DIR: uploads and keys
	LogFormat        string     // RPCRM_LOG_FORMAT: "json" or "text"
	LogLevel         slog.Level // RPCRM_LOG_LEVEL
	// TrustedProxies (RPCRM_TRUSTED_PROXIES) is a comma-separated list of
	// IPs and CIDR prefixes, already validated and without blanks.
	TrustedProxies string
	// MetricsAllow (RPCRM_METRICS_ALLOW) is in the same form as TrustedProxies.
	MetricsAllow string
	// JWTSecret (RPCRM_JWT_SECRET) is nil when unset; the server then uses
	// DataDir/keys/jwt.key.
	JWTSecret         []byte
	AccessTokenTTL    time.Duration // RPCRM_ACCESS_TOKEN_TTL
	RefreshTokenTTL   time.Duration // RPCRM_REFRESH_TOKEN_TTL
	CookieSecure      bool          // RPCRM_COOKIE_SECURE
	MigrateOnStart    bool          // RPCRM_MIGRATE_ON_START
	MaxBodyBytes      int64         // RPCRM_MAX_BODY_BYTES
	MaxUploadBytes    int64         // RPCRM_MAX_UPLOAD_BYTES: largest document
	DBMaxConns        int32         // RPCRM_DB_MAX_CONNS
	LoginLimitIP      int           // RPCRM_LOGIN_LIMIT_IP: attempts per minute per client address
	LoginLimitAccount int           // RPCRM_LOGIN_LIMIT_ACCOUNT: failed attempts per 15 minutes per account
	ShutdownTimeout   time.Duration // RPCRM_SHUTDOWN_TIMEOUT
	ReadTimeout       time.Duration // RPCRM_READ_TIMEOUT
	WriteTimeout      time.Duration // RPCRM_WRITE_TIMEOUT
	IdleTimeout       time.Duration // RPCRM_IDLE_TIMEOUT
	// BackupDir (RPCRM_BACKUP_DIR) is as configured; "" means
	// DataDir/backups, which BackupDirectory resolves.
	BackupDir         string
	BackupRetention   time.Duration // RPCRM_BACKUP_RETENTION
	BackupDatabaseURL string        // RPCRM_BACKUP_DATABASE_URL: the backup role's connection (BYPASSRLS, read-only)
	BackupHook        string        // RPCRM_BACKUP_HOOK: shell command run with the manifest path after a backup
}

// Options says where Load reads from. The zero value reads the process
// environment only.
type Options struct {
	// EnvFile is an optional env file (e.g. .env.production). When set, the
	// file must exist.
	EnvFile string
	// Lookup reads one variable of the process environment. Nil means
	// os.LookupEnv; tests pass a map.
	Lookup func(string) (string, bool)
	// Environ lists the process environment as KEY=VALUE strings, so that
	// unknown RPCRM_* variables can be reported. When both Lookup and
	// Environ are nil, os.Environ is used; when only Lookup is set, the
	// environment is not checked for unknown names, since Lookup alone
	// cannot enumerate it.
	Environ func() []string
	// Env, when set, overrides RPCRM_ENV; `rpcrm dev` uses it.
	Env Env
	// AllowNoDatabase lets DATABASE_URL be unset, for `rpcrm dev`, which
	// then starts its own database.
	AllowNoDatabase bool
	// TenantsFileInDataDir makes RPCRM_DATA_DIR/tenants.json the default
	// tenants file, for `rpcrm dev`, which writes its demo tenants there.
	TenantsFileInDataDir bool
}

// Load reads and validates every setting. Values come from the process
// environment, then the env file, then the defaults in Settings; an empty
// value counts as unset. It returns the first problem found, in the order of
// Settings, as a *SettingError (or an *EnvFileError for an unreadable or
// malformed env file), so the same bad input always gives the same message.
func Load(o Options) (*Config, error) {
	lookup, environ := o.Lookup, o.Environ
	if lookup == nil {
		lookup = os.LookupEnv
		if environ == nil {
			environ = os.Environ
		}
	}
	settings := Settings()
	var file *envFile
	if o.EnvFile != "" {
		f, err := readEnvFile(o.EnvFile)
		if err != nil {
			return nil, err
		}
		file = f
	}
	// Unknown names go first: a misspelt setting is usually the cause of
	// whatever else looks wrong (a "required" error, a surprising default).
	if err := checkUnknown(settings, file, environ); err != nil {
		return nil, err
	}

	l := &loader{lookup: lookup, file: file, settings: map[string]Setting{}}
	for _, s := range settings {
		l.settings[s.Name] = s
	}
	c := &Config{}

	if o.Env != "" {
		if !o.Env.valid() {
			return nil, &SettingError{Setting: envEnv, Message: strconv.Quote(string(o.Env)) + " is not prod, test or dev"}
		}
		l.env = o.Env
	} else {
		l.env = Env(l.oneOf(envEnv, string(EnvProd), string(EnvTest), string(EnvDev)))
	}
	c.Env = l.env

	c.DatabaseURL = l.postgres(envDatabaseURL)
	if l.err == nil && c.DatabaseURL == "" && !o.AllowNoDatabase {
		l.fail(envDatabaseURL, "", "required (the application role's PostgreSQL connection, e.g. postgres://rpcrm_app:secret@127.0.0.1:5432/rp_crm_"+string(l.env)+")")
	}
	c.DatabaseOwnerURL = l.postgres(envDatabaseOwnerURL)
	if l.err == nil {
		switch {
		case c.DatabaseOwnerURL == "":
			c.DatabaseOwnerURL = c.DatabaseURL
		case c.DatabaseURL == "":
			// Migrating a database the server will not use is a half-done
			// setup, not something to guess around.
			_, src := l.value(envDatabaseOwnerURL)
			l.fail(envDatabaseOwnerURL, src, "set but DATABASE_URL is not")
		}
	}

	c.Listen = l.listen(envListen)
	c.TenantsFile, _ = l.value(envTenantsFile)
	c.DataDir, _ = l.value(envDataDir)
	if o.TenantsFileInDataDir && !l.isSet(envTenantsFile) {
		c.TenantsFile = filepath.Join(c.DataDir, "tenants.json")
	}
	c.LogFormat = l.oneOf(envLogFormat, "json", "text")
	c.LogLevel = l.level(envLogLevel)
	c.TrustedProxies = l.ipList(envTrustedProxies)
	c.MetricsAllow = l.ipList(envMetricsAllow)
	c.JWTSecret = l.secret(envJWTSecret, 32)
	c.AccessTokenTTL = l.duration(envAccessTokenTTL, time.Minute, 15*time.Minute)
	c.RefreshTokenTTL = l.duration(envRefreshTokenTTL, time.Hour, 2160*time.Hour)
	c.CookieSecure = l.boolean(envCookieSecure)
	c.MigrateOnStart = l.boolean(envMigrateOnStart)
	c.MaxBodyBytes = l.size(envMaxBodyBytes, 1<<10, 100<<20)
	c.MaxUploadBytes = l.size(envMaxUploadBytes, 1<<10, 1<<30)
	c.DBMaxConns = int32(l.integer(envDBMaxConns, 1, 1000))
	c.LoginLimitIP = int(l.integer(envLoginLimitIP, 1, 10000))
	c.LoginLimitAccount = int(l.integer(envLoginLimitAccount, 1, 10000))
	c.ShutdownTimeout = l.duration(envShutdownTimeout, time.Second, 10*time.Minute)
	c.ReadTimeout = l.duration(envReadTimeout, time.Second, time.Hour)
	c.WriteTimeout = l.duration(envWriteTimeout, time.Second, time.Hour)
	c.IdleTimeout = l.duration(envIdleTimeout, time.Second, time.Hour)
	c.BackupDir, _ = l.value(envBackupDir)
	c.BackupRetention = l.retention(envBackupRetention, time.Hour, 3650*24*time.Hour)
	c.BackupDatabaseURL = l.postgres(envBackupDatabaseURL)
	c.BackupHook, _ = l.value(envBackupHook)

	if l.err != nil {
		return nil, l.err
	}
	return c, nil
}

// checkUnknown reports the first RPCRM_* name that is not a setting: first
// in the env file in line order, then in the environment in sorted order.
func checkUnknown(settings []Setting, file *envFile, environ func() []string) error {
	known := make(map[string]bool, len(settings))
	for _, s := range settings {
		known[s.Name] = true
	}
	if file != nil {
		for _, e := range file.entries {
			src := file.path + ":" + strconv.Itoa(e.line)
			switch {
			case isForeign(e.key):
				// Its owner reads only the process environment, so
				// accepting it here would silently do nothing.
				return &SettingError{Setting: e.key, Message: "not read from an env file; set it in the process environment", Source: src}
			case isOurs(e.key) && !known[e.key]:
				return &SettingError{Setting: e.key, Message: unknownMessage(e.key, settings), Source: src}
			}
		}
	}
	if environ == nil {
		return nil
	}
	var unknown []string
	for _, kv := range environ() {
		k, _, _ := strings.Cut(kv, "=")
		if isOurs(k) && !known[k] && !isForeign(k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	k := slices.Min(unknown)
	return &SettingError{Setting: k, Message: unknownMessage(k, settings)}
}

// loader reads settings one after the other and keeps only the first
// error; every method is a no-op once it has failed, which keeps Load a flat
// list in the documented order.
type loader struct {
	env      Env
	lookup   func(string) (string, bool)
	file     *envFile
	settings map[string]Setting
	err      *SettingError
}

func (l *loader) fail(name, source, msg string) {
	if l.err == nil {
		l.err = &SettingError{Setting: name, Message: msg, Source: source}
	}
}

// raw returns the untrimmed value of name and the env file line it came
// from. Blank counts as unset at every level so that "KEY=" in a file or a
// variable exported empty by a container template falls through to the next
// source instead of failing.
func (l *loader) raw(name string) (value, source string) {
	if v, ok := l.lookup(name); ok && strings.TrimSpace(v) != "" {
		return v, ""
	}
	if v, src, ok := l.file.lookup(name); ok && strings.TrimSpace(v) != "" {
		return v, src
	}
	return l.settings[name].DefaultFor(l.env), ""
}

// isSet reports whether name has a non-blank value in the environment or the env file.
func (l *loader) isSet(name string) bool {
	if v, ok := l.lookup(name); ok && strings.TrimSpace(v) != "" {
		return true
	}
	v, _, ok := l.file.lookup(name)
	return ok && strings.TrimSpace(v) != ""
}

// value is raw with surrounding whitespace removed, which is never
// meaningful in a setting other than a secret.
func (l *loader) value(name string) (string, string) {
	v, src := l.raw(name)
	return strings.TrimSpace(v), src
}

func (l *loader) oneOf(name string, choices ...string) string {
	if l.err != nil {
		return ""
	}
	v, src := l.value(name)
	if lv := strings.ToLower(v); slices.Contains(choices, lv) {
		return lv
	}
	l.fail(name, src, strconv.Quote(v)+" is not "+orList(choices))
	return ""
}

func (l *loader) level(name string) slog.Level {
	switch v := l.oneOf(name, "debug", "info", "warn", "error"); v {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (l *loader) postgres(name string) string {
	if l.err != nil {
		return ""
	}
	v, src := l.value(name)
	if v == "" {
		return ""
	}
	if msg := checkPostgres(v); msg != "" {
		l.fail(name, src, msg)
		return ""
	}
	return v
}

func (l *loader) listen(name string) string {
	if l.err != nil {
		return ""
	}
	v, src := l.value(name)
	if msg := checkListen(v); msg != "" {
		l.fail(name, src, msg)
		return ""
	}
	return v
}

func (l *loader) ipList(name string) string {
	if l.err != nil {
		return ""
	}
	v, src := l.value(name)
	list, msg := normalizeIPList(v)
	if msg != "" {
		l.fail(name, src, msg)
	}
	return list
}

// secret is not trimmed: its bytes are the key, and the message never shows
// it, only its length.
func (l *loader) secret(name string, minLen int) []byte {
	if l.err != nil {
		return nil
	}
	v, src := l.raw(name)
	if strings.TrimSpace(v) == "" {
		return nil
	}
	if len(v) < minLen {
		l.fail(name, src, fmt.Sprintf("too short: %d bytes, need at least %d (e.g. openssl rand -base64 48)", len(v), minLen))
		return nil
	}
	return []byte(v)
}

func (l *loader) duration(name string, lo, hi time.Duration) time.Duration {
	if l.err != nil {
		return 0
	}
	v, src := l.value(name)
	d, err := time.ParseDuration(v)
	if err != nil {
		l.fail(name, src, strconv.Quote(v)+" is not a duration (e.g. 30s, 15m, 2h)")
		return 0
	}
	if d < lo || d > hi {
		l.fail(name, src, fmt.Sprintf("%s is out of range (%s to %s)", formatDuration(d), formatDuration(lo), formatDuration(hi)))
		return 0
	}
	return d
}

func (l *loader) boolean(name string) bool {
	if l.err != nil {
		return false
	}
	v, src := l.value(name)
	b, ok := parseBool(v)
	if !ok {
		l.fail(name, src, strconv.Quote(v)+" is not a boolean (true/false, 1/0, yes/no)")
	}
	return b
}

func (l *loader) integer(name string, lo, hi int64) int64 {
	if l.err != nil {
		return 0
	}
	v, src := l.value(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		l.fail(name, src, strconv.Quote(v)+" is not a whole number")
		return 0
	}
	if n < lo || n > hi {
		l.fail(name, src, fmt.Sprintf("%d is out of range (%d to %d)", n, lo, hi))
		return 0
	}
	return n
}

func (l *loader) size(name string, lo, hi int64) int64 {
	if l.err != nil {
		return 0
	}
	v, src := l.value(name)
	n, ok := parseSize(v)
	if !ok {
		l.fail(name, src, strconv.Quote(v)+" is not a size (bytes, or a number with KB, MB, KiB or MiB)")
		return 0
	}
	if n < lo || n > hi {
		l.fail(name, src, fmt.Sprintf("%s (%d bytes) is out of range (%s to %s)", strconv.Quote(v), n, formatSize(lo), formatSize(hi)))
		return 0
	}
	return n
}

// orList formats choices as "a, b or c".
func orList(choices []string) string {
	if len(choices) == 1 {
		return choices[0]
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

// Redacted returns every setting, keyed by variable name, as it would be
// written in an env file, with passwords and secrets replaced by "xxxxx".
// It is meant for printouts and start-up logs; iterate Settings for a stable
// order.
func (c *Config) Redacted() map[string]string {
	secret := ""
	if len(c.JWTSecret) > 0 {
		secret = redacted
	}
	return map[string]string{
		envEnv:               string(c.Env),
		envDatabaseURL:       redactPostgres(c.DatabaseURL),
		envDatabaseOwnerURL:  redactPostgres(c.DatabaseOwnerURL),
		envListen:            c.Listen,
		envTenantsFile:       c.TenantsFile,
		envDataDir:           c.DataDir,
		envLogFormat:         c.LogFormat,
		envLogLevel:          strings.ToLower(c.LogLevel.String()),
		envTrustedProxies:    c.TrustedProxies,
		envMetricsAllow:      c.MetricsAllow,
		envJWTSecret:         secret,
		envAccessTokenTTL:    formatDuration(c.AccessTokenTTL),
		envRefreshTokenTTL:   formatDuration(c.RefreshTokenTTL),
		envCookieSecure:      strconv.FormatBool(c.CookieSecure),
		envMigrateOnStart:    strconv.FormatBool(c.MigrateOnStart),
		envMaxBodyBytes:      strconv.FormatInt(c.MaxBodyBytes, 10),
		envMaxUploadBytes:    strconv.FormatInt(c.MaxUploadBytes, 10),
		envDBMaxConns:        strconv.FormatInt(int64(c.DBMaxConns), 10),
		envLoginLimitIP:      strconv.Itoa(c.LoginLimitIP),
		envLoginLimitAccount: strconv.Itoa(c.LoginLimitAccount),
		envShutdownTimeout:   formatDuration(c.ShutdownTimeout),
		envReadTimeout:       formatDuration(c.ReadTimeout),
		envWriteTimeout:      formatDuration(c.WriteTimeout),
		envIdleTimeout:       formatDuration(c.IdleTimeout),
		envBackupDir:         c.BackupDir,
		envBackupRetention:   formatRetention(c.BackupRetention),
		envBackupDatabaseURL: redactPostgres(c.BackupDatabaseURL),
		envBackupHook:        c.BackupHook,
	}
}

// BackupDirectory is where `rpcrm backup` writes: RPCRM_BACKUP_DIR, or
// RPCRM_DATA_DIR/backups when that is unset.
func (c *Config) BackupDirectory() string {
	if c.BackupDir != "" {
		return c.BackupDir
	}
	return filepath.Join(c.DataDir, "backups")
}

// retention reads a duration that may also be given in whole days ("7d"),
// since backup retention is naturally counted in days.
func (l *loader) retention(name string, lo, hi time.Duration) time.Duration {
	if l.err != nil {
		return 0
	}
	v, src := l.value(name)
	d, ok := ParseRetention(v)
	if !ok {
		l.fail(name, src, strconv.Quote(v)+" is not a number of days (e.g. 7d) or a duration (e.g. 168h)")
		return 0
	}
	if d < lo || d > hi {
		l.fail(name, src, fmt.Sprintf("%s is out of range (%s to %s)", formatRetention(d), formatRetention(lo), formatRetention(hi)))
		return 0
	}
	return d
}

// ParseRetention accepts "7d" (whole days) or a Go duration ("36h").
func ParseRetention(v string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(strings.ToLower(v), "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(v)
	return d, err == nil
}

// formatRetention writes whole days as "7d" and anything else as a duration.
func formatRetention(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return formatDuration(d)
}
