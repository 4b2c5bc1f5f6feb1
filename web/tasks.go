package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// taskRoutes are the task pages: my tasks and the team's, by tab (due,
// overdue, done), checking off in place, and a form for a new task.
func (u *UI) taskRoutes() []route {
	return []route{
		page("GET /tasks", auth.PermActivitiesRead, u.taskList),
		page("GET /tasks/new", auth.PermActivitiesWrite, u.taskNew),
		page("POST /tasks", auth.PermActivitiesWrite, u.taskCreate),
		page("POST /tasks/{id}/done", auth.PermActivitiesWrite, u.taskDone(true)),
		page("POST /tasks/{id}/open", auth.PermActivitiesWrite, u.taskDone(false)),
	}
}

var taskTabs = []string{"due", "overdue", "done"}

// taskRow is a task as a row of the list shows it.
type taskRow struct {
	*crm.Activity
	Assignee, Deal, Company, Contact string
	CanCheck                         bool
}

type taskListPage struct {
	Scope, Tab string
	Tabs       []string
	Rows       []taskRow
	Next       string
	Here       string
}

// taskFilter is the list behind a scope (mine, team) and a tab.
func taskFilter(p *auth.Principal, scope, tab, cursor string) crm.ActivityFilter {
	yes, no := true, false
	f := crm.ActivityFilter{Kind: crm.KindTask, ListParams: crm.ListParams{Cursor: cursor, Limit: 50, Sort: "due_at"}}
	if scope == "mine" {
		f.AssigneeID = &p.UserID
	}
	switch tab {
	case "overdue":
		f.Overdue = &yes
	case "done":
		f.Open = &no
		f.Sort, f.Desc = "done_at", true
	default:
		f.Open, f.Overdue = &yes, &no
	}
	return f
}

func (u *UI) taskRows(r *http.Request, p *auth.Principal, as []*crm.Activity) []taskRow {
	ctx := r.Context()
	users, _ := u.userNames(r, p)
	refs := map[string][]uuid.UUID{}
	for _, a := range as {
		for entity, id := range map[string]*uuid.UUID{crm.EntityDeal: a.DealID, crm.EntityCompany: a.CompanyID, crm.EntityContact: a.ContactID} {
			if id != nil {
				refs[entity] = append(refs[entity], *id)
			}
		}
	}
	names := map[string]map[uuid.UUID]string{}
	for entity, ids := range refs {
		m, err := u.CRM.RecordNames(ctx, p, entity, ids)
		if err != nil {
			u.Log.ErrorContext(ctx, "record names", "err", err)
		}
		names[entity] = m
	}
	name := func(entity string, id *uuid.UUID) string {
		if id == nil {
			return ""
		}
		return names[entity][*id]
	}
	rows := make([]taskRow, 0, len(as))
	for _, a := range as {
		row := taskRow{Activity: a, Deal: name(crm.EntityDeal, a.DealID), Company: name(crm.EntityCompany, a.CompanyID),
			Contact: name(crm.EntityContact, a.ContactID), CanCheck: canChangeActivity(p, a)}
		if a.AssigneeID != nil {
			row.Assignee = users[*a.AssigneeID]
		}
		rows = append(rows, row)
	}
	return rows
}

// canChangeActivity: with scope "own" a user changes the activities they
// own or are assigned to.
func canChangeActivity(p *auth.Principal, a *crm.Activity) bool {
	s, ok := p.Can(auth.PermActivitiesWrite)
	if !ok {
		return false
	}
	return s == auth.ScopeAll || a.OwnerID != nil && *a.OwnerID == p.UserID || a.AssigneeID != nil && *a.AssigneeID == p.UserID
}

func (u *UI) taskList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	data := &taskListPage{Scope: q.Get("scope"), Tab: q.Get("tab"), Tabs: taskTabs}
	if data.Scope != "team" {
		data.Scope = "mine"
	}
	if data.Tab != "overdue" && data.Tab != "done" {
		data.Tab = "due"
	}
	data.Here = "/tasks?" + url.Values{"scope": {data.Scope}, "tab": {data.Tab}}.Encode()
	v := u.newView(w, r, p, "tasks.title")
	v.Nav = "tasks"
	pg, err := u.CRM.ListActivities(r.Context(), p, taskFilter(p, data.Scope, data.Tab, q.Get("cursor")))
	if err != nil {
		if !formErrors(v, err) {
			u.fail(w, r, p, err)
			return
		}
		pg = &crm.Page[*crm.Activity]{}
	}
	data.Rows = u.taskRows(r, p, pg.Items)
	if pg.NextCursor != "" {
		data.Next = data.Here + "&cursor=" + url.QueryEscape(pg.NextCursor)
	}
	v.Data = data
	if hxTarget(r) == "task-more" {
		u.renderBlock(w, r, http.StatusOK, "tasks", "task-rows", v)
		return
	}
	u.render(w, r, http.StatusOK, "tasks", v)
}

// taskDone checks a task off (or opens it again): htmx replaces the row,
// a plain form goes back to the list.
func (u *UI) taskDone(done bool) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id, ok := u.pathID(w, r, p)
		if !ok {
			return
		}
		version, _ := strconv.Atoi(r.PostFormValue("version"))
		a, err := u.CRM.UpdateActivity(r.Context(), p, id, crm.ActivityInput{Done: &done, Version: version}, meta(r))
		v := u.newView(w, r, p, "tasks.title")
		if r.Header.Get("HX-Request") == "true" {
			if err != nil {
				status := http.StatusInternalServerError
				msg := v.T("error.internal")
				switch rpcrm.ErrorCode(err) {
				case rpcrm.EPRECONDITION:
					status, msg = http.StatusPreconditionFailed, v.T("error.stale")
				case rpcrm.ENOTFOUND:
					status, msg = http.StatusNotFound, v.T("error.not_found")
				default:
					u.Log.ErrorContext(r.Context(), "task done", "err", err)
				}
				v.Error = msg
				u.renderBlock(w, r, status, "tasks", "task-error", v)
				return
			}
			rows := u.taskRows(r, p, []*crm.Activity{a})
			u.renderBlock(w, r, http.StatusOK, "tasks", "task-row", map[string]any{"V": v, "Row": rows[0], "Here": safeNext(r.PostFormValue("next"))})
			return
		}
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		msg := v.T("tasks.checked", a.Subject)
		if !done {
			msg = v.T("tasks.reopened", a.Subject)
		}
		u.setFlash(w, flash{Kind: "ok", Message: msg})
		next := safeNext(r.PostFormValue("next"))
		if next == "/" && r.PostFormValue("next") == "" {
			next = "/tasks"
		}
		redirect(w, r, next)
	}
}

type taskForm struct {
	Users    []option
	DealName string
}

func (u *UI) renderTaskForm(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, status int) {
	data := &taskForm{}
	_, data.Users = u.userNames(r, p)
	if id := queryID(v.Val("deal_id")); id != nil {
		names, _ := u.CRM.RecordNames(r.Context(), p, crm.EntityDeal, []uuid.UUID{*id})
		data.DealName = names[*id]
		if data.DealName == "" {
			v.Form.Del("deal_id")
		}
	}
	v.Nav = "tasks"
	v.Data = data
	u.render(w, r, status, "task_form", v)
}

func (u *UI) taskNew(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "tasks.new.title")
	v.Form = url.Values{"assignee_id": {p.UserID.String()}, "deal_id": {r.URL.Query().Get("deal_id")},
		"due_date": {time.Now().In(v.loc).Format("2006-01-02")}}
	u.renderTaskForm(w, r, p, v, http.StatusOK)
}

func (u *UI) taskCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "tasks.new.title")
	v.Form = r.PostForm
	kind, subject, body := crm.KindTask, r.PostFormValue("subject"), r.PostFormValue("body")
	in := crm.ActivityInput{Kind: &kind, Subject: &subject, Body: &body}
	if s := strings.TrimSpace(r.PostFormValue("due_date")); s != "" {
		clock := strings.TrimSpace(r.PostFormValue("due_time"))
		if clock == "" {
			clock = "23:59" // a day without an hour: due until its end
		}
		due, err := time.ParseInLocation("2006-01-02 15:04", s+" "+clock, v.loc)
		if err != nil {
			v.Fields["due_date"] = v.T("tasks.due.invalid")
		} else {
			in.DueAt = crm.Clearable{Set: true, Value: due.Format(time.RFC3339)}
		}
	}
	if a := strings.TrimSpace(r.PostFormValue("assignee_id")); a != "" {
		in.AssigneeID = crm.Clearable{Set: true, Value: a}
	}
	if d := strings.TrimSpace(r.PostFormValue("deal_id")); d != "" {
		in.DealID = crm.Clearable{Set: true, Value: d}
	}
	if len(v.Fields) == 0 {
		a, err := u.CRM.CreateActivity(r.Context(), p, in, meta(r))
		if err == nil {
			u.setFlash(w, flash{Kind: "ok", Message: v.T("tasks.created", a.Subject)})
			if a.DealID != nil {
				redirect(w, r, "/deals/"+a.DealID.String())
				return
			}
			redirect(w, r, "/tasks")
			return
		}
		if !formErrors(v, err) {
			u.fail(w, r, p, err)
			return
		}
		if m, ok := v.Fields["due_at"]; ok {
			v.Fields["due_date"] = m
		}
	} else {
		v.Error = v.T("form.invalid")
	}
	u.renderTaskForm(w, r, p, v, http.StatusUnprocessableEntity)
}

func init() {
	addTexts(map[string]string{
		"tasks.title":         "Aufgaben",
		"tasks.scope":         "Ansicht",
		"tasks.scope.mine":    "Meine Aufgaben",
		"tasks.scope.team":    "Team-Aufgaben",
		"tasks.tabs":          "Aufgaben nach Stand",
		"tasks.tab.due":       "Fällig",
		"tasks.tab.overdue":   "Überfällig",
		"tasks.tab.done":      "Erledigt",
		"tasks.empty":         "Keine Aufgaben.",
		"tasks.subject":       "Aufgabe",
		"tasks.due":           "fällig",
		"tasks.due_at":        "Fällig am",
		"tasks.due_date":      "Fällig am",
		"tasks.due_time":      "Uhrzeit",
		"tasks.due_time.hint": "Leer lassen: bis Ende des Tages.",
		"tasks.due.invalid":   "Erwartet ein Datum und eine Uhrzeit wie 14:30.",
		"tasks.overdue":       "überfällig",
		"tasks.assignee":      "Zuständig",
		"tasks.linked":        "Bezug",
		"tasks.body":          "Notiz",
		"tasks.check":         "Erledigt",
		"tasks.check.label":   "«%s» als erledigt markieren",
		"tasks.reopen":        "Wieder öffnen",
		"tasks.reopen.label":  "«%s» wieder öffnen",
		"tasks.checked":       "«%s» ist erledigt.",
		"tasks.reopened":      "«%s» ist wieder offen.",
		"tasks.done_badge":    "erledigt",
		"tasks.done_at":       "Erledigt am",
		"tasks.new.title":     "Neue Aufgabe",
		"tasks.new.link":      "Neue Aufgabe",
		"tasks.created":       "Die Aufgabe «%s» ist erfasst.",
		"tasks.deal":          "Verkaufschance",
		"tasks.more":          "Weitere laden",
	}, map[string]string{
		"tasks.title":         "Tasks",
		"tasks.scope":         "View",
		"tasks.scope.mine":    "My tasks",
		"tasks.scope.team":    "Team tasks",
		"tasks.tabs":          "Tasks by state",
		"tasks.tab.due":       "Due",
		"tasks.tab.overdue":   "Overdue",
		"tasks.tab.done":      "Done",
		"tasks.empty":         "No tasks.",
		"tasks.subject":       "Task",
		"tasks.due":           "due",
		"tasks.due_at":        "Due",
		"tasks.due_date":      "Due on",
		"tasks.due_time":      "Time",
		"tasks.due_time.hint": "Leave empty: until the end of the day.",
		"tasks.due.invalid":   "Expected a date and a time like 14:30.",
		"tasks.overdue":       "overdue",
		"tasks.assignee":      "Assignee",
		"tasks.linked":        "Related to",
		"tasks.body":          "Note",
		"tasks.check":         "Done",
		"tasks.check.label":   "Mark “%s” as done",
		"tasks.reopen":        "Reopen",
		"tasks.reopen.label":  "Reopen “%s”",
		"tasks.checked":       "“%s” is done.",
		"tasks.reopened":      "“%s” is open again.",
		"tasks.done_badge":    "done",
		"tasks.done_at":       "Done on",
		"tasks.new.title":     "New task",
		"tasks.new.link":      "New task",
		"tasks.created":       "The task “%s” has been created.",
		"tasks.deal":          "Deal",
		"tasks.more":          "Load more",
	})
}
