package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpserver"
)

// listAudit: GET /api/v1/audit-log?action=&entity_type=&entity_id=&actor_id=&limit=&cursor=
// The cursor is the "next_cursor" of the previous page (keyset paging, newest first).
func (a *API) listAudit(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	f := audit.Filter{Action: q.Get("action"), EntityType: q.Get("entity_type"), Limit: 50}
	v := rpcrm.Validation{}
	parseID := func(name string) *uuid.UUID {
		s := q.Get(name)
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
	f.EntityID = parseID("entity_id")
	f.ActorID = parseID("actor_id")
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			v.Add("limit", "Erwartet eine Zahl von 1 bis 200.")
		}
		f.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		at, id, ok := parseCursor(s)
		if !ok {
			v.Add("cursor", "Ungültiger Cursor.")
		}
		f.Before, f.BeforeID = &at, &id
	}
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	entries, err := a.Audit.List(r.Context(), p, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	resp := map[string]any{"items": entries}
	if entries == nil {
		resp["items"] = []audit.Entry{}
	}
	if len(entries) == f.Limit {
		last := entries[len(entries)-1]
		resp["next_cursor"] = last.At.Format(time.RFC3339Nano) + "_" + last.ID.String()
	}
	httpserver.JSON(w, http.StatusOK, resp)
}

func parseCursor(s string) (time.Time, uuid.UUID, bool) {
	i := len(s) - 37
	if i < 1 || s[i] != '_' {
		return time.Time{}, uuid.Nil, false
	}
	at, err := time.Parse(time.RFC3339Nano, s[:i])
	if err != nil {
		return time.Time{}, uuid.Nil, false
	}
	id, err := uuid.Parse(s[i+1:])
	return at, id, err == nil
}
