package web

import (
	"net/http"
	"time"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// dashboardPage is the start page: the open pipeline value by stage (a
// chart drawn from the table that also holds the figures), deals won and
// lost this month and quarter, the user's tasks due today and overdue, and
// the records changed last.
type dashboardPage struct {
	*crm.Dashboard
	Currency string
	Tasks    []taskRow
	MoreDue  bool
}

// chartValue is a stage's open amount in the tenant's currency as a plain
// number for the chart ("1250.50").
func (d *dashboardPage) ChartValue(s crm.DealSum) string { return s.Amount(d.Currency) }

// SumText writes a sum per currency, the tenant's first.
func (d *dashboardPage) SumText(s crm.DealSum) string { return sumText(s.Totals, d.Currency) }

// RecordURL is the page of a recently changed record.
func (d *dashboardPage) RecordURL(r crm.RecentRecord) string {
	switch r.Entity {
	case crm.EntityCompany:
		return "/companies/" + r.ID.String()
	case crm.EntityContact:
		return "/contacts/" + r.ID.String()
	}
	return "/deals/" + r.ID.String()
}

// dashboardTasks is how many of the user's open tasks (overdue first) the
// start page lists.
const dashboardTasks = 10

func (u *UI) home(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if needsFullLoad(w, r) {
		return
	}
	ctx := r.Context()
	v := u.newView(w, r, p, "home.title")
	v.Nav = "home"
	now := time.Now()
	d, err := u.CRM.Dashboard(ctx, p, crm.DashboardQuery{Now: now, Location: v.loc, Recent: 10})
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	data := &dashboardPage{Dashboard: d, Currency: v.Tenant.Currency}
	if d.Pipelines != nil {
		v.Scripts = []string{"vendor/chart.umd.min.js", "dashboard.js"}
	}
	if d.Tasks != nil {
		dayEnd, _, _, _, _ := crm.DashboardQuery{Now: now, Location: v.loc}.Periods()
		pg, err := u.CRM.MyOpenTasks(ctx, p, crm.ListParams{Limit: dashboardTasks})
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		var due []*crm.Activity
		for _, a := range pg.Items {
			if a.DueAt != nil && a.DueAt.Before(dayEnd) {
				due = append(due, a)
			}
		}
		data.Tasks = u.taskRows(r, p, due)
		data.MoreDue = d.Tasks.Overdue+d.Tasks.DueToday > len(due)
	}
	v.Data = data
	u.render(w, r, http.StatusOK, "home", v)
}

// CountText shows a capped task count as "100+".
func (d *dashboardPage) CountText(n int) string {
	if n >= crm.TaskCountCap {
		return itoa(crm.TaskCountCap) + "+"
	}
	return itoa(n)
}

func init() {
	addTexts(map[string]string{
		"home.pipeline":       "Offene Verkaufschancen nach Phase",
		"home.pipeline.chart": "Balkendiagramm: offener Wert je Phase in %s",
		"home.pipeline.total": "Total offen",
		"home.pipeline.empty": "Keine offenen Verkaufschancen.",
		"home.stage":          "Phase",
		"home.count":          "Anzahl",
		"home.value":          "Wert",
		"home.closed":         "Abschlüsse",
		"home.period":         "Zeitraum",
		"home.month":          "Diesen Monat",
		"home.quarter":        "Dieses Quartal",
		"home.won":            "Gewonnen",
		"home.lost":           "Verloren",
		"home.since":          "seit %s",
		"home.tasks":          "Meine Aufgaben",
		"home.tasks.overdue":  "Überfällig",
		"home.tasks.today":    "Heute fällig",
		"home.tasks.none":     "Heute ist nichts fällig.",
		"home.tasks.all":      "Alle Aufgaben",
		"home.recent":         "Zuletzt geändert",
		"home.recent.empty":   "Noch keine Änderungen.",
		"home.recent.by":      "von %s",
		"home.entity.company": "Firma",
		"home.entity.contact": "Person",
		"home.entity.deal":    "Verkaufschance",
		"home.deals.link":     "Zum Board",
	}, map[string]string{
		"home.pipeline":       "Open deals by stage",
		"home.pipeline.chart": "Bar chart: open value per stage in %s",
		"home.pipeline.total": "Total open",
		"home.pipeline.empty": "No open deals.",
		"home.stage":          "Stage",
		"home.count":          "Count",
		"home.value":          "Value",
		"home.closed":         "Closed deals",
		"home.period":         "Period",
		"home.month":          "This month",
		"home.quarter":        "This quarter",
		"home.won":            "Won",
		"home.lost":           "Lost",
		"home.since":          "since %s",
		"home.tasks":          "My tasks",
		"home.tasks.overdue":  "Overdue",
		"home.tasks.today":    "Due today",
		"home.tasks.none":     "Nothing is due today.",
		"home.tasks.all":      "All tasks",
		"home.recent":         "Recently changed",
		"home.recent.empty":   "No changes yet.",
		"home.recent.by":      "by %s",
		"home.entity.company": "Company",
		"home.entity.contact": "Contact",
		"home.entity.deal":    "Deal",
		"home.deals.link":     "To the board",
	})
}
