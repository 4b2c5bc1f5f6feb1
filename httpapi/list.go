package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/crm"
)

// listParams reads the query parameters every list takes:
// q, sort (a field, "-field" for descending), limit, cursor, owner_id, tag,
// updated_since (RFC 3339).
func listParams(r *http.Request) (crm.ListParams, rpcrm.Validation) {
	q := r.URL.Query()
	v := rpcrm.Validation{}
	lp := crm.ListParams{Q: q.Get("q"), Cursor: q.Get("cursor"), Tag: q.Get("tag")}
	if s := q.Get("sort"); s != "" {
		if s[0] == '-' {
			lp.Desc, s = true, s[1:]
		}
		lp.Sort = s
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			v.Add("limit", "Erwartet eine Zahl von 1 bis 200.")
		}
		lp.Limit = n
	}
	lp.OwnerID = queryID(q.Get("owner_id"), "owner_id", v)
	if s := q.Get("updated_since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			v.Add("updated_since", "Erwartet einen Zeitpunkt nach RFC 3339, z. B. 2026-01-31T00:00:00Z.")
		}
		lp.UpdatedSince = &t
	}
	return lp, v
}

// queryID parses an optional UUID query parameter.
func queryID(s, name string, v rpcrm.Validation) *uuid.UUID {
	if s == "" {
		return nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		v.Add(name, "Keine gültige ID.")
		return nil
	}
	return &id
}

// queryDate parses an optional YYYY-MM-DD query parameter.
func queryDate(s, name string, v rpcrm.Validation) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		v.Add(name, "Erwartet ein Datum (JJJJ-MM-TT).")
		return nil
	}
	return &t
}

// versioned applies If-Match to the version of an input.
func versioned(r *http.Request, version *int) error {
	v, err := ifMatch(r)
	if err != nil {
		return err
	}
	if v != 0 {
		*version = v
	}
	return nil
}
