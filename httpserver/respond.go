package httpserver

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/rpcrm/rpcrm"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	Code      string       `json:"code,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// FieldError names one bad input field (RFC 9457 §3 extension member).
type FieldError struct {
	Field   string `json:"field"`
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// problemTypeBase prefixes the problem type URIs; they are identifiers, documented in docs/api.md.
const problemTypeBase = "https://rpcrm.ch/problems/"

// statusOf maps an error code to its HTTP status: the one place where domain
// errors meet HTTP.
func statusOf(code string) int {
	switch code {
	case rpcrm.EINVALID:
		return http.StatusUnprocessableEntity
	case rpcrm.ENOTFOUND:
		return http.StatusNotFound
	case rpcrm.ECONFLICT:
		return http.StatusConflict
	case rpcrm.EPRECONDITION:
		return http.StatusPreconditionFailed
	case rpcrm.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case rpcrm.EFORBIDDEN:
		return http.StatusForbidden
	case rpcrm.ERATELIMIT:
		return http.StatusTooManyRequests
	case rpcrm.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var titles = map[string]string{
	rpcrm.EINVALID:      "Ungültige Eingabe",
	rpcrm.ENOTFOUND:     "Nicht gefunden",
	rpcrm.ECONFLICT:     "Konflikt",
	rpcrm.EPRECONDITION: "Veraltete Version",
	rpcrm.EUNAUTHORIZED: "Nicht angemeldet",
	rpcrm.EFORBIDDEN:    "Keine Berechtigung",
	rpcrm.ERATELIMIT:    "Zu viele Anfragen",
	rpcrm.EUNAVAILABLE:  "Nicht verfügbar",
	rpcrm.EINTERNAL:     "Interner Fehler",
}

// ProblemFor builds the problem document for err. Internal errors get a
// generic text; their detail only goes to the log.
func ProblemFor(r *http.Request, err error) Problem {
	code := rpcrm.ErrorCode(err)
	p := Problem{
		Type:      problemTypeBase + code,
		Title:     titles[code],
		Status:    statusOf(code),
		Detail:    rpcrm.ErrorMessage(err),
		Instance:  r.URL.Path,
		Code:      code,
		RequestID: RequestInfo(r.Context()).RequestID,
	}
	var e *rpcrm.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		for f, msg := range e.Fields {
			p.Errors = append(p.Errors, FieldError{Field: f, Pointer: "#/" + strings.ReplaceAll(f, ".", "/"), Detail: msg})
		}
		sort.Slice(p.Errors, func(i, j int) bool { return p.Errors[i].Field < p.Errors[j].Field })
	}
	return Localize(r, p)
}

// Localize translates the texts of p (title, detail, the fields' details)
// into the language the request prefers: English when its Accept-Language
// ranks English above German, else German, as the services write them.
func Localize(r *http.Request, p Problem) Problem {
	return localize(ProblemLanguage(r), p)
}

// localize is Localize for the language lang ("de" or "en").
func localize(lang string, p Problem) Problem {
	if lang == "de" {
		return p
	}
	p.Title = rpcrm.Translate(lang, p.Title)
	p.Detail = rpcrm.Translate(lang, p.Detail)
	if len(p.Errors) > 0 {
		errs := make([]FieldError, len(p.Errors))
		for i, e := range p.Errors {
			e.Detail = rpcrm.Translate(lang, e.Detail)
			errs[i] = e
		}
		p.Errors = errs
	}
	return p
}

// ProblemLanguage returns "en" when the request's Accept-Language prefers
// English to German (a higher q, or the same q listed first), else "de".
// Other languages do not count: there are no other translations.
func ProblemLanguage(r *http.Request) string {
	h := r.Header.Get("Accept-Language")
	if h == "" {
		return "de"
	}
	best, bestQ := "de", -1.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if primary != "en" && primary != "de" {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q > bestQ {
			best, bestQ = primary, q
		}
	}
	if bestQ <= 0 {
		return "de"
	}
	return best
}

// Error writes err as a problem document and logs it when it is a server fault.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := ProblemFor(r, err)
	if p.Status >= 500 && log != nil {
		log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", p.RequestID, "path", r.URL.Path)
	}
	WriteProblem(w, p)
}

// WriteProblem writes p with the problem+json media type.
func WriteProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rpcrm"`)
	}
	if p.Status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "60")
	}
	writeJSON(w, "application/problem+json", p.Status, p)
}

// JSON writes v as JSON with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	writeJSON(w, "application/json", status, v)
}

func writeJSON(w http.ResponseWriter, contentType string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n')) //nolint:errcheck // the client went away; nothing to do
}
