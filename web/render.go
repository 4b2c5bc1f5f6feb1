package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"text/template/parse"
	"time"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/tenant"
)

// view is what every page template gets as its dot.
type view struct {
	Title  string
	Lang   string
	Tenant *tenant.Tenant
	User   *auth.Principal
	CSRF   string
	// Nav names the active main navigation entry ("contacts", "deals", …).
	Nav   string
	Flash *flash
	// Error is a message for the whole form or page; Fields has one
	// message per form field (shown next to it); Form holds the values the
	// user submitted, to fill the form again.
	Error  string
	Fields map[string]string
	Form   url.Values
	// Data is the page's own content.
	Data any
	// Scripts lists extra static scripts the page needs (e.g. the chart
	// library on the dashboard only).
	Scripts []string
	// Refresh, if set, reloads the page after that many seconds when
	// JavaScript is off (a page that htmx updates otherwise).
	Refresh int

	// Login page.
	Email string
	Next  string

	assets *assets
	loc    *time.Location
}

// T translates a UI text key into the page's language; args fill %s/%d.
func (v *view) T(key string, args ...any) string {
	s := translate(v.Lang, key)
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Msg translates a message of the services (written in German where the
// error is raised) into the page's language; see rpcrm.Translate.
func (v *view) Msg(msg string) string { return rpcrm.Translate(v.Lang, msg) }

// Can reports whether the user holds a permission (in any scope).
func (v *view) Can(perm string) bool {
	_, ok := v.User.Can(auth.Permission(perm))
	return ok
}

// Asset returns the versioned URL of a static file, "" if it is missing.
func (v *view) Asset(name string) string { return v.assets.url(name) }

// Val returns the submitted value of a form field.
func (v *view) Val(name string) string { return v.Form.Get(name) }

// Date formats a time, or a YYYY-MM-DD date, as a Swiss date
// (31.12.2024); times in the tenant's zone.
func (v *view) Date(t any) string { return v.format(t, "02.01.2006") }

// DateTime formats a time as 31.12.2024 14:05 in the tenant's zone.
func (v *view) DateTime(t any) string { return v.format(t, "02.01.2006 15:04") }

// InputDate formats a time or date for <input type="date"> (2024-12-31).
func (v *view) InputDate(t any) string { return v.format(t, "2006-01-02") }

func (v *view) format(t any, layout string) string {
	if d, ok := dateOf(t); ok {
		return d.Format(layout)
	}
	if tm, ok := timeOf(t); ok {
		return tm.In(v.loc).Format(layout)
	}
	return ""
}

func timeOf(t any) (time.Time, bool) {
	switch x := t.(type) {
	case time.Time:
		return x, !x.IsZero()
	case *time.Time:
		if x == nil {
			return time.Time{}, false
		}
		return *x, !x.IsZero()
	}
	return time.Time{}, false
}

// dateOf parses a date-only value (YYYY-MM-DD, as string or *string).
func dateOf(t any) (time.Time, bool) {
	var s string
	switch x := t.(type) {
	case string:
		s = x
	case *string:
		if x == nil {
			return time.Time{}, false
		}
		s = *x
	default:
		return time.Time{}, false
	}
	d, err := time.Parse("2006-01-02", s)
	return d, err == nil
}

// funcs are the template functions; formats are Swiss whatever the language.
var funcs = template.FuncMap{
	"money": money,
	"phone": crm.FormatPhone,
	"num":   groupThousands,
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"join": strings.Join,
	// dict builds a map for passing several values to a partial.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, errors.New("dict: key is not a string")
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// money formats an exact decimal amount the Swiss way: 1'234.50 CHF.
// amount may be a string, *string or crm.MoneyAmount.
func money(amount any, currency ...string) string {
	var s, cur string
	switch a := amount.(type) {
	case string:
		s = a
	case *string:
		if a == nil {
			return ""
		}
		s = *a
	case crm.MoneyAmount:
		s, cur = a.Amount, a.Currency
	default:
		return ""
	}
	if len(currency) > 0 && currency[0] != "" {
		cur = currency[0]
	}
	if s == "" {
		return ""
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	out := groupThousands(whole) + "." + frac
	if neg {
		out = "-" + out
	}
	if cur != "" {
		out += " " + cur
	}
	return out
}

// groupThousands puts Swiss thousands separators into a digit string
// (1234567 → 1'234'567); it takes ints too.
func groupThousands(n any) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('\'')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fragmentsPage is the template set that holds every partial, for the
// shared fragments rendered on their own (a record's timeline items).
const fragmentsPage = "fragments"

// parsePages parses every page under templates/pages with the layout and
// the partial files its templates call (directly or through others), and
// one set of all partials (fragmentsPage). Each page is a template set of
// its own, so that every page can define "content"; parsing only the
// partials a page uses keeps the sets to a third of the memory (15 MB
// with every partial in every page). A template that does not parse, or a
// call of a template defined nowhere, is a build defect: panic.
func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	names, err := fs.Glob(templateFiles, "templates/pages/*.html")
	if err != nil || len(names) == 0 {
		panic("web: no page templates")
	}
	partials, err := fs.Glob(templateFiles, "templates/partials/*.html")
	if err != nil {
		panic(err)
	}
	const layout = "templates/layout.html"
	deps := map[string]templateDeps{}
	definedIn := map[string]string{} // a partial's template name: its file
	for _, file := range append([]string{layout}, append(partials, names...)...) {
		deps[file] = readTemplateDeps(file)
		if strings.HasPrefix(file, "templates/partials/") {
			for _, d := range deps[file].defines {
				definedIn[d] = file
			}
		}
	}
	add := func(name string, files ...string) {
		t := template.New(name).Funcs(funcs)
		pages[name] = template.Must(t.ParseFS(templateFiles, files...))
	}
	for _, file := range names {
		// The partial files the layout and the page need, in their usual
		// order (a later definition replaces an earlier one).
		need := map[string]bool{}
		queue := []string{layout, file}
		for len(queue) > 0 {
			f := queue[0]
			queue = queue[1:]
			for _, call := range deps[f].calls {
				d, ok := definedIn[call]
				switch {
				case ok && !need[d]:
					need[d] = true
					queue = append(queue, d)
				case !ok && !slices.Contains(deps[layout].defines, call) && !slices.Contains(deps[file].defines, call):
					panic(fmt.Sprintf("web: %s calls template %q, which no partial, the layout or the page defines", f, call))
				}
			}
		}
		files := []string{layout}
		for _, pf := range partials {
			if need[pf] {
				files = append(files, pf)
			}
		}
		add(strings.TrimSuffix(path.Base(file), ".html"), append(files, file)...)
	}
	add(fragmentsPage, append([]string{layout}, partials...)...)
	return pages
}

// templateDeps are the templates a template file defines and those it
// calls ({{template}}, {{block}}).
type templateDeps struct{ defines, calls []string }

// readTemplateDeps reads a template file's definitions and calls from its
// parse trees (functions are not checked here; ParseFS does that).
func readTemplateDeps(file string) templateDeps {
	text, err := fs.ReadFile(templateFiles, file)
	if err != nil {
		panic(err)
	}
	trees := map[string]*parse.Tree{}
	t := parse.New(file)
	t.Mode = parse.SkipFuncCheck
	if _, err := t.Parse(string(text), "", "", trees); err != nil {
		panic(fmt.Sprintf("web: %s: %v", file, err))
	}
	var d templateDeps
	for name, tree := range trees {
		if name != file {
			d.defines = append(d.defines, name)
		}
		d.calls = appendCalls(d.calls, tree.Root)
	}
	return d
}

// appendCalls appends the names of the templates node calls.
func appendCalls(calls []string, node parse.Node) []string {
	switch n := node.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				calls = appendCalls(calls, c)
			}
		}
	case *parse.TemplateNode:
		calls = append(calls, n.Name)
	case *parse.IfNode:
		calls = appendCalls(appendCalls(calls, n.List), n.ElseList)
	case *parse.RangeNode:
		calls = appendCalls(appendCalls(calls, n.List), n.ElseList)
	case *parse.WithNode:
		calls = appendCalls(appendCalls(calls, n.List), n.ElseList)
	}
	return calls
}

func (u *UI) newView(w http.ResponseWriter, r *http.Request, p *auth.Principal, title string) *view {
	t := httpserver.Tenant(r.Context())
	locale := t.Locale
	if p != nil && p.Locale != "" {
		locale = p.Locale
	}
	v := &view{Lang: lang(locale), Tenant: t, User: p, CSRF: u.csrfToken(w, r), Fields: map[string]string{},
		Form: url.Values{}, assets: u.assets, loc: t.Location()}
	if p != nil {
		v.Flash = u.takeFlash(w, r)
	}
	v.Title = v.T(title)
	return v
}

// render writes a whole page (htmx's boosted navigation swaps its body).
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	u.renderBlock(w, r, status, page, "layout", v)
}

// renderBuffers hold pages while they are rendered (a page is written only
// when its template succeeded); reusing them saves growing a new buffer to
// the size of a page for every request.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putRenderBuffer returns buf to the pool unless it grew unusually large.
func putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 1<<20 {
		return
	}
	buf.Reset()
	renderBuffers.Put(buf)
}

// renderBlock writes one named template of a page (for htmx fragments).
func (u *UI) renderBlock(w http.ResponseWriter, r *http.Request, status int, page, block string, v any) {
	t, ok := u.pages[page]
	if !ok {
		u.Log.ErrorContext(r.Context(), "render: no such page", "page", page)
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := t.ExecuteTemplate(buf, block, v); err != nil {
		u.Log.ErrorContext(r.Context(), "render page", "page", page, "block", block, "err", err)
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "HX-Request, HX-Target")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck
}

// errorPage shows a message (a text key) with a status: not found,
// forbidden, too large, internal.
func (u *UI) errorPage(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, key string) {
	v := u.newView(w, r, p, "error.title")
	v.Error = v.T(key)
	u.render(w, r, status, "error", v)
}

// fail shows the page for an error of a service: not found (also for
// other tenants' and other owners' records), forbidden, or internal
// (logged, never shown). Field errors belong next to their fields; use
// formErrors for them.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error) {
	switch rpcrm.ErrorCode(err) {
	case rpcrm.ENOTFOUND:
		u.errorPage(w, r, p, http.StatusNotFound, "error.not_found")
	case rpcrm.EFORBIDDEN:
		u.errorPage(w, r, p, http.StatusForbidden, "error.forbidden")
	case rpcrm.EPRECONDITION:
		u.errorPage(w, r, p, http.StatusPreconditionFailed, "error.stale")
	case rpcrm.EINVALID, rpcrm.ECONFLICT:
		v := u.newView(w, r, p, "error.title")
		v.Error = v.Msg(rpcrm.ErrorMessage(err))
		u.render(w, r, http.StatusUnprocessableEntity, "error", v)
	default:
		u.Log.ErrorContext(r.Context(), "web", "err", err, "path", r.URL.Path)
		u.errorPage(w, r, p, http.StatusInternalServerError, "error.internal")
	}
}

// formErrors puts a service's validation error into the view: the field
// messages next to their fields and the general message on top, in the
// page's language. It reports
// false for errors that are not about the input (the caller then fails).
func formErrors(v *view, err error) bool {
	var e *rpcrm.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case rpcrm.EINVALID, rpcrm.ECONFLICT:
		e = e.Translated(v.Lang)
		for f, m := range e.Fields {
			v.Fields[f] = m
		}
		v.Error = e.Message
		if v.Error == "" || len(e.Fields) > 0 {
			v.Error = v.T("form.invalid")
		}
		return true
	case rpcrm.EPRECONDITION:
		v.Error = v.T("error.stale")
		return true
	}
	return false
}

// redirect answers a successful form post: a 303 to the next page, which
// htmx follows as well.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
