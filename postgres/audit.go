package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
)

// writeAudit appends one entry inside the caller's tenant transaction, so the
// entry exists if and only if the change it describes was committed.
func writeAudit(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, e audit.Entry) error {
	if e.ID == uuid.Nil {
		e.ID = newID()
	}
	var changes, details any
	if len(e.Changes) > 0 {
		changes = e.Changes
	}
	if len(e.Details) > 0 {
		details = e.Details
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO audit_log (tenant_id, id, actor_id, actor, action, entity_type, entity_id, changes, details, ip, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		tenantID, e.ID, e.ActorID, e.Actor, e.Action, e.EntityType, e.EntityID, changes, details, e.IP, e.RequestID)
	if err != nil {
		return fmt.Errorf("write audit entry %s: %w", e.Action, err)
	}
	return nil
}

// auditChanges writes an audit entry for a change of a record by p, with
// the fields that differ between before and after; nothing when none do.
func auditChanges(ctx context.Context, tx pgx.Tx, p *auth.Principal, m auth.LoginMeta, action, entity string, id uuid.UUID, before, after map[string]any) error {
	changes := audit.Diff(before, after)
	if len(changes) == 0 {
		return nil
	}
	e := actorEntry(p, m, action, entity, id)
	e.Changes = changes
	return writeAudit(ctx, tx, p.TenantID, e)
}

// auditCreate writes the audit entry of a record p created, with all of
// its fields as changes.
func auditCreate(ctx context.Context, tx pgx.Tx, p *auth.Principal, m auth.LoginMeta, action, entity string, id uuid.UUID, fields map[string]any) error {
	e := actorEntry(p, m, action, entity, id)
	e.Changes = audit.Diff(nil, fields)
	return writeAudit(ctx, tx, p.TenantID, e)
}

// actorEntry starts an audit entry for something p did.
func actorEntry(p *auth.Principal, m auth.LoginMeta, action, entityType string, entityID uuid.UUID) audit.Entry {
	e := audit.Entry{Action: action, EntityType: entityType, IP: m.IP, RequestID: m.RequestID}
	if entityID != uuid.Nil {
		id := entityID
		e.EntityID = &id
	}
	if p != nil {
		if p.UserID != uuid.Nil {
			id := p.UserID
			e.ActorID = &id
		}
		e.Actor = p.Email
	}
	return e
}

// AuditService reads the audit log.
type AuditService struct {
	DB *DB
}

// List returns entries of p's tenant, newest first, matching f.
func (s *AuditService) List(ctx context.Context, p *auth.Principal, f audit.Filter) ([]audit.Entry, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var out []audit.Entry
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT id, at, actor_id, actor, action, entity_type, entity_id, changes, details, ip, request_id
			FROM audit_log
			WHERE tenant_id = $1
			  AND ($2 = '' OR action = $2)
			  AND ($3 = '' OR entity_type = $3)
			  AND ($4::uuid IS NULL OR entity_id = $4)
			  AND ($5::uuid IS NULL OR actor_id = $5)
			  AND ($6::timestamptz IS NULL OR (at, id) < ($6, coalesce($7::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')))
			  AND ($9::timestamptz IS NULL OR at >= $9)
			  AND ($10::timestamptz IS NULL OR at < $10)
			ORDER BY at DESC, id DESC
			LIMIT $8`,
			p.TenantID, f.Action, f.EntityType, f.EntityID, f.ActorID, f.Before, f.BeforeID, limit, f.Since, f.Until)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Entry, error) {
			var e audit.Entry
			var entityType string
			err := r.Scan(&e.ID, &e.At, &e.ActorID, &e.Actor, &e.Action, &entityType, &e.EntityID, &e.Changes, &e.Details, &e.IP, &e.RequestID)
			e.EntityType = entityType
			e.At = e.At.UTC()
			return e, err
		})
		return err
	})
	return out, err
}
