package config

import "strconv"

// SettingError reports the first setting that failed validation. Its message
// is a single line so the CLI can print it as is before exiting with status 2.
type SettingError struct {
	// Setting is the variable at fault, e.g. RPCRM_LISTEN.
	Setting string
	// Message says what is wrong. It never contains a password or secret.
	Message string
	// Source is the env file and line the value came from, e.g.
	// ".env.production:4"; empty when it came from the process environment.
	Source string
}

// Error returns "SETTING: message", with the env file line when there is one.
func (e *SettingError) Error() string {
	if e.Source == "" {
		return e.Setting + ": " + e.Message
	}
	return e.Setting + ": " + e.Message + " (from " + e.Source + ")"
}

// EnvFileError reports an env file that cannot be read or has a malformed
// line, e.g. ".env.production:7: expected KEY=VALUE".
type EnvFileError struct {
	// Path is the file as given in Options.EnvFile.
	Path string
	// Line is the 1-based line number, or 0 when the whole file is at fault.
	Line int
	// Message says what is wrong.
	Message string
	// Err is the underlying error when the file could not be read.
	Err error
}

// Error returns "path:line: message", or "path: message" for the whole file.
func (e *EnvFileError) Error() string {
	if e.Line == 0 {
		return e.Path + ": " + e.Message
	}
	return e.Path + ":" + strconv.Itoa(e.Line) + ": " + e.Message
}

// Unwrap exposes the read error so callers can test for fs.ErrNotExist.
func (e *EnvFileError) Unwrap() error { return e.Err }
