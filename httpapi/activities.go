package httpapi

import (
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

// activityFilter reads the activity filters: kind, assignee_id, company_id,
// contact_id, deal_id, open (true|false), due_before and due_after (RFC 3339).
func activityFilter(q url.Values, lp crm.ListParams, v rpcrm.Validation) crm.ActivityFilter {
	f := crm.ActivityFilter{ListParams: lp, Kind: q.Get("kind"),
		AssigneeID: queryID(q.Get("assignee_id"), "assignee_id", v),
		CompanyID:  queryID(q.Get("company_id"), "company_id", v),
		ContactID:  queryID(q.Get("contact_id"), "contact_id", v),
		DealID:     queryID(q.Get("deal_id"), "deal_id", v),
		DueBefore:  activityQueryTime(q.Get("due_before"), "due_before", v),
		DueAfter:   activityQueryTime(q.Get("due_after"), "due_after", v),
	}
	switch q.Get("open") {
	case "":
	case "true":
		f.Open = new(true)
	case "false":
		f.Open = new(false)
	default:
		v.Add("open", "Erwartet true oder false.")
	}
	return f
}

// activityQueryTime parses an optional RFC 3339 query parameter.
func activityQueryTime(s, name string, v rpcrm.Validation) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		v.Add(name, "Erwartet einen Zeitpunkt nach RFC 3339, z. B. 2026-01-31T00:00:00Z.")
		return nil
	}
	return &t
}

func (a *API) updateActivity(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in crm.ActivityInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	a.changeActivity(w, r, p, in)
}

// markActivityDone and markActivityOpen are shortcuts for PATCH {"done": …};
// they take the version from If-Match, if given.
func (a *API) markActivityDone(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.changeActivity(w, r, p, crm.ActivityInput{Done: new(true)})
}

func (a *API) markActivityOpen(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.changeActivity(w, r, p, crm.ActivityInput{Done: new(false)})
}

func (a *API) changeActivity(w http.ResponseWriter, r *http.Request, p *auth.Principal, in crm.ActivityInput) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	act, err := a.CRM.UpdateActivity(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, act.Version)
	httpserver.JSON(w, http.StatusOK, act)
}

func (a *API) myTasks(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	lp, v := listParams(r)
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	pg, err := a.CRM.MyOpenTasks(r.Context(), p, lp)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, pg)
}

// recordTimeline serves the timeline of one kind of record.
func (a *API) recordTimeline(entity string) func(http.ResponseWriter, *http.Request, *auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id, err := pathID(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		lp, v := listParams(r)
		if err := v.Err(); err != nil {
			a.fail(w, r, err)
			return
		}
		pg, err := a.CRM.Timeline(r.Context(), p, entity, id, lp)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		httpserver.JSON(w, http.StatusOK, pg)
	}
}

// activityRoutes are the activity endpoints, the caller's task list and the
// timelines of companies, contacts and deals (which are made of activities,
// documents and changes, and need the read permission of their record).
func (a *API) activityRoutes() []Route {
	activities := crmResource(a, "/api/v1/activities", func(act *crm.Activity) (uuid.UUID, int) { return act.ID, act.Version })
	return []Route{
		perm("GET", "/api/v1/activities", auth.PermActivitiesRead, listRecords(activities, CRM.ListActivities, activityFilter, false)),
		perm("POST", "/api/v1/activities", auth.PermActivitiesWrite, createRecord(activities, CRM.CreateActivity)),
		perm("GET", "/api/v1/activities/trash", auth.PermActivitiesDelete, listRecords(activities, CRM.ListActivities, activityFilter, true)),
		perm("DELETE", "/api/v1/activities/trash/{id}", auth.PermActivitiesDelete, removeRecord(a, CRM.PurgeActivity)),
		perm("GET", "/api/v1/activities/{id}", auth.PermActivitiesRead, getRecord(activities, CRM.Activity)),
		perm("PATCH", "/api/v1/activities/{id}", auth.PermActivitiesWrite, a.updateActivity),
		perm("DELETE", "/api/v1/activities/{id}", auth.PermActivitiesDelete, removeRecord(a, CRM.DeleteActivity)),
		perm("POST", "/api/v1/activities/{id}/restore", auth.PermActivitiesDelete, restoreRecord(activities, CRM.RestoreActivity)),
		perm("POST", "/api/v1/activities/{id}/done", auth.PermActivitiesWrite, a.markActivityDone),
		perm("POST", "/api/v1/activities/{id}/undone", auth.PermActivitiesWrite, a.markActivityOpen),
		perm("GET", "/api/v1/tasks/mine", auth.PermActivitiesRead, a.myTasks),
		perm("GET", "/api/v1/companies/{id}/timeline", auth.PermCompaniesRead, a.recordTimeline(crm.EntityCompany)),
		perm("GET", "/api/v1/contacts/{id}/timeline", auth.PermContactsRead, a.recordTimeline(crm.EntityContact)),
		perm("GET", "/api/v1/deals/{id}/timeline", auth.PermDealsRead, a.recordTimeline(crm.EntityDeal)),
	}
}
