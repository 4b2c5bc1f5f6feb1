package web

import (
	"net/http"
	"time"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/csvfile"
	"github.com/rpcrm/rpcrm/httpserver"
)

// Exports of the current list: the same filters and order as the page,
// every page of the list service streamed to the response, audited with
// LogExport. Route permission export:run; the list's read permission and
// scope are the service's.

// exportTime is how long an export may take to send.
const exportTime = 15 * time.Minute

// csvOptions: semicolon and BOM for a Swiss Excel by default, comma on request.
func csvOptions(r *http.Request) csvfile.WriterOptions {
	o := csvfile.ExcelOptions
	if r.URL.Query().Get("delimiter") == "comma" {
		o.Delimiter = ','
	}
	return o
}

// exportName is e.g. "firmen-2026-11-26.csv", dated in the tenant's zone.
func exportName(v *view, base, ext string) string {
	return base + "-" + time.Now().In(v.loc).Format(time.DateOnly) + "." + ext
}

// exportPages fetches the first page before anything is sent, so that a
// refused list still gets an error page; then it writes every row. A
// failure after the first byte can only cut the response off.
func exportPages[T any](u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal,
	next func(cursor string) (*crm.Page[T], error), start func(), rows func([]T) error) (int, bool) {
	pg, err := next("")
	if err != nil {
		u.fail(w, r, p, err)
		return 0, false
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(exportTime))
	start()
	n := 0
	for {
		if err := rows(pg.Items); err != nil {
			u.Log.ErrorContext(r.Context(), "export write", "err", err, "path", r.URL.Path)
			panic(http.ErrAbortHandler)
		}
		n += len(pg.Items)
		if pg.NextCursor == "" {
			return n, true
		}
		if pg, err = next(pg.NextCursor); err != nil {
			u.Log.ErrorContext(r.Context(), "export page", "err", err, "path", r.URL.Path)
			panic(http.ErrAbortHandler)
		}
	}
}

// attachment sets the headers of a download.
func attachment(w http.ResponseWriter, contentType, name string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", httpserver.ContentDisposition(name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
}

// logExport writes the export's audit entry.
func (u *UI) logExport(r *http.Request, p *auth.Principal, kind, format string, rows int) {
	details := map[string]any{"format": format, "rows": rows, "filter": r.URL.Query(), "via": "web"}
	if err := u.CRM.LogExport(r.Context(), p, kind, details, meta(r)); err != nil {
		u.Log.ErrorContext(r.Context(), "audit export", "err", err, "kind", kind)
	}
}

// exportCSV streams a list as CSV with the given header and rows.
func exportCSV[T any](u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal, kind, name string, header []string,
	next func(cursor string) (*crm.Page[T], error), rows func([]T) ([][]string, error)) {
	cw := csvfile.NewWriter(w, csvOptions(r))
	n, ok := exportPages(u, w, r, p, next, func() {
		attachment(w, "text/csv; charset=utf-8", name)
		_ = cw.Write(header)
	}, func(items []T) error {
		recs, err := rows(items)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if !ok {
		return
	}
	if err := cw.Flush(); err != nil {
		u.Log.ErrorContext(r.Context(), "export flush", "err", err)
		return
	}
	u.logExport(r, p, kind, "csv", n)
}
