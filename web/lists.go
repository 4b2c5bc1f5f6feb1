package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// listPageSize is how many rows a list shows at once ("more" loads the next).
const listPageSize = 50

// listQuery is the state of a companies or contacts list as its URL holds
// it: search text, filters, sort order and the cursor of the page.
type listQuery struct {
	Base    string // the list's path, e.g. /companies
	Q       string
	Owner   string // a user ID
	Tag     string
	Company string // contacts: a company ID
	Sort    string // a field of the service's sortable list
	Desc    bool
	Cursor  string
	Trash   bool
	sorts   []string
	def     string
}

// readListQuery reads a list's URL. A sort the service does not offer
// falls back to the default; so do malformed IDs in the filters.
func readListQuery(r *http.Request, base string, sortable []string, def string) listQuery {
	q := r.URL.Query()
	lq := listQuery{Base: base, Q: strings.TrimSpace(q.Get("q")), Tag: strings.TrimSpace(q.Get("tag")),
		Cursor: q.Get("cursor"), sorts: sortable, def: def}
	sort := q.Get("sort")
	lq.Desc = strings.HasPrefix(sort, "-")
	lq.Sort = strings.TrimPrefix(sort, "-")
	if !slices.Contains(sortable, lq.Sort) {
		lq.Sort, lq.Desc = def, false
	}
	if _, err := uuid.Parse(q.Get("owner")); err == nil {
		lq.Owner = q.Get("owner")
	}
	if _, err := uuid.Parse(q.Get("company")); err == nil {
		lq.Company = q.Get("company")
	}
	return lq
}

// params are the service's list parameters for the query.
func (lq listQuery) params() crm.ListParams {
	lp := crm.ListParams{Q: lq.Q, Sort: lq.Sort, Desc: lq.Desc, Limit: listPageSize, Cursor: lq.Cursor, Tag: lq.Tag,
		Deleted: lq.Trash}
	if id, err := uuid.Parse(lq.Owner); err == nil {
		lp.OwnerID = &id
	}
	return lp
}

// CompanyID is the company filter of a contact list.
func (lq listQuery) CompanyID() *uuid.UUID {
	if id, err := uuid.Parse(lq.Company); err == nil {
		return &id
	}
	return nil
}

// SortParam is the sort order as the URL writes it ("name", "-name").
func (lq listQuery) SortParam() string {
	if lq.Desc {
		return "-" + lq.Sort
	}
	return lq.Sort
}

// values are the query's parameters without the cursor; defaults are left out.
func (lq listQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", lq.Q)
	set("owner", lq.Owner)
	set("tag", lq.Tag)
	set("company", lq.Company)
	if lq.Sort != lq.def || lq.Desc {
		v.Set("sort", lq.SortParam())
	}
	return v
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// URL is the list's address with its filters and sort order (first page).
func (lq listQuery) URL() string { return withQuery(lq.path(), lq.values()) }

func (lq listQuery) path() string {
	if lq.Trash {
		return lq.Base + "/trash"
	}
	return lq.Base
}

// PageURL is the list's address at a cursor.
func (lq listQuery) PageURL(cursor string) string {
	v := lq.values()
	v.Set("cursor", cursor)
	return withQuery(lq.path(), v)
}

// SortURL sorts by field: ascending, or reversed if it is the current order.
func (lq listQuery) SortURL(field string) string {
	n := lq
	n.Desc = lq.Sort == field && !lq.Desc
	n.Sort = field
	return n.URL()
}

// AriaSort is the aria-sort value of a column header.
func (lq listQuery) AriaSort(field string) string {
	switch {
	case lq.Sort != field:
		return "none"
	case lq.Desc:
		return "descending"
	}
	return "ascending"
}

// ExportURL is the export of the list with the same filters and order.
func (lq listQuery) ExportURL(path string, extra ...string) string {
	v := lq.values()
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return withQuery(path, v)
}

// Filtered reports whether any filter or search is set.
func (lq listQuery) Filtered() bool {
	return lq.Q != "" || lq.Owner != "" || lq.Tag != "" || lq.Company != ""
}

// listPage is what a list page shows besides its rows.
type listPage struct {
	Query  listQuery
	Owners []option
	Tags   []option
	Sorts  []option
	// More is the URL of the next rows as an htmx fragment; Next the next
	// page for browsers without JavaScript. Both empty on the last page.
	More, Next string
	users      map[uuid.UUID]string
	choices    *crm.ListChoices
}

// OwnerName is a user's name.
func (lp *listPage) OwnerName(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return lp.users[*id]
}

// newListPage loads the filter choices (users, tags, and up to companies
// companies) in one go and makes the sort options.
func (u *UI) newListPage(r *http.Request, p *auth.Principal, v *view, lq listQuery, entity string, companies int) (*listPage, error) {
	ch, err := u.CRM.ListChoices(r.Context(), p, companies)
	if err != nil {
		return nil, err
	}
	lp := &listPage{Query: lq, users: make(map[uuid.UUID]string, len(ch.Users)), choices: ch}
	for _, us := range ch.Users {
		lp.users[us.ID] = us.Name
		lp.Owners = append(lp.Owners, option{Value: us.ID.String(), Label: us.Name})
	}
	for _, t := range ch.Tags {
		lp.Tags = append(lp.Tags, option{Value: t.Name, Label: t.Name})
	}
	for _, s := range lq.sorts {
		label := v.T("records.list.sort." + entity + "." + s)
		lp.Sorts = append(lp.Sorts, option{Value: s, Label: label + " ↑"}, option{Value: "-" + s, Label: label + " ↓"})
	}
	return lp, nil
}

// setCursor fills in the links to the next page.
func (lp *listPage) setCursor(next string) {
	if next == "" {
		return
	}
	lp.Next = lp.Query.PageURL(next)
	lp.More = lp.Next
}

// hxTarget is the id of the element an htmx request replaces, "" for
// ordinary requests.
func hxTarget(r *http.Request) string {
	if r.Header.Get("HX-Request") != "true" {
		return ""
	}
	return r.Header.Get("HX-Target")
}

// listFailed shows a list whose parameters the service refused (a stale
// cursor, a search text too long) as a message on the page; other errors fail.
func listFailed(err error) bool {
	c := rpcrm.ErrorCode(err)
	return c == rpcrm.EINVALID
}
