package metrics

import (
	"context"
	"io"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// CountCreations wraps a CRM service so that every record created through
// it — by the API, the web UI or an import — is counted in
// rpcrm_records_created_total{tenant,type}. Refused creations, dry runs
// and rolled-back imports are not counted. Tenants are the few configured
// ones and types a fixed list, so the label values stay few.
func (m *Metrics) CountCreations(svc crm.Service) crm.Service {
	if m == nil {
		return svc
	}
	return &countingCRM{Service: svc, m: m}
}

type countingCRM struct {
	crm.Service
	m *Metrics
}

func (c *countingCRM) count(p *auth.Principal, typ string, n int, err error) {
	if err == nil && p != nil && n > 0 {
		c.m.RecordsCreated.WithLabelValues(p.Tenant, typ).Add(float64(n))
	}
}

func (c *countingCRM) CreateCompany(ctx context.Context, p *auth.Principal, in crm.CompanyInput, m auth.LoginMeta) (*crm.Company, error) {
	x, err := c.Service.CreateCompany(ctx, p, in, m)
	c.count(p, "company", 1, err)
	return x, err
}

func (c *countingCRM) CreateContact(ctx context.Context, p *auth.Principal, in crm.ContactInput, m auth.LoginMeta) (*crm.Contact, error) {
	x, err := c.Service.CreateContact(ctx, p, in, m)
	c.count(p, "contact", 1, err)
	return x, err
}

func (c *countingCRM) CreateDeal(ctx context.Context, p *auth.Principal, in crm.DealInput, m auth.LoginMeta) (*crm.Deal, error) {
	x, err := c.Service.CreateDeal(ctx, p, in, m)
	c.count(p, "deal", 1, err)
	return x, err
}

func (c *countingCRM) CreateActivity(ctx context.Context, p *auth.Principal, in crm.ActivityInput, m auth.LoginMeta) (*crm.Activity, error) {
	x, err := c.Service.CreateActivity(ctx, p, in, m)
	c.count(p, "activity", 1, err)
	return x, err
}

func (c *countingCRM) CreateDocument(ctx context.Context, p *auth.Principal, in crm.DocumentInput, m auth.LoginMeta) (*crm.Document, error) {
	x, err := c.Service.CreateDocument(ctx, p, in, m)
	c.count(p, "document", 1, err)
	return x, err
}

func (c *countingCRM) ImportCompanies(ctx context.Context, p *auth.Principal, r io.Reader, o crm.ImportOptions, m auth.LoginMeta) (*crm.ImportResult, error) {
	res, err := c.Service.ImportCompanies(ctx, p, r, o, m)
	c.count(p, "company", imported(res), err)
	return res, err
}

func (c *countingCRM) ImportContacts(ctx context.Context, p *auth.Principal, r io.Reader, o crm.ImportOptions, m auth.LoginMeta) (*crm.ImportResult, error) {
	res, err := c.Service.ImportContacts(ctx, p, r, o, m)
	c.count(p, "contact", imported(res), err)
	return res, err
}

// imported is the number of records an import created for good.
func imported(res *crm.ImportResult) int {
	if res == nil || res.DryRun || res.RolledBack {
		return 0
	}
	return res.Created
}
