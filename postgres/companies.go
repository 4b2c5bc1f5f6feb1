package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// CRMService implements the CRM services on PostgreSQL.
type CRMService struct {
	DB *DB
	// Files, when set, removes the content of documents purged for good
	// (their own purge or their record's).
	Files crm.ContentRemover
}

var companies = recordTable{table: "companies", entity: "company",
	read: auth.PermCompaniesRead, write: auth.PermCompaniesWrite, del: auth.PermCompaniesDelete,
	notFound: "Firma nicht gefunden."}

const companyColumns = `id, owner_id, tags, custom, created_at, updated_at, deleted_at, version,
	name, uid, website, email, phone, street, postal_code, city, canton, country, industry`

func scanCompany(r pgx.Row, extra ...any) (*crm.Company, error) {
	c := &crm.Company{}
	dest := append([]any{&c.ID, &c.OwnerID, &c.Tags, &c.Custom, &c.CreatedAt, &c.UpdatedAt, &c.DeletedAt, &c.Version,
		&c.Name, &c.UID, &c.Website, &c.Email, &c.Phone, &c.Address.Street, &c.Address.PostalCode, &c.Address.City,
		&c.Address.Canton, &c.Address.Country, &c.Industry}, extra...)
	err := r.Scan(dest...)
	return c, err
}

var companySorts = map[string]struct{ expr, cast string }{
	"name":       {"lower(name)", "::text"},
	"city":       {"lower(city)", "::text"},
	"created_at": {"created_at", "::timestamptz"},
	"updated_at": {"updated_at", "::timestamptz"},
}

// ListCompanies lists the companies the principal may see.
func (s *CRMService) ListCompanies(ctx context.Context, p *auth.Principal, f crm.CompanyFilter) (*crm.Page[*crm.Company], error) {
	if err := f.Normalize(crm.CompanySortable, "name"); err != nil {
		return nil, err
	}
	sort := companySorts[f.Sort]
	q := &query{}
	// The key gets its own name: "(created_at)::text" would be called
	// created_at too, and ORDER BY created_at would be ambiguous.
	q.add("SELECT " + companyColumns + ", (" + sort.expr + ")::text AS sort_key FROM companies WHERE tenant_id = " + q.arg(p.TenantID))
	// The trash shows what the principal could restore or purge.
	perm := companies.read
	if f.Deleted {
		perm = companies.del
	}
	if err := ownerFilter(q, p, perm, "owner_id"); err != nil {
		return nil, err
	}
	commonFilters(q, f.ListParams)
	if f.City != "" {
		q.add(" AND lower(city) = lower(" + q.arg(f.City) + ")")
	}
	if f.Canton != "" {
		q.add(" AND canton = upper(" + q.arg(f.Canton) + ")")
	}
	if f.Industry != "" {
		q.add(" AND lower(industry) = lower(" + q.arg(f.Industry) + ")")
	}
	keyset(q, f.ListParams, sort.expr, sort.cast)
	return readPage(ctx, s.DB, p.TenantID, q, f.ListParams, scanCompany, func(c *crm.Company) uuid.UUID { return c.ID })
}

// keyed is a listed record with the text of its sort key, as the database
// computed it: the next page's cursor must compare exactly as SQL does.
type keyed[T any] struct {
	item T
	key  *string
}

// readPage reads one page of a keyset list query (its rows end with the
// sort key) in one round trip.
func readPage[T any](ctx context.Context, db *DB, tenantID uuid.UUID, q *query, lp crm.ListParams,
	scan func(pgx.Row, ...any) (T, error), id func(T) uuid.UUID) (*crm.Page[T], error) {
	var items []keyed[T]
	err := db.QueryTenant(ctx, tenantID, q.String(), q.args, func(rows pgx.Rows) error {
		var err error
		items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (keyed[T], error) {
			var k keyed[T]
			var err error
			k.item, err = scan(r, &k.key)
			return k, err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return page(items, lp, id), nil
}

// page cuts the extra row that keyset fetched and makes the next cursor
// from the last row shown.
func page[T any](rows []keyed[T], lp crm.ListParams, id func(T) uuid.UUID) *crm.Page[T] {
	pg := &crm.Page[T]{Items: make([]T, 0, min(len(rows), lp.Limit))}
	for i, r := range rows {
		if i == lp.Limit {
			last := rows[i-1]
			key := ""
			if last.key != nil {
				key = *last.key
			}
			pg.NextCursor = crm.EncodeCursor(crm.Cursor{Key: key, ID: id(last.item), Sort: lp.SortKey()})
			break
		}
		pg.Items = append(pg.Items, r.item)
	}
	return pg
}

// Company returns one live company.
func (s *CRMService) Company(ctx context.Context, p *auth.Principal, id uuid.UUID) (*crm.Company, error) {
	return liveRecord(ctx, s.DB, p, companies, companyColumns, scanCompany, id)
}

// getCompany loads a live company visible to p (read scope), or for update
// (write scope, locked).
func getCompany(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID, forUpdate bool) (*crm.Company, error) {
	return getRecord(ctx, tx, p, companies, companyColumns, scanCompany, id, forUpdate)
}

// CreateCompany creates a company owned by the caller unless another owner is given.
func (s *CRMService) CreateCompany(ctx context.Context, p *auth.Principal, in crm.CompanyInput, m auth.LoginMeta) (*crm.Company, error) {
	c := &crm.Company{}
	c.OwnerID = actorID(p)
	id := func(r *crm.Company) uuid.UUID { return r.ID }
	return createRecord(ctx, s.DB, p, m, companies, id, companyFields, func(tx pgx.Tx) (*crm.Company, error) {
		if err := applyCompany(ctx, tx, p, &in, c, nil); err != nil {
			return nil, err
		}
		c.ID = newID()
		_, err := tx.Exec(ctx, `INSERT INTO companies (tenant_id, id, name, uid, website, email, phone, street, postal_code, city,
			canton, country, industry, tags, owner_id, custom, created_by, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)`,
			p.TenantID, c.ID, c.Name, c.UID, c.Website, c.Email, c.Phone, c.Address.Street, c.Address.PostalCode, c.Address.City,
			c.Address.Canton, c.Address.Country, c.Industry, c.Tags, c.OwnerID, c.Custom, actorID(p))
		if err != nil {
			return nil, mapError(err)
		}
		return getCompany(ctx, tx, p, c.ID, false)
	})
}

// applyCompany validates the input onto c, including the owner, the custom
// fields and the tags, which need the database.
func applyCompany(ctx context.Context, tx pgx.Tx, p *auth.Principal, in *crm.CompanyInput, c *crm.Company, current crm.Custom) error {
	verr := in.Apply(c)
	if err := checkOwner(ctx, tx, p, companies.write, in.OwnerID); err != nil {
		verr = mergeValidation(verr, err)
	}
	return applyCustomAndTags(ctx, tx, p, crm.EntityCompany, &c.Meta, current, in.Custom, verr)
}

// applyCustomAndTags ends the validation of a record's input, verr so far:
// its custom fields of entity, the patch applied to the current values,
// and, when all is valid, the stored spelling of its tags.
func applyCustomAndTags(ctx context.Context, tx pgx.Tx, p *auth.Principal, entity string, rec *crm.Meta,
	current, patch crm.Custom, verr error) error {
	defs, err := customFieldDefs(ctx, tx, p.TenantID, entity)
	if err != nil {
		return err
	}
	custom, cerr := crm.ValidateCustom(defs, current, patch)
	if cerr != nil {
		verr = mergeValidation(verr, cerr)
	}
	if verr != nil {
		return verr
	}
	rec.Custom = custom
	rec.Tags, err = ensureTags(ctx, tx, p.TenantID, rec.Tags)
	return err
}

// mergeValidation combines two errors; field errors are merged, anything
// else wins.
func mergeValidation(a, b error) error {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	var ea, eb *rpcrm.Error
	if errors.As(a, &ea) && errors.As(b, &eb) && ea.Code == rpcrm.EINVALID && eb.Code == rpcrm.EINVALID {
		fields := map[string]string{}
		for k, v := range ea.Fields {
			fields[k] = v
		}
		for k, v := range eb.Fields {
			if _, ok := fields[k]; !ok {
				fields[k] = v
			}
		}
		return &rpcrm.Error{Code: rpcrm.EINVALID, Message: ea.Message, Fields: fields}
	}
	if errors.As(b, &eb) && eb.Code != rpcrm.EINVALID {
		return b
	}
	return a
}

// UpdateCompany changes a company; a stale version changes nothing.
func (s *CRMService) UpdateCompany(ctx context.Context, p *auth.Principal, id uuid.UUID, in crm.CompanyInput, m auth.LoginMeta) (*crm.Company, error) {
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.Company, error) {
		return updateCompany(ctx, tx, p, id, in, m)
	})
}

// updateCompany is UpdateCompany inside a transaction (also used by the import).
func updateCompany(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID, in crm.CompanyInput, m auth.LoginMeta) (*crm.Company, error) {
	lock := func() (*crm.Company, error) { return getCompany(ctx, tx, p, id, true) }
	return updateRecord(ctx, tx, p, m, companies, id, in.Version, companyFields, lock, func(before *crm.Company) (*crm.Company, error) {
		c := *before
		c.Tags = append([]string(nil), before.Tags...)
		if err := applyCompany(ctx, tx, p, &in, &c, before.Custom); err != nil {
			return nil, err
		}
		_, err := tx.Exec(ctx, `UPDATE companies SET name = $3, uid = $4, website = $5, email = $6, phone = $7, street = $8,
			postal_code = $9, city = $10, canton = $11, country = $12, industry = $13, tags = $14, owner_id = $15, custom = $16,
			updated_by = $17, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`,
			p.TenantID, id, c.Name, c.UID, c.Website, c.Email, c.Phone, c.Address.Street, c.Address.PostalCode, c.Address.City,
			c.Address.Canton, c.Address.Country, c.Industry, c.Tags, c.OwnerID, c.Custom, actorID(p))
		if err != nil {
			return nil, mapError(err)
		}
		return getCompany(ctx, tx, p, id, false)
	})
}

// DeleteCompany moves a company to the trash.
func (s *CRMService) DeleteCompany(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.deleteRecord(ctx, p, companies, id, m)
}

// RestoreCompany takes a company out of the trash.
func (s *CRMService) RestoreCompany(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*crm.Company, error) {
	return restoreRecord(ctx, s.DB, p, companies, id, m, func(tx pgx.Tx) (*crm.Company, error) {
		return getCompany(ctx, tx, p, id, false)
	})
}

// PurgeCompany deletes a company from the trash for good; contacts, deals,
// activities and documents that referred to it stay, without the reference.
func (s *CRMService) PurgeCompany(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.purgeRecord(ctx, p, companies, id, m, "company_id",
		`UPDATE contacts SET company_id = NULL WHERE tenant_id = $1 AND company_id = $2`,
		`UPDATE deals SET company_id = NULL WHERE tenant_id = $1 AND company_id = $2`,
		`UPDATE activities SET company_id = NULL WHERE tenant_id = $1 AND company_id = $2`,
		`UPDATE documents SET company_id = NULL WHERE tenant_id = $1 AND company_id = $2`)
}

func companyFields(c *crm.Company) map[string]any {
	return map[string]any{"name": c.Name, "uid": c.UID, "website": c.Website, "email": c.Email, "phone": c.Phone,
		"address": c.Address, "industry": c.Industry, "tags": c.Tags, "owner_id": c.OwnerID, "custom_fields": c.Custom}
}
