package httpapi

import (
	"net/http"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

func (a *API) listDeals(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.listDealsIn(w, r, p, false)
}

func (a *API) listDealTrash(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.listDealsIn(w, r, p, true)
}

// listDealsIn reads the deal filters: pipeline_id, stage_id, company_id,
// contact_id, status (open|won|lost), expected_close_from/_to (dates) and
// the common list parameters.
func (a *API) listDealsIn(w http.ResponseWriter, r *http.Request, p *auth.Principal, trash bool) {
	lp, v := listParams(r)
	lp.Deleted = trash
	q := r.URL.Query()
	f := crm.DealFilter{ListParams: lp,
		PipelineID:        queryID(q.Get("pipeline_id"), "pipeline_id", v),
		StageID:           queryID(q.Get("stage_id"), "stage_id", v),
		CompanyID:         queryID(q.Get("company_id"), "company_id", v),
		ContactID:         queryID(q.Get("contact_id"), "contact_id", v),
		Status:            q.Get("status"),
		ExpectedCloseFrom: queryDate(q.Get("expected_close_from"), "expected_close_from", v),
		ExpectedCloseTo:   queryDate(q.Get("expected_close_to"), "expected_close_to", v),
	}
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	pg, err := a.CRM.ListDeals(r.Context(), p, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, pg)
}

func (a *API) createDeal(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in crm.DealInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	// A deal without a currency is in the tenant's.
	if t := httpserver.Tenant(r.Context()); in.Currency == nil && t != nil && t.Currency != "" {
		c := t.Currency
		in.Currency = &c
	}
	d, err := a.CRM.CreateDeal(r.Context(), p, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, d.Version)
	w.Header().Set("Location", "/api/v1/deals/"+d.ID.String())
	httpserver.JSON(w, http.StatusCreated, d)
}

func (a *API) updateDeal(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in crm.DealInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.CRM.UpdateDeal(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, d.Version)
	httpserver.JSON(w, http.StatusOK, d)
}

// dealRoutes are the deal endpoints, shaped like the company ones, and
// the pipelines they move through.
func (a *API) dealRoutes() []Route {
	return append(a.pipelineRoutes(),
		perm("GET", "/api/v1/deals", auth.PermDealsRead, a.listDeals),
		perm("POST", "/api/v1/deals", auth.PermDealsWrite, a.createDeal),
		perm("GET", "/api/v1/deals/trash", auth.PermDealsDelete, a.listDealTrash),
		perm("DELETE", "/api/v1/deals/trash/{id}", auth.PermDealsDelete, removeRecord(a, CRM.PurgeDeal)),
		perm("GET", "/api/v1/deals/{id}", auth.PermDealsRead, getRecord(a, CRM.Deal)),
		perm("PATCH", "/api/v1/deals/{id}", auth.PermDealsWrite, a.updateDeal),
		perm("DELETE", "/api/v1/deals/{id}", auth.PermDealsDelete, removeRecord(a, CRM.DeleteDeal)),
		perm("POST", "/api/v1/deals/{id}/restore", auth.PermDealsDelete, restoreRecord(a, CRM.RestoreDeal)),
	)
}
