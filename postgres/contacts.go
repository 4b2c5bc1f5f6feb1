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

var contacts = recordTable{table: "contacts", entity: "contact",
	read: auth.PermContactsRead, write: auth.PermContactsWrite, del: auth.PermContactsDelete,
	notFound: "Person nicht gefunden."}

const contactColumns = `id, owner_id, tags, custom, created_at, updated_at, deleted_at, version,
	salutation, first_name, last_name, trim(first_name || ' ' || last_name), emails, phones, job_title, company_id,
	street, postal_code, city, canton, country, language, to_char(birthday, 'YYYY-MM-DD'),
	marketing_consent, consent_at, consent_source`

func scanContact(r pgx.Row, extra ...any) (*crm.Contact, error) {
	c := &crm.Contact{}
	mc := &c.MarketingConsent
	dest := append([]any{&c.ID, &c.OwnerID, &c.Tags, &c.Custom, &c.CreatedAt, &c.UpdatedAt, &c.DeletedAt, &c.Version,
		&c.Salutation, &c.FirstName, &c.LastName, &c.Name, &c.Emails, &c.Phones, &c.JobTitle, &c.CompanyID,
		&c.Address.Street, &c.Address.PostalCode, &c.Address.City, &c.Address.Canton, &c.Address.Country, &c.Language, &c.Birthday,
		&mc.Given, &mc.At, &mc.Source}, extra...)
	err := r.Scan(dest...)
	if mc.At != nil {
		t := mc.At.UTC()
		mc.At = &t
	}
	return c, err
}

// contactSorts are the sort keys; none may be NULL, or keyset paging would
// skip rows, hence the far-future date for contacts without a birthday.
// The name orders compare last and first name as a row: the index
// contacts_name_idx (tenant_id, lower(last_name), lower(first_name), id)
// delivers "last_name" in order, so a page reads only its own rows.
var contactSorts = map[string]sortSpec{
	"last_name":  {cols: []string{"lower(last_name)", "lower(first_name)"}},
	"first_name": {cols: []string{"lower(first_name)", "lower(last_name)"}},
	"created_at": {expr: "created_at", cast: "::timestamptz"},
	"updated_at": {expr: "updated_at", cast: "::timestamptz"},
	"birthday":   {expr: "coalesce(birthday, DATE '9999-12-31')", cast: "::date"},
}

// ListContacts lists the contacts the principal may see.
func (s *CRMService) ListContacts(ctx context.Context, p *auth.Principal, f crm.ContactFilter) (*crm.Page[*crm.Contact], error) {
	q, err := contactListQuery(p, &f)
	if err != nil {
		return nil, err
	}
	return readPage(ctx, s.DB, p.TenantID, q, f.ListParams, scanContact, func(c *crm.Contact) uuid.UUID { return c.ID })
}

// contactListQuery is the query of one page of ListContacts; it
// normalises f.
func contactListQuery(p *auth.Principal, f *crm.ContactFilter) (*query, error) {
	if err := f.Normalize(crm.ContactSortable, "last_name"); err != nil {
		return nil, err
	}
	sort := contactSorts[f.Sort]
	q := &query{}
	q.add("SELECT " + contactColumns + ", " + sort.keySQL() + " AS sort_key FROM contacts WHERE tenant_id = " + q.arg(p.TenantID))
	if err := ownerFilter(q, p, contacts.read, "owner_id"); err != nil {
		return nil, err
	}
	commonFilters(q, f.ListParams)
	if f.CompanyID != nil {
		q.add(" AND company_id = " + q.arg(*f.CompanyID))
	}
	if f.Language != "" {
		q.add(" AND language = lower(" + q.arg(f.Language) + ")")
	}
	if err := keysetBy(q, f.ListParams, sort); err != nil {
		return nil, err
	}
	return q, nil
}

// Contact returns one live contact.
func (s *CRMService) Contact(ctx context.Context, p *auth.Principal, id uuid.UUID) (*crm.Contact, error) {
	return liveRecord(ctx, s.DB, p, contacts, contactColumns, scanContact, id)
}

// getContact loads a live contact visible to p (read scope), or for update
// (write scope, locked).
func getContact(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID, forUpdate bool) (*crm.Contact, error) {
	return getRecord(ctx, tx, p, contacts, contactColumns, scanContact, id, forUpdate)
}

// CreateContact creates a contact owned by the caller unless another owner is given.
func (s *CRMService) CreateContact(ctx context.Context, p *auth.Principal, in crm.ContactInput, m auth.LoginMeta) (*crm.Contact, error) {
	c := &crm.Contact{}
	c.OwnerID = actorID(p)
	id := func(r *crm.Contact) uuid.UUID { return r.ID }
	return createRecord(ctx, s.DB, p, m, contacts, id, contactFields, func(tx pgx.Tx) (*crm.Contact, error) {
		if err := applyContact(ctx, tx, p, &in, c, nil, true); err != nil {
			return nil, err
		}
		c.ID = newID()
		mc := c.MarketingConsent
		_, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, salutation, first_name, last_name, emails, phones, job_title,
			company_id, street, postal_code, city, canton, country, language, birthday, tags, owner_id, marketing_consent,
			consent_at, consent_source, custom, created_by, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::date, $17, $18, $19, $20, $21, $22, $23, $23)`,
			p.TenantID, c.ID, c.Salutation, c.FirstName, c.LastName, c.Emails, c.Phones, c.JobTitle,
			c.CompanyID, c.Address.Street, c.Address.PostalCode, c.Address.City, c.Address.Canton, c.Address.Country, c.Language,
			c.Birthday, c.Tags, c.OwnerID, mc.Given, mc.At, mc.Source, c.Custom, actorID(p))
		if err != nil {
			return nil, mapError(err)
		}
		return getContact(ctx, tx, p, c.ID, false)
	})
}

// applyContact validates the input onto c, including what needs the
// database: the owner, the company, the custom fields and the tags.
func applyContact(ctx context.Context, tx pgx.Tx, p *auth.Principal, in *crm.ContactInput, c *crm.Contact, current crm.Custom, create bool) error {
	oldCompany := c.CompanyID
	verr := in.Apply(c)
	if err := checkOwner(ctx, tx, p, contacts.write, in.OwnerID); err != nil {
		verr = mergeValidation(verr, err)
	}
	// An unchanged link to a company that was trashed since does not block
	// other changes to the contact.
	if c.CompanyID != nil && (create || oldCompany == nil || *oldCompany != *c.CompanyID) {
		if err := checkContactCompany(ctx, tx, p, *c.CompanyID); err != nil {
			verr = mergeValidation(verr, err)
		}
	}
	return applyCustomAndTags(ctx, tx, p, crm.EntityContact, &c.Meta, current, in.Custom, verr)
}

// checkContactCompany makes sure a contact is linked only to a live company
// the principal can see. The row is key-share locked so that it cannot be
// purged before the link is committed.
func checkContactCompany(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID) error {
	unknown := rpcrm.FieldError("company_id", "Unbekannte Firma.")
	q := &query{}
	q.add("SELECT 1 FROM companies WHERE tenant_id = " + q.arg(p.TenantID) + " AND id = " + q.arg(id) + " AND deleted_at IS NULL")
	if err := ownerFilter(q, p, companies.read, "owner_id"); err != nil {
		if errors.Is(err, errForbidden) {
			return unknown
		}
		return err
	}
	q.add(" FOR KEY SHARE")
	var one int
	err := tx.QueryRow(ctx, q.String(), q.args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return unknown
	}
	return err
}

// UpdateContact changes a contact; a stale version changes nothing.
func (s *CRMService) UpdateContact(ctx context.Context, p *auth.Principal, id uuid.UUID, in crm.ContactInput, m auth.LoginMeta) (*crm.Contact, error) {
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.Contact, error) {
		return updateContact(ctx, tx, p, id, in, m)
	})
}

// updateContact is UpdateContact inside a transaction (also used by the import).
func updateContact(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID, in crm.ContactInput, m auth.LoginMeta) (*crm.Contact, error) {
	lock := func() (*crm.Contact, error) { return getContact(ctx, tx, p, id, true) }
	return updateRecord(ctx, tx, p, m, contacts, id, in.Version, contactFields, lock, func(before *crm.Contact) (*crm.Contact, error) {
		c := *before
		c.Tags = append([]string(nil), before.Tags...)
		c.Emails = append([]string(nil), before.Emails...)
		c.Phones = append([]string(nil), before.Phones...)
		if err := applyContact(ctx, tx, p, &in, &c, before.Custom, false); err != nil {
			return nil, err
		}
		mc := c.MarketingConsent
		_, err := tx.Exec(ctx, `UPDATE contacts SET salutation = $3, first_name = $4, last_name = $5, emails = $6, phones = $7,
			job_title = $8, company_id = $9, street = $10, postal_code = $11, city = $12, canton = $13, country = $14,
			language = $15, birthday = $16::date, tags = $17, owner_id = $18, marketing_consent = $19, consent_at = $20,
			consent_source = $21, custom = $22, updated_by = $23, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`,
			p.TenantID, id, c.Salutation, c.FirstName, c.LastName, c.Emails, c.Phones,
			c.JobTitle, c.CompanyID, c.Address.Street, c.Address.PostalCode, c.Address.City, c.Address.Canton, c.Address.Country,
			c.Language, c.Birthday, c.Tags, c.OwnerID, mc.Given, mc.At,
			mc.Source, c.Custom, actorID(p))
		if err != nil {
			return nil, mapError(err)
		}
		return getContact(ctx, tx, p, id, false)
	})
}

// DeleteContact moves a contact to the trash.
func (s *CRMService) DeleteContact(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.deleteRecord(ctx, p, contacts, id, m)
}

// RestoreContact takes a contact out of the trash.
func (s *CRMService) RestoreContact(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*crm.Contact, error) {
	return restoreRecord(ctx, s.DB, p, contacts, id, m, func(tx pgx.Tx) (*crm.Contact, error) {
		return getContact(ctx, tx, p, id, false)
	})
}

// PurgeContact deletes a contact from the trash for good; deals, activities
// and documents that referred to it stay, without the reference, except
// documents that belonged to the contact alone.
func (s *CRMService) PurgeContact(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.purgeRecord(ctx, p, contacts, id, m, "contact_id",
		`UPDATE deals SET contact_id = NULL WHERE tenant_id = $1 AND contact_id = $2`,
		`UPDATE activities SET contact_id = NULL WHERE tenant_id = $1 AND contact_id = $2`,
		`UPDATE documents SET contact_id = NULL WHERE tenant_id = $1 AND contact_id = $2`)
}

func contactFields(c *crm.Contact) map[string]any {
	return map[string]any{"salutation": c.Salutation, "first_name": c.FirstName, "last_name": c.LastName,
		"emails": c.Emails, "phones": c.Phones, "job_title": c.JobTitle, "company_id": c.CompanyID, "address": c.Address,
		"language": c.Language, "birthday": c.Birthday, "tags": c.Tags, "owner_id": c.OwnerID,
		"marketing_consent": c.MarketingConsent, "custom_fields": c.Custom}
}
