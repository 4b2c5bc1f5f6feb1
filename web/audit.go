package web

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
)

func (u *UI) auditRoutes() []route {
	return []route{page("GET /audit", auth.PermAuditRead, u.auditLog)}
}

// auditPageSize is the number of entries per page of the audit viewer.
const auditPageSize = 50

// auditEntityTypes are the record types the audit log names.
var auditEntityTypes = []string{"user", "role", "company", "contact", "deal", "activity", "document", "pipeline", "stage",
	"tag", "custom_field", "tenant"}

// auditActions are the actions offered as suggestions in the filter.
var auditActions = []string{"auth.login", "auth.login_failed", "auth.logout", "auth.refresh_reuse",
	"user.create", "user.update", "user.disable", "user.enable", "user.set_password", "user.invite", "user.invite_accept",
	"user.reset_link", "user.password_reset", "user.change_password", "role.create", "role.update", "role.delete",
	"company.create", "company.update", "company.delete", "company.restore", "company.purge",
	"contact.create", "contact.update", "contact.delete", "contact.restore", "contact.purge",
	"deal.create", "deal.update", "deal.delete", "deal.restore", "deal.purge",
	"activity.create", "activity.update", "activity.delete", "activity.restore", "activity.purge",
	"document.create", "document.delete", "document.restore", "document.purge",
	"pipeline.create", "pipeline.update", "pipeline.delete", "stage.create", "stage.update", "stage.delete", "stage.reorder",
	"tag.create", "tag.update", "tag.delete", "custom_field.create", "custom_field.update", "custom_field.delete",
	"tenant_profile.update", "import.companies", "import.contacts", "export.companies", "export.contacts", "export.deals"}

// auditRow is one entry as the viewer shows it.
type auditRow struct {
	At         time.Time
	Actor      string
	Action     string
	EntityType string
	EntityID   string
	EntityURL  string
	IP         string
	Changes    []auditChange
	Details    []auditChange // Before holds the value
}

// auditChange is one changed field, its values as readable text.
type auditChange struct {
	Field, Before, After string
}

type auditView struct {
	Rows     []auditRow
	Users    []option
	Entities []option
	Actions  []string
	// Next is the URL of the next (older) page, "" on the last one.
	Next string
}

// entityURL links the entities that have a page of their own.
func entityURL(typ, id string) string {
	switch typ {
	case "company":
		return "/companies/" + id
	case "contact":
		return "/contacts/" + id
	case "deal":
		return "/deals/" + id
	case "user":
		return "/settings/users/" + id
	case "role":
		return "/settings/roles/" + id
	}
	return ""
}

// auditValue turns a value of the log's JSON into text.
func auditValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case string:
		if x == "" {
			return "–"
		}
		return x
	case bool:
		if x {
			return "✓"
		}
		return "✗"
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, auditValue(e))
		}
		if len(parts) == 0 {
			return "–"
		}
		return strings.Join(parts, ", ")
	case float64:
		return groupThousands(strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", x), "0"), "."))
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// auditCursor encodes the position after an entry.
func auditCursor(e audit.Entry) string {
	return base64.RawURLEncoding.EncodeToString([]byte(e.At.UTC().Format(time.RFC3339Nano) + "|" + e.ID.String()))
}

func parseAuditCursor(s string) (*time.Time, *uuid.UUID, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, nil, false
	}
	at, idS, ok := strings.Cut(string(b), "|")
	t, err1 := time.Parse(time.RFC3339Nano, at)
	id, err2 := uuid.Parse(idS)
	if !ok || err1 != nil || err2 != nil {
		return nil, nil, false
	}
	return &t, &id, true
}

func (u *UI) auditLog(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "audit.title")
	v.Nav = "audit"
	q := r.URL.Query()
	v.Form = url.Values{}
	for _, k := range []string{"actor", "entity_type", "entity_id", "action", "from", "to"} {
		v.Form.Set(k, strings.TrimSpace(q.Get(k)))
	}
	f := audit.Filter{Action: v.Val("action"), Limit: auditPageSize + 1}
	if s := v.Val("entity_type"); s != "" {
		if !slices.Contains(auditEntityTypes, s) {
			v.Fields["entity_type"] = v.T("audit.bad_entity_type")
		}
		f.EntityType = s
	}
	if s := v.Val("actor"); s != "" {
		if id, err := uuid.Parse(s); err == nil {
			f.ActorID = &id
		} else {
			v.Fields["actor"] = v.T("audit.bad_actor")
		}
	}
	if s := v.Val("entity_id"); s != "" {
		if id, err := uuid.Parse(s); err == nil {
			f.EntityID = &id
		} else {
			v.Fields["entity_id"] = v.T("audit.bad_id")
		}
	}
	for _, k := range []string{"from", "to"} {
		s := v.Val(k)
		if s == "" {
			continue
		}
		d, err := time.ParseInLocation("2006-01-02", s, v.loc)
		if err != nil {
			v.Fields[k] = v.T("audit.bad_date")
			continue
		}
		if k == "from" {
			f.Since = &d
		} else {
			end := d.AddDate(0, 0, 1)
			f.Until = &end
		}
	}
	if f.Since != nil && f.Until != nil && !f.Since.Before(*f.Until) {
		v.Fields["to"] = v.T("audit.bad_range")
	}
	if c := q.Get("cursor"); c != "" {
		at, id, ok := parseAuditCursor(c)
		if !ok {
			v.Fields["cursor"] = v.T("audit.bad_cursor")
		}
		f.Before, f.BeforeID = at, id
	}
	d := auditView{Actions: auditActions}
	users, err := u.Auth.ListUsers(r.Context(), p)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	names := map[uuid.UUID]string{}
	for _, usr := range users {
		names[usr.ID] = usr.Name
		d.Users = append(d.Users, option{usr.ID.String(), usr.Name + " (" + usr.Email + ")"})
	}
	for _, e := range auditEntityTypes {
		d.Entities = append(d.Entities, option{e, v.T("audit.entity_" + e)})
	}
	status := http.StatusOK
	if len(v.Fields) > 0 {
		v.Error = v.T("form.invalid")
		status = http.StatusUnprocessableEntity
	} else {
		entries, err := u.Audit.List(r.Context(), p, f)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		if len(entries) > auditPageSize {
			entries = entries[:auditPageSize]
			next := url.Values{}
			for k, vals := range v.Form {
				if vals[0] != "" {
					next[k] = vals
				}
			}
			next.Set("cursor", auditCursor(entries[len(entries)-1]))
			d.Next = "/audit?" + next.Encode()
		}
		for _, e := range entries {
			d.Rows = append(d.Rows, auditRowOf(e, names))
		}
	}
	v.Data = d
	u.render(w, r, status, "audit", v)
}

func auditRowOf(e audit.Entry, names map[uuid.UUID]string) auditRow {
	row := auditRow{At: e.At, Actor: e.Actor, Action: e.Action, EntityType: e.EntityType, IP: e.IP}
	if e.ActorID != nil {
		if n, ok := names[*e.ActorID]; ok {
			row.Actor = n
		}
	}
	if e.EntityID != nil {
		row.EntityID = e.EntityID.String()
		row.EntityURL = entityURL(e.EntityType, row.EntityID)
	}
	for _, k := range sortedKeys(e.Changes) {
		c := e.Changes[k]
		row.Changes = append(row.Changes, auditChange{Field: k, Before: auditValue(c.Before), After: auditValue(c.After)})
	}
	for _, k := range sortedKeys(e.Details) {
		row.Details = append(row.Details, auditChange{Field: k, Before: auditValue(e.Details[k])})
	}
	return row
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
