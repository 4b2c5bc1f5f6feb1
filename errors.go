// Package rpcrm holds what every part of RP CRM shares: the error type with a
// code that the HTTP layers map to a status, and nothing that imports HTTP or SQL.
package rpcrm

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the API layer.
const (
	EINVALID      = "invalid"      // bad input; Fields says which
	ENOTFOUND     = "not_found"    // no such record (or not visible to this tenant/user)
	ECONFLICT     = "conflict"     // unique value already taken
	EPRECONDITION = "precondition" // stale version (optimistic concurrency)
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed
	ERATELIMIT    = "rate_limited" // too many attempts
	EUNAVAILABLE  = "unavailable"  // tenant suspended or dependency down
	EINTERNAL     = "internal"     // everything else; details are logged, never shown
)

// Error is an application error with a machine-readable code, a message that
// is safe to show to the user, and optional per-field messages.
type Error struct {
	Code    string
	Message string
	// Fields maps a field name (as the client sent it, e.g. "email") to a message.
	Fields map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	return fmt.Sprintf("%s %v", e.Message, e.Fields)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error for one field.
func FieldError(field, msg string) *Error {
	return &Error{Code: EINVALID, Message: "Die Eingabe ist ungültig.", Fields: map[string]string{field: msg}}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err if it is an *Error,
// else a generic message (internal details are never shown).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Interner Fehler."
}

// Validation collects field errors; its Err method returns nil when there are none.
type Validation map[string]string

// Add records msg for field unless the field already has a message.
func (v Validation) Add(field, msg string) {
	if _, ok := v[field]; !ok {
		v[field] = msg
	}
}

// Err returns an EINVALID *Error carrying the collected fields, or nil.
func (v Validation) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Die Eingabe ist ungültig.", Fields: map[string]string(v)}
}
