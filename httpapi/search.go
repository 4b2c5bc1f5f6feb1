package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

// search answers GET /api/v1/search?q=&types=company,contact,deal&limit=
// with the hits grouped by type. Types the user may not read are left out.
func (a *API) search(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	sp := crm.SearchParams{Q: q.Get("q")}
	for _, t := range q["types"] {
		sp.Types = append(sp.Types, strings.Split(t, ",")...)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			n = -1 // out of range: Normalize reports it with the other fields
		}
		sp.Limit = n
	}
	res, err := a.CRM.Search(r.Context(), p, sp)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, res)
}

// searchRoutes is the search endpoint. Any logged-in user may call it: the
// search itself decides per record type what the user may read.
func (a *API) searchRoutes() []Route {
	return []Route{
		authRoute("GET", "/api/v1/search", a.search),
	}
}
