package postgres

import (
	"context"
	"errors"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

var documents = recordTable{table: "documents", entity: "document",
	read: auth.PermDocumentsRead, write: auth.PermDocumentsWrite, del: auth.PermDocumentsDelete,
	notFound: "Dokument nicht gefunden."}

const documentColumns = `id, file_name, content_type, size, sha256, company_id, contact_id, deal_id, owner_id,
	created_at, updated_at, deleted_at, version`

func scanDocument(r pgx.Row, extra ...any) (*crm.Document, error) {
	d := &crm.Document{}
	dest := append([]any{&d.ID, &d.FileName, &d.ContentType, &d.Size, &d.SHA256, &d.CompanyID, &d.ContactID, &d.DealID,
		&d.OwnerID, &d.CreatedAt, &d.UpdatedAt, &d.DeletedAt, &d.Version}, extra...)
	err := r.Scan(dest...)
	return d, err
}

var documentSorts = map[string]struct{ expr, cast string }{
	"created_at": {"created_at", "::timestamptz"},
	"file_name":  {"lower(file_name)", "::text"},
	"size":       {"size", "::bigint"},
}

// ListDocuments lists the documents the principal may see, newest first
// unless a sort is given. The trash is listed with the delete scope, since
// only those who may delete see it.
func (s *CRMService) ListDocuments(ctx context.Context, p *auth.Principal, f crm.DocumentFilter) (*crm.Page[*crm.Document], error) {
	if f.Sort == "" {
		f.Sort, f.Desc = "created_at", true
	}
	if err := f.Normalize(crm.DocumentSortable, "created_at"); err != nil {
		return nil, err
	}
	if f.Tag != "" {
		return nil, rpcrm.FieldError("tag", "Dokumente haben keine Schlagwörter.")
	}
	perm := documents.read
	if f.Deleted {
		perm = documents.del
	}
	sort := documentSorts[f.Sort]
	q := &query{}
	q.add("SELECT " + documentColumns + ", (" + sort.expr + ")::text AS sort_key FROM documents WHERE tenant_id = " + q.arg(p.TenantID))
	if err := ownerFilter(q, p, perm, "owner_id"); err != nil {
		return nil, err
	}
	if f.Deleted {
		q.add(" AND deleted_at IS NOT NULL")
	} else {
		q.add(" AND deleted_at IS NULL")
	}
	if f.OwnerID != nil {
		q.add(" AND owner_id = " + q.arg(*f.OwnerID))
	}
	if f.UpdatedSince != nil {
		q.add(" AND updated_at >= " + q.arg(*f.UpdatedSince))
	}
	if f.Q != "" {
		q.add(" AND search_norm(file_name) LIKE '%' || search_norm(" + q.arg(f.Q) + ") || '%'")
	}
	for _, l := range []struct {
		col string
		id  *uuid.UUID
	}{{"company_id", f.CompanyID}, {"contact_id", f.ContactID}, {"deal_id", f.DealID}} {
		if l.id != nil {
			q.add(" AND " + l.col + " = " + q.arg(*l.id))
		}
	}
	keyset(q, f.ListParams, sort.expr, sort.cast)
	return readPage(ctx, s.DB, p.TenantID, q, f.ListParams, scanDocument, func(d *crm.Document) uuid.UUID { return d.ID })
}

// Document returns one live document.
func (s *CRMService) Document(ctx context.Context, p *auth.Principal, id uuid.UUID) (*crm.Document, error) {
	var d *crm.Document
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		var err error
		d, err = getDocument(ctx, tx, p, documents.read, id, false, false)
		return err
	})
	return d, err
}

// getDocument loads a document within p's scope for perm: a live one, or
// one in the trash when deleted; locked when forUpdate.
func getDocument(ctx context.Context, tx pgx.Tx, p *auth.Principal, perm auth.Permission, id uuid.UUID, deleted, forUpdate bool) (*crm.Document, error) {
	q := &query{}
	q.add("SELECT " + documentColumns + " FROM documents WHERE tenant_id = " + q.arg(p.TenantID) + " AND id = " + q.arg(id))
	if deleted {
		q.add(" AND deleted_at IS NOT NULL")
	} else {
		q.add(" AND deleted_at IS NULL")
	}
	if err := ownerFilter(q, p, perm, "owner_id"); err != nil {
		return nil, err
	}
	if forUpdate {
		q.add(" FOR UPDATE")
	}
	return readRecord(ctx, tx, q, scanDocument, documents.notFound)
}

// documentLinks are the records a document can be attached to, with the
// permission that makes them visible.
var documentLinks = []struct {
	field, table string
	read         auth.Permission
	notFound     string
	id           func(*crm.DocumentInput) *uuid.UUID
}{
	{"company_id", "companies", auth.PermCompaniesRead, "Firma nicht gefunden.", func(in *crm.DocumentInput) *uuid.UUID { return in.CompanyID }},
	{"contact_id", "contacts", auth.PermContactsRead, "Kontakt nicht gefunden.", func(in *crm.DocumentInput) *uuid.UUID { return in.ContactID }},
	{"deal_id", "deals", auth.PermDealsRead, "Deal nicht gefunden.", func(in *crm.DocumentInput) *uuid.UUID { return in.DealID }},
}

// checkLinks makes sure every record the input links to is live and
// visible to p; a record of another tenant or outside p's scope is as
// unknown as one that does not exist. The rows are locked against a purge
// until the document is in.
func checkLinks(ctx context.Context, tx pgx.Tx, p *auth.Principal, in *crm.DocumentInput) error {
	v := rpcrm.Validation{}
	for _, l := range documentLinks {
		id := l.id(in)
		if id == nil {
			continue
		}
		if _, ok := p.Grants.Allows(l.read); !ok {
			v.Add(l.field, l.notFound)
			continue
		}
		q := &query{}
		q.add("SELECT 1 FROM " + l.table + " WHERE tenant_id = " + q.arg(p.TenantID) + " AND id = " + q.arg(*id) +
			" AND deleted_at IS NULL")
		if err := ownerFilter(q, p, l.read, "owner_id"); err != nil {
			return err
		}
		q.add(" FOR KEY SHARE")
		var one int
		err := tx.QueryRow(ctx, q.String(), q.args...).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			v.Add(l.field, l.notFound)
		} else if err != nil {
			return err
		}
	}
	return v.Err()
}

// CreateDocument records an uploaded file, owned by the uploader.
func (s *CRMService) CreateDocument(ctx context.Context, p *auth.Principal, in crm.DocumentInput, m auth.LoginMeta) (*crm.Document, error) {
	if _, err := scope(p, documents.write); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var d *crm.Document
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		if err := checkLinks(ctx, tx, p, &in); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO documents (tenant_id, id, file_name, content_type, size, sha256,
			company_id, contact_id, deal_id, owner_id, created_by, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10)`,
			p.TenantID, in.ID, in.FileName, in.ContentType, in.Size, in.SHA256, in.CompanyID, in.ContactID, in.DealID, actorID(p))
		if err != nil {
			return mapError(err)
		}
		if d, err = getDocument(ctx, tx, p, documents.write, in.ID, false, false); err != nil {
			return err
		}
		e := documentEntry(p, m, "document.create", d)
		e.Changes = audit.Diff(nil, documentFields(d))
		return writeAudit(ctx, tx, p.TenantID, e)
	})
	return d, err
}

// DeleteDocument moves a document to the trash; its content stays.
func (s *CRMService) DeleteDocument(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		d, err := getDocument(ctx, tx, p, documents.del, id, false, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE documents SET deleted_at = now(), updated_at = now(), updated_by = $3,
			version = version + 1 WHERE tenant_id = $1 AND id = $2`, p.TenantID, id, actorID(p)); err != nil {
			return err
		}
		e := documentEntry(p, m, "document.delete", d)
		e.Changes = map[string]audit.Change{"deleted": {Before: false, After: true}}
		return writeAudit(ctx, tx, p.TenantID, e)
	})
}

// RestoreDocument takes a document out of the trash.
func (s *CRMService) RestoreDocument(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*crm.Document, error) {
	var d *crm.Document
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		before, err := getDocument(ctx, tx, p, documents.del, id, true, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE documents SET deleted_at = NULL, updated_at = now(), updated_by = $3,
			version = version + 1 WHERE tenant_id = $1 AND id = $2`, p.TenantID, id, actorID(p)); err != nil {
			return err
		}
		e := documentEntry(p, m, "document.restore", before)
		e.Changes = map[string]audit.Change{"deleted": {Before: true, After: false}}
		if err := writeAudit(ctx, tx, p.TenantID, e); err != nil {
			return err
		}
		d, err = getDocument(ctx, tx, p, documents.del, id, false, false)
		return err
	})
	return d, err
}

// PurgeDocument deletes a document from the trash for good, and its content
// after the commit.
func (s *CRMService) PurgeDocument(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		d, err := getDocument(ctx, tx, p, documents.del, id, true, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM documents WHERE tenant_id = $1 AND id = $2`, p.TenantID, id); err != nil {
			return mapError(err)
		}
		e := documentEntry(p, m, "document.purge", d)
		e.Changes = audit.Diff(documentFields(d), nil)
		return writeAudit(ctx, tx, p.TenantID, e)
	})
	if err == nil {
		s.removeContent(ctx, p.TenantID, []uuid.UUID{id})
	}
	return err
}

// purgeAttachedDocuments deletes the documents attached only to the record
// that column refers to (which is being purged), auditing each.
func purgeAttachedDocuments(ctx context.Context, tx pgx.Tx, p *auth.Principal, m auth.LoginMeta, column string, id uuid.UUID) ([]uuid.UUID, error) {
	alone := map[string]string{
		"company_id": "contact_id IS NULL AND deal_id IS NULL",
		"contact_id": "company_id IS NULL AND deal_id IS NULL",
		"deal_id":    "company_id IS NULL AND contact_id IS NULL",
	}[column]
	rows, err := tx.Query(ctx, `DELETE FROM documents WHERE tenant_id = $1 AND `+column+` = $2 AND `+alone+
		` RETURNING `+documentColumns, p.TenantID, id)
	if err != nil {
		return nil, err
	}
	var gone []*crm.Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		gone = append(gone, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, 0, len(gone))
	for _, d := range gone {
		e := documentEntry(p, m, "document.purge", d)
		e.Changes = audit.Diff(documentFields(d), nil)
		if err := writeAudit(ctx, tx, p.TenantID, e); err != nil {
			return nil, err
		}
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// removeContent removes purged documents' files after their records are
// gone for good. A failure leaves an orphaned file (logged), never a record
// whose content is missing.
func (s *CRMService) removeContent(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) {
	if s.Files == nil {
		return
	}
	for _, id := range ids {
		if err := s.Files.Remove(tenantID, id); err != nil {
			slog.ErrorContext(ctx, "remove content of purged document", "err", err, "document_id", id)
		}
	}
}

// documentEntry starts an audit entry that names the file, so that the log
// says which file it was even after the record is purged.
func documentEntry(p *auth.Principal, m auth.LoginMeta, action string, d *crm.Document) audit.Entry {
	e := actorEntry(p, m, action, documents.entity, d.ID)
	e.Details = map[string]any{"file_name": d.FileName, "size": d.Size, "sha256": d.SHA256}
	return e
}

func documentFields(d *crm.Document) map[string]any {
	return map[string]any{"file_name": d.FileName, "content_type": d.ContentType, "size": d.Size, "sha256": d.SHA256,
		"company_id": d.CompanyID, "contact_id": d.ContactID, "deal_id": d.DealID, "owner_id": d.OwnerID}
}
