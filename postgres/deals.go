package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

var deals = recordTable{table: "deals", entity: "deal",
	read: auth.PermDealsRead, write: auth.PermDealsWrite, del: auth.PermDealsDelete,
	notFound: "Verkaufschance nicht gefunden."}

// dealColumns reads amounts and dates as text: money never passes through
// a float, and a date has no time zone. The status is the stage's kind.
const dealColumns = `id, owner_id, tags, custom, created_at, updated_at, deleted_at, version,
	title, amount::text, currency, pipeline_id, stage_id, company_id, contact_id, expected_close::text,
	coalesce(probability, 0), won_at, lost_at, lost_reason, stage_changed_at,
	(SELECT kind FROM stages st WHERE st.tenant_id = deals.tenant_id AND st.id = deals.stage_id)`

func scanDeal(r pgx.Row, extra ...any) (*crm.Deal, error) {
	d := &crm.Deal{}
	dest := append([]any{&d.ID, &d.OwnerID, &d.Tags, &d.Custom, &d.CreatedAt, &d.UpdatedAt, &d.DeletedAt, &d.Version,
		&d.Title, &d.Amount, &d.Currency, &d.PipelineID, &d.StageID, &d.CompanyID, &d.ContactID, &d.ExpectedClose,
		&d.Probability, &d.WonAt, &d.LostAt, &d.LostReason, &d.StageChangedAt, &d.Status}, extra...)
	err := r.Scan(dest...)
	return d, err
}

var dealSorts = map[string]struct{ expr, cast string }{
	"title":          {"lower(title)", "::text"},
	"amount":         {"coalesce(amount, 0)", "::numeric"},
	"expected_close": {"coalesce(expected_close, 'infinity'::date)", "::date"},
	"created_at":     {"created_at", "::timestamptz"},
	"updated_at":     {"updated_at", "::timestamptz"},
}

// ListDeals lists the deals the principal may see.
func (s *CRMService) ListDeals(ctx context.Context, p *auth.Principal, f crm.DealFilter) (*crm.Page[*crm.Deal], error) {
	if err := f.Normalize(); err != nil {
		return nil, err
	}
	sort := dealSorts[f.Sort]
	q := &query{}
	q.add("SELECT " + dealColumns + ", (" + sort.expr + ")::text AS sort_key FROM deals WHERE tenant_id = " + q.arg(p.TenantID))
	if err := ownerFilter(q, p, deals.read, "owner_id"); err != nil {
		return nil, err
	}
	commonFilters(q, f.ListParams)
	for col, id := range map[string]*uuid.UUID{"pipeline_id": f.PipelineID, "stage_id": f.StageID,
		"company_id": f.CompanyID, "contact_id": f.ContactID} {
		if id != nil {
			q.add(" AND " + col + " = " + q.arg(*id))
		}
	}
	if f.Status != "" {
		q.add(" AND stage_id IN (SELECT id FROM stages WHERE tenant_id = " + q.arg(p.TenantID) + " AND kind = " + q.arg(f.Status) + ")")
	}
	if f.ExpectedCloseFrom != nil {
		q.add(" AND expected_close >= " + q.arg(f.ExpectedCloseFrom.Format(time.DateOnly)) + "::date")
	}
	if f.ExpectedCloseTo != nil {
		q.add(" AND expected_close <= " + q.arg(f.ExpectedCloseTo.Format(time.DateOnly)) + "::date")
	}
	keyset(q, f.ListParams, sort.expr, sort.cast)
	return readPage(ctx, s.DB, p.TenantID, q, f.ListParams, scanDeal, func(d *crm.Deal) uuid.UUID { return d.ID })
}

// Deal returns one live deal.
func (s *CRMService) Deal(ctx context.Context, p *auth.Principal, id uuid.UUID) (*crm.Deal, error) {
	return liveRecord(ctx, s.DB, p, deals, dealColumns, scanDeal, id)
}

// getDeal loads a live deal visible to p (read scope), or for update
// (write scope, locked).
func getDeal(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID, forUpdate bool) (*crm.Deal, error) {
	return getRecord(ctx, tx, p, deals, dealColumns, scanDeal, id, forUpdate)
}

// CreateDeal creates a deal owned by the caller unless another owner is
// given, in the first pipeline's first stage unless others are given.
func (s *CRMService) CreateDeal(ctx context.Context, p *auth.Principal, in crm.DealInput, m auth.LoginMeta) (*crm.Deal, error) {
	d := &crm.Deal{}
	d.OwnerID = actorID(p)
	id := func(r *crm.Deal) uuid.UUID { return r.ID }
	return createRecord(ctx, s.DB, p, m, deals, id, dealFields, func(tx pgx.Tx) (*crm.Deal, error) {
		if err := applyDeal(ctx, tx, p, &in, d, nil); err != nil {
			return nil, err
		}
		d.ID = newID()
		_, err := tx.Exec(ctx, `INSERT INTO deals (tenant_id, id, title, amount, currency, pipeline_id, stage_id, company_id,
			contact_id, owner_id, expected_close, probability, won_at, lost_at, lost_reason, stage_changed_at, tags, custom,
			created_by, updated_by)
			VALUES ($1, $2, $3, $4::numeric, $5, $6, $7, $8, $9, $10, $11::date, $12, $13, $14, $15, $16, $17, $18, $19, $19)`,
			p.TenantID, d.ID, d.Title, d.Amount, d.Currency, d.PipelineID, d.StageID, d.CompanyID,
			d.ContactID, d.OwnerID, d.ExpectedClose, d.Probability, d.WonAt, d.LostAt, d.LostReason, d.StageChangedAt, d.Tags, d.Custom,
			actorID(p))
		if err != nil {
			return nil, mapError(err)
		}
		return getDeal(ctx, tx, p, d.ID, false)
	})
}

// applyDeal validates the input onto d (before is the stored deal, nil on
// create): the fields, the owner, pipeline and stage, the linked company and
// contact, the custom fields, and the rules of the stage the deal is in.
func applyDeal(ctx context.Context, tx pgx.Tx, p *auth.Principal, in *crm.DealInput, d *crm.Deal, before *crm.Deal) error {
	verr := in.Apply(d)
	if err := checkOwner(ctx, tx, p, deals.write, in.OwnerID); err != nil {
		verr = mergeValidation(verr, err)
	}
	st, err := resolveStage(ctx, tx, p.TenantID, in, d, before)
	if err != nil {
		verr = mergeValidation(verr, err)
	}
	if in.CompanyID.ID != nil {
		if err := checkLive(ctx, tx, p.TenantID, "companies", *in.CompanyID.ID, "company_id", "Unbekannte Firma."); err != nil {
			verr = mergeValidation(verr, err)
		}
	}
	if in.ContactID.ID != nil {
		if err := checkLive(ctx, tx, p.TenantID, "contacts", *in.ContactID.ID, "contact_id", "Unbekannter Kontakt."); err != nil {
			verr = mergeValidation(verr, err)
		}
	}
	var current crm.Custom
	if before != nil {
		current = before.Custom
	}
	defs, err := customFieldDefs(ctx, tx, p.TenantID, crm.EntityDeal)
	if err != nil {
		return err
	}
	custom, cerr := crm.ValidateCustom(defs, current, in.Custom)
	if cerr != nil {
		verr = mergeValidation(verr, cerr)
	}
	if st != nil {
		changed := before == nil || before.StageID != st.ID
		if err := d.EnterStage(st, changed, in.Probability != nil, time.Now()); err != nil {
			verr = mergeValidation(verr, err)
		}
	}
	if verr != nil {
		return verr
	}
	d.Custom = custom
	d.Tags, err = ensureTags(ctx, tx, p.TenantID, d.Tags)
	return err
}

// resolveStage finds the deal's pipeline and stage: defaults for a new deal
// (first pipeline, first stage), the new pipeline's first stage when only
// the pipeline changes, and otherwise the stage asked for, which must
// belong to the pipeline.
func resolveStage(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, in *crm.DealInput, d, before *crm.Deal) (*crm.Stage, error) {
	if d.PipelineID == uuid.Nil {
		err := tx.QueryRow(ctx, `SELECT id FROM pipelines WHERE tenant_id = $1 ORDER BY position, lower(name), id LIMIT 1`,
			tenantID).Scan(&d.PipelineID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, rpcrm.FieldError("pipeline_id", "Es gibt noch keine Pipeline.")
		}
		if err != nil {
			return nil, err
		}
	}
	pipelineChanged := before == nil || before.PipelineID != d.PipelineID
	var row pgx.Row
	if in.StageID == nil && pipelineChanged {
		row = tx.QueryRow(ctx, `SELECT `+stageColumns+` FROM stages WHERE tenant_id = $1 AND pipeline_id = $2
			ORDER BY position, id LIMIT 1`, tenantID, d.PipelineID)
	} else {
		row = tx.QueryRow(ctx, `SELECT `+stageColumns+` FROM stages WHERE tenant_id = $1 AND pipeline_id = $2 AND id = $3`,
			tenantID, d.PipelineID, d.StageID)
	}
	st, err := scanStage(row)
	if errors.Is(err, pgx.ErrNoRows) {
		var pipelineOK bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pipelines WHERE tenant_id = $1 AND id = $2)`,
			tenantID, d.PipelineID).Scan(&pipelineOK); err != nil {
			return nil, err
		}
		if !pipelineOK {
			return nil, rpcrm.FieldError("pipeline_id", "Unbekannte Pipeline.")
		}
		return nil, rpcrm.FieldError("stage_id", "Diese Phase gehört nicht zur Pipeline der Verkaufschance.")
	}
	if err != nil {
		return nil, err
	}
	d.StageID = st.ID
	return st, nil
}

// checkLive makes sure a linked record exists in the tenant and is not in the trash.
func checkLive(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, table string, id uuid.UUID, field, msg string) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL)`,
		tenantID, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return rpcrm.FieldError(field, msg)
	}
	return nil
}

// UpdateDeal changes a deal; a stale version changes nothing.
func (s *CRMService) UpdateDeal(ctx context.Context, p *auth.Principal, id uuid.UUID, in crm.DealInput, m auth.LoginMeta) (*crm.Deal, error) {
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.Deal, error) {
		lock := func() (*crm.Deal, error) { return getDeal(ctx, tx, p, id, true) }
		return updateRecord(ctx, tx, p, m, deals, id, in.Version, dealFields, lock, func(before *crm.Deal) (*crm.Deal, error) {
			d := *before
			d.Tags = append([]string(nil), before.Tags...)
			if err := applyDeal(ctx, tx, p, &in, &d, before); err != nil {
				return nil, err
			}
			_, err := tx.Exec(ctx, `UPDATE deals SET title = $3, amount = $4::numeric, currency = $5, pipeline_id = $6, stage_id = $7,
				company_id = $8, contact_id = $9, owner_id = $10, expected_close = $11::date, probability = $12, won_at = $13,
				lost_at = $14, lost_reason = $15, stage_changed_at = $16, tags = $17, custom = $18,
				updated_by = $19, updated_at = now(), version = version + 1
				WHERE tenant_id = $1 AND id = $2`,
				p.TenantID, id, d.Title, d.Amount, d.Currency, d.PipelineID, d.StageID,
				d.CompanyID, d.ContactID, d.OwnerID, d.ExpectedClose, d.Probability, d.WonAt,
				d.LostAt, d.LostReason, d.StageChangedAt, d.Tags, d.Custom, actorID(p))
			if err != nil {
				return nil, mapError(err)
			}
			return getDeal(ctx, tx, p, id, false)
		})
	})
}

// DeleteDeal moves a deal to the trash.
func (s *CRMService) DeleteDeal(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.deleteRecord(ctx, p, deals, id, m)
}

// RestoreDeal takes a deal out of the trash.
func (s *CRMService) RestoreDeal(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*crm.Deal, error) {
	return restoreRecord(ctx, s.DB, p, deals, id, m, func(tx pgx.Tx) (*crm.Deal, error) {
		return getDeal(ctx, tx, p, id, false)
	})
}

// PurgeDeal deletes a deal from the trash for good; activities and
// documents that referred to it stay, without the reference (documents
// attached to nothing else go with it).
func (s *CRMService) PurgeDeal(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.purgeRecord(ctx, p, deals, id, m, "deal_id",
		`UPDATE activities SET deal_id = NULL WHERE tenant_id = $1 AND deal_id = $2`,
		`UPDATE documents SET deal_id = NULL WHERE tenant_id = $1 AND deal_id = $2`)
}

func dealFields(d *crm.Deal) map[string]any {
	return map[string]any{"title": d.Title, "amount": d.Amount, "currency": d.Currency, "pipeline_id": d.PipelineID,
		"stage_id": d.StageID, "company_id": d.CompanyID, "contact_id": d.ContactID, "owner_id": d.OwnerID,
		"expected_close": d.ExpectedClose, "probability": d.Probability, "status": d.Status, "lost_reason": d.LostReason,
		"tags": d.Tags, "custom_fields": d.Custom}
}
