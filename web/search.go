package web

import (
	"net/http"
	"strings"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// searchGroup is the hits of one record type.
type searchGroup struct {
	Type  string // crm.EntityCompany, …
	Label string
	Path  string // detail page prefix
	Hits  []crm.SearchHit
}

// searchData is the search page and the header's live results.
type searchData struct {
	Q      string
	Groups []searchGroup
	Empty  bool // searched, nothing found
}

// searchMax is how many hits per type the page shows; the header's
// dropdown shows fewer.
const (
	searchMax     = 20
	searchSuggest = 5
)

// search finds companies, contacts and deals (each as far as the user may
// read them). The header field asks for live results while typing (htmx,
// target #search-suggest); Enter opens the page.
func (u *UI) search(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "search.title")
	v.Nav = "search"
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	v.Form.Set("q", q)
	suggest := hxTarget(r) == "search-suggest"
	d := &searchData{Q: q}
	v.Data = d
	if q != "" {
		limit := searchMax
		if suggest {
			limit = searchSuggest
		}
		res, err := u.CRM.Search(r.Context(), p, crm.SearchParams{Q: q, Limit: limit})
		if err != nil {
			if !formErrors(v, err) {
				u.fail(w, r, p, err)
				return
			}
			if m, ok := v.Fields["q"]; ok {
				v.Error = m
			}
		} else {
			for _, g := range []searchGroup{
				{Type: crm.EntityCompany, Label: v.T("nav.companies"), Path: "/companies/", Hits: res.Companies},
				{Type: crm.EntityContact, Label: v.T("nav.contacts"), Path: "/contacts/", Hits: res.Contacts},
				{Type: crm.EntityDeal, Label: v.T("nav.deals"), Path: "/deals/", Hits: res.Deals},
			} {
				if len(g.Hits) > 0 {
					d.Groups = append(d.Groups, g)
				}
			}
			d.Empty = len(d.Groups) == 0
		}
	}
	if suggest {
		u.renderBlock(w, r, http.StatusOK, "search", "search-suggest", v)
		return
	}
	u.render(w, r, http.StatusOK, "search", v)
}

func (u *UI) searchRoutes() []route {
	return []route{page("GET /search", "", u.search)}
}
