// Package web is RP CRM's server-rendered user interface. For now it serves
// the tenant's start page; the full UI builds on the same services.
package web

import (
	"html/template"
	"net/http"

	"github.com/rpcrm/rpcrm/httpserver"
)

var startPage = template.Must(template.New("start").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Name}} · RP CRM</title></head>
<body>
<main>
<h1>{{.Name}}</h1>
<p>RP CRM läuft für diesen Mandanten. Die Programmierschnittstelle steht unter <code>/api/v1/</code> bereit;
die Anmeldung erfolgt mit <code>POST /api/v1/auth/login</code>.</p>
</main>
</body>
</html>
`))

// Handler serves the web UI of the tenant the request was resolved to.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", httpserver.Route("GET /", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := httpserver.Tenant(r.Context())
		lang := "de"
		if len(t.Locale) >= 2 {
			lang = t.Locale[:2]
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := startPage.Execute(w, map[string]string{"Name": t.Name, "Lang": lang}); err != nil {
			httpserver.RequestInfo(r.Context()).Route = "GET / (error)"
		}
	})))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	})
	return mux
}
