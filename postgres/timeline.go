package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// timelineOwners are the record types that have a timeline. The records are
// checked with SQL against their tables, so the timeline needs nothing of
// the contact and deal services.
var timelineOwners = map[string]struct {
	table, link, notFound string
	read                  auth.Permission
}{
	crm.EntityCompany: {"companies", "company_id", "Firma nicht gefunden.", auth.PermCompaniesRead},
	crm.EntityContact: {"contacts", "contact_id", "Kontakt nicht gefunden.", auth.PermContactsRead},
	crm.EntityDeal:    {"deals", "deal_id", "Verkaufschance nicht gefunden.", auth.PermDealsRead},
}

// Timeline merges, newest first, the activities linked to a record, the
// documents attached to it and the audit entries about it. Activities and
// documents appear as far as p may read them; the record's own changes are
// part of the record. Paging is a keyset on (at, id) over the UNION ALL;
// each branch is limited on its own first, so that it can use its index.
func (s *CRMService) Timeline(ctx context.Context, p *auth.Principal, entity string, id uuid.UUID, lp crm.ListParams) (*crm.Page[*crm.TimelineItem], error) {
	owner, ok := timelineOwners[entity]
	if !ok {
		return nil, fmt.Errorf("timeline of unknown entity %q", entity)
	}
	if _, err := scope(p, owner.read); err != nil {
		return nil, err
	}
	if err := lp.Normalize([]string{"at"}, "at"); err != nil {
		return nil, err
	}
	var items []keyed[*crm.TimelineItem]
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		visible, err := activityLinkVisible(ctx, tx, p, owner.table, owner.read, id)
		if err != nil {
			return err
		}
		if !visible {
			return &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: owner.notFound}
		}
		q := timelineQuery(p, entity, owner.link, id, lp)
		rows, err := tx.Query(ctx, q.String(), q.args...)
		if err != nil {
			return err
		}
		items, err = pgx.CollectRows(rows, scanTimelineItem)
		return err
	})
	if err != nil {
		return nil, err
	}
	return page(items, lp, func(it *crm.TimelineItem) uuid.UUID { return it.ID }), nil
}

func timelineQuery(p *auth.Principal, entity, link string, id uuid.UUID, lp crm.ListParams) *query {
	q := &query{}
	tenant, rec := q.arg(p.TenantID), q.arg(id)
	before := func(at, idCol string) string { return "" }
	if lp.Cursor != "" {
		c, _ := crm.DecodeCursor(lp.Cursor) // validated by Normalize
		k, i := q.arg(c.Key), q.arg(c.ID)
		before = func(at, idCol string) string {
			return " AND (" + at + ", " + idCol + ") < (" + k + "::timestamptz, " + i + ")"
		}
	}
	limit := fmt.Sprintf(" LIMIT %d", lp.Limit+1)

	q.add(`SELECT t.type, t.at, t.at::text AS at_key, t.id, kind, subject, body, body_format, due_at, done_at, assignee_id, owner_id,
		file_name, size, created_by, action, actor, actor_id, changes FROM (`)
	q.add(`(SELECT 'activity' AS type, a.created_at AS at, a.id, a.kind, a.subject, a.body, a.body_format, a.due_at,
		a.done_at, a.assignee_id, a.owner_id, NULL::text AS file_name, NULL::bigint AS size, NULL::uuid AS created_by,
		NULL::text AS action, NULL::text AS actor, NULL::uuid AS actor_id, NULL::jsonb AS changes
		FROM activities a WHERE a.tenant_id = ` + tenant + ` AND a.` + link + ` = ` + rec + ` AND a.deleted_at IS NULL`)
	if err := activityScope(q, p, activityRecords.read); err != nil {
		q.add(" AND false") // no activities:read: no activities
	}
	q.add(before("a.created_at", "a.id") + " ORDER BY a.created_at DESC, a.id DESC" + limit + ")")

	q.add(` UNION ALL (SELECT 'document', d.created_at, d.id, NULL::text, NULL::text, NULL::text, NULL::text,
		NULL::timestamptz, NULL::timestamptz, NULL::uuid, d.owner_id, d.file_name, d.size, d.created_by,
		NULL::text, NULL::text, NULL::uuid, NULL::jsonb
		FROM documents d WHERE d.tenant_id = ` + tenant + ` AND d.` + link + ` = ` + rec + ` AND d.deleted_at IS NULL`)
	if err := ownerFilter(q, p, auth.PermDocumentsRead, "d.owner_id"); err != nil {
		q.add(" AND false")
	}
	q.add(before("d.created_at", "d.id") + " ORDER BY d.created_at DESC, d.id DESC" + limit + ")")

	q.add(` UNION ALL (SELECT 'change', l.at, l.id, NULL::text, NULL::text, NULL::text, NULL::text,
		NULL::timestamptz, NULL::timestamptz, NULL::uuid, NULL::uuid, NULL::text, NULL::bigint, NULL::uuid,
		l.action, l.actor, l.actor_id, l.changes
		FROM audit_log l WHERE l.tenant_id = ` + tenant + ` AND l.entity_type = ` + q.arg(entity) + ` AND l.entity_id = ` + rec)
	q.add(before("l.at", "l.id") + " ORDER BY l.at DESC, l.id DESC" + limit + ")")

	q.add(") t ORDER BY t.at DESC, t.id DESC" + limit)
	return q
}

func scanTimelineItem(r pgx.CollectableRow) (keyed[*crm.TimelineItem], error) {
	it := &crm.TimelineItem{}
	var key, kind, subject, body, format, fileName, action, actor *string
	err := r.Scan(&it.Type, &it.At, &key, &it.ID, &kind, &subject, &body, &format, &it.DueAt, &it.DoneAt,
		&it.AssigneeID, &it.OwnerID, &fileName, &it.Size, &it.CreatedBy, &action, &actor, &it.ActorID, &it.Changes)
	if err != nil {
		return keyed[*crm.TimelineItem]{}, err
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	it.Kind, it.Subject, it.FileName, it.Action, it.Actor = deref(kind), deref(subject), deref(fileName), deref(action), deref(actor)
	if it.Type == crm.TimelineActivity {
		it.BodyHTML = crm.RenderBody(deref(body), deref(format))
	}
	it.At = it.At.UTC()
	return keyed[*crm.TimelineItem]{item: it, key: key}, nil
}
