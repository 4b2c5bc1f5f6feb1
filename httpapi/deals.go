package httpapi

import (
	"context"
	"net/url"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

// dealFilter reads the deal filters: pipeline_id, stage_id, company_id,
// contact_id, status (open|won|lost) and expected_close_from/_to (dates).
func dealFilter(q url.Values, lp crm.ListParams, v rpcrm.Validation) crm.DealFilter {
	return crm.DealFilter{ListParams: lp,
		PipelineID:        queryID(q.Get("pipeline_id"), "pipeline_id", v),
		StageID:           queryID(q.Get("stage_id"), "stage_id", v),
		CompanyID:         queryID(q.Get("company_id"), "company_id", v),
		ContactID:         queryID(q.Get("contact_id"), "contact_id", v),
		Status:            q.Get("status"),
		ExpectedCloseFrom: queryDate(q.Get("expected_close_from"), "expected_close_from", v),
		ExpectedCloseTo:   queryDate(q.Get("expected_close_to"), "expected_close_to", v),
	}
}

// createDeal creates a deal; one without a currency is in the tenant's.
func createDeal(svc CRM, ctx context.Context, p *auth.Principal, in crm.DealInput, m auth.LoginMeta) (*crm.Deal, error) {
	if t := httpserver.Tenant(ctx); in.Currency == nil && t != nil && t.Currency != "" {
		c := t.Currency
		in.Currency = &c
	}
	return svc.CreateDeal(ctx, p, in, m)
}

// dealRoutes are the deal endpoints, shaped like the company ones, and
// the pipelines they move through.
func (a *API) dealRoutes() []Route {
	deals := crmResource(a, "/api/v1/deals", func(d *crm.Deal) (uuid.UUID, int) { return d.ID, d.Version })
	return append(a.pipelineRoutes(),
		perm("GET", "/api/v1/deals", auth.PermDealsRead, listRecords(deals, CRM.ListDeals, dealFilter, false)),
		perm("POST", "/api/v1/deals", auth.PermDealsWrite, createRecord(deals, createDeal)),
		perm("GET", "/api/v1/deals/trash", auth.PermDealsDelete, listRecords(deals, CRM.ListDeals, dealFilter, true)),
		perm("DELETE", "/api/v1/deals/trash/{id}", auth.PermDealsDelete, removeRecord(a, CRM.PurgeDeal)),
		perm("GET", "/api/v1/deals/{id}", auth.PermDealsRead, getRecord(deals, CRM.Deal)),
		perm("PATCH", "/api/v1/deals/{id}", auth.PermDealsWrite,
			updateRecord(deals, CRM.UpdateDeal, func(in *crm.DealInput) *int { return &in.Version })),
		perm("DELETE", "/api/v1/deals/{id}", auth.PermDealsDelete, removeRecord(a, CRM.DeleteDeal)),
		perm("POST", "/api/v1/deals/{id}/restore", auth.PermDealsDelete, restoreRecord(deals, CRM.RestoreDeal)),
	)
}
