package config

import "strings"

// Setting describes one configuration variable. The table returned by
// Settings is the single source of the defaults: Load parses a missing value
// from DefaultFor, so the documentation and the running server cannot drift
// apart.
type Setting struct {
	// Name is the environment variable, e.g. RPCRM_LISTEN.
	Name string
	// Default is the value used when the setting is unset or empty, written
	// the way Redacted prints it; "" means there is none.
	Default string
	// EnvDefault overrides Default in the environments it lists.
	EnvDefault map[Env]string
	// Description says in one sentence what the setting controls.
	Description string
}

// DefaultFor returns the default of s in environment e.
func (s Setting) DefaultFor(e Env) string {
	if v, ok := s.EnvDefault[e]; ok {
		return v
	}
	return s.Default
}

// Settings returns every setting in the order Load validates them, which is
// also the order of the fields of Config. Each call returns a fresh table so
// no caller can change the defaults another one sees.
func Settings() []Setting {
	return []Setting{
		{Name: envEnv, Default: string(EnvProd),
			Description: "Environment: prod, test or dev. Selects the defaults marked per environment."},
		{Name: envDatabaseURL,
			Description: "PostgreSQL connection of the application role (URL or key=value form). Required, except that `rpcrm dev` starts its own database when it is unset."},
		{Name: envDatabaseOwnerURL,
			Description: "PostgreSQL connection of the role that owns the schema; migrations run with it. Defaults to DATABASE_URL."},
		{Name: envListen, Default: "127.0.0.1:5000",
			EnvDefault:  map[Env]string{EnvTest: "127.0.0.1:5100", EnvDev: "127.0.0.1:5200"},
			Description: "Address (host:port) the HTTP server listens on."},
		{Name: envTenantsFile, Default: "./tenants.json",
			Description: "Path of the tenants file."},
		{Name: envDataDir, Default: "./data",
			Description: "Directory for uploads and keys."},
		{Name: envLogFormat, Default: "json",
			EnvDefault:  map[Env]string{EnvTest: "text", EnvDev: "text"},
			Description: "Log format: json or text."},
		{Name: envLogLevel, Default: "info",
			Description: "Lowest log level written: debug, info, warn or error."},
		{Name: envTrustedProxies,
			Description: "Comma-separated IPs or CIDR prefixes of reverse proxies whose X-Forwarded-* headers are believed. Empty trusts none."},
		{Name: envMetricsAllow, Default: "127.0.0.0/8,::1/128",
			Description: "Comma-separated IPs or CIDR prefixes allowed to read /metrics."},
		{Name: envJWTSecret,
			Description: "Secret (at least 32 bytes) that signs access tokens. When unset the server uses RPCRM_DATA_DIR/keys/jwt.key, creating it if needed."},
		{Name: envAccessTokenTTL, Default: "15m",
			Description: "Lifetime of an access token, 1m to 15m."},
		{Name: envRefreshTokenTTL, Default: "720h",
			Description: "Lifetime of a refresh token, 1h to 2160h."},
		{Name: envCookieSecure, Default: "true",
			EnvDefault:  map[Env]string{EnvDev: "false"},
			Description: "Mark cookies Secure (sent over HTTPS only)."},
		{Name: envMigrateOnStart, Default: "true",
			Description: "Apply pending database migrations when the server starts."},
		{Name: envMaxBodyBytes, Default: "1048576",
			Description: "Largest accepted request body, 1KiB to 100MiB; plain bytes or a number with KB, MB, KiB or MiB."},
		{Name: envMaxUploadBytes, Default: "26214400",
			Description: "Largest uploaded document, 1KiB to 1GiB (1024MiB); plain bytes or a number with KB, MB, KiB or MiB."},
		{Name: envDBMaxConns, Default: "20",
			Description: "Largest number of open database connections, 1 to 1000."},
		{Name: envLoginLimitIP, Default: "20",
			Description: "Login attempts allowed per minute per client address, 1 to 10000."},
		{Name: envLoginLimitAccount, Default: "10",
			Description: "Failed login attempts allowed per 15 minutes per account, 1 to 10000."},
		{Name: envShutdownTimeout, Default: "30s",
			Description: "How long a graceful shutdown waits for running requests, 1s to 10m."},
		{Name: envReadTimeout, Default: "15s",
			Description: "Longest time to read a whole request, 1s to 1h."},
		{Name: envWriteTimeout, Default: "30s",
			Description: "Longest time to write a response, 1s to 1h."},
		{Name: envIdleTimeout, Default: "2m",
			Description: "How long an idle keep-alive connection stays open, 1s to 1h."},
		{Name: envBackupDir,
			Description: "Directory `rpcrm backup` writes to and `rpcrm restore` reads from. Defaults to RPCRM_DATA_DIR/backups."},
		{Name: envBackupRetention, Default: "7d",
			Description: "How long backups are kept: whole days (7d) or a duration (36h), 1h to 3650d."},
		{Name: envBackupDatabaseURL,
			Description: "PostgreSQL connection of the backup role (BYPASSRLS, read-only), which `rpcrm backup` dumps with. Required by `rpcrm backup`."},
		{Name: envBackupHook,
			Description: "Shell command run after a successful backup with the manifest path as its argument (off-site copy); its failure fails the backup."},
	}
}

// Names of the environment variables. They are constants rather than
// literals in Load so a typo fails to compile instead of silently reading an
// unset variable.
const (
	envEnv               = "RPCRM_ENV"
	envDatabaseURL       = "DATABASE_URL"
	envDatabaseOwnerURL  = "RPCRM_DATABASE_OWNER_URL"
	envListen            = "RPCRM_LISTEN"
	envTenantsFile       = "RPCRM_TENANTS_FILE"
	envDataDir           = "RPCRM_DATA_DIR"
	envLogFormat         = "RPCRM_LOG_FORMAT"
	envLogLevel          = "RPCRM_LOG_LEVEL"
	envTrustedProxies    = "RPCRM_TRUSTED_PROXIES"
	envMetricsAllow      = "RPCRM_METRICS_ALLOW"
	envJWTSecret         = "RPCRM_JWT_SECRET"
	envAccessTokenTTL    = "RPCRM_ACCESS_TOKEN_TTL"
	envRefreshTokenTTL   = "RPCRM_REFRESH_TOKEN_TTL"
	envCookieSecure      = "RPCRM_COOKIE_SECURE"
	envMigrateOnStart    = "RPCRM_MIGRATE_ON_START"
	envMaxBodyBytes      = "RPCRM_MAX_BODY_BYTES"
	envMaxUploadBytes    = "RPCRM_MAX_UPLOAD_BYTES"
	envDBMaxConns        = "RPCRM_DB_MAX_CONNS"
	envLoginLimitIP      = "RPCRM_LOGIN_LIMIT_IP"
	envLoginLimitAccount = "RPCRM_LOGIN_LIMIT_ACCOUNT"
	envShutdownTimeout   = "RPCRM_SHUTDOWN_TIMEOUT"
	envReadTimeout       = "RPCRM_READ_TIMEOUT"
	envWriteTimeout      = "RPCRM_WRITE_TIMEOUT"
	envIdleTimeout       = "RPCRM_IDLE_TIMEOUT"
	envBackupDir         = "RPCRM_BACKUP_DIR"
	envBackupRetention   = "RPCRM_BACKUP_RETENTION"
	envBackupDatabaseURL = "RPCRM_BACKUP_DATABASE_URL"
	envBackupHook        = "RPCRM_BACKUP_HOOK"
)

// prefix marks the variables this program owns. Any other name with it is a
// mistake, because nothing else would read it.
const prefix = "RPCRM_"

// Variables with our prefix that other packages read straight from the
// process environment. They are not settings, but Load must not call them
// unknown, or setting one would stop the server.
const (
	pgBinDirVar = "RPCRM_PG_BINDIR" // pgserver: where `rpcrm dev` finds initdb and postgres
	testPrefix  = "RPCRM_TEST_"     // pgtest and other test harnesses
)

// isForeign reports whether name belongs to another package (see above).
func isForeign(name string) bool {
	return name == pgBinDirVar || strings.HasPrefix(name, testPrefix)
}

// isOurs reports whether name claims to be one of our settings. The match is
// case-insensitive because rpcrm_listen is far more likely a typo than some
// other program's variable.
func isOurs(name string) bool {
	return len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix)
}

// unknownMessage explains an unknown setting and, when one is close enough to
// be the likely intent, names it.
func unknownMessage(name string, settings []Setting) string {
	if s := suggest(name, settings); s != "" {
		return "unknown setting (did you mean " + s + "?)"
	}
	return "unknown setting"
}

// suggest returns the known name closest to name by edit distance, or "" if
// none is close. Comparing without the prefix too catches RPCRM_DATABASE_URL,
// which people write by analogy with every other setting. The allowed
// distance grows with the name so that RPCRM_X is not "corrected" to
// RPCRM_ENV.
func suggest(name string, settings []Setting) string {
	up := strings.ToUpper(name)
	bare := strings.TrimPrefix(up, prefix)
	maxDistance := min(3, max(1, len(bare)/3))
	best, bestDist := "", maxDistance+1
	for _, s := range settings {
		d := min(editDistance(up, s.Name), editDistance(bare, s.Name))
		if d < bestDist {
			best, bestDist = s.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, counted in bytes
// since setting names are ASCII.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
