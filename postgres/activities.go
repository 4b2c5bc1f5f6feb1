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

// activityRecords are the activities. Trash, restore and purge go by the
// owner alone (delete scope "own"); reading and changing also count the
// assignee and, for reading, the owners of the linked records (activityScope).
var activityRecords = recordTable{table: "activities", entity: "activity",
	read: auth.PermActivitiesRead, write: auth.PermActivitiesWrite, del: auth.PermActivitiesDelete,
	notFound: "Aktivität nicht gefunden."}

const activityColumns = `a.id, a.kind, a.subject, a.body, a.body_format, a.due_at, a.done_at, a.assignee_id,
	a.company_id, a.contact_id, a.deal_id, a.owner_id, a.created_at, a.updated_at, a.deleted_at, a.version,
	coalesce(a.done_at IS NULL AND a.due_at < now(), false)`

func scanActivity(r pgx.Row, extra ...any) (*crm.Activity, error) {
	a := &crm.Activity{}
	dest := append([]any{&a.ID, &a.Kind, &a.Subject, &a.Body, &a.BodyFormat, &a.DueAt, &a.DoneAt, &a.AssigneeID,
		&a.CompanyID, &a.ContactID, &a.DealID, &a.OwnerID, &a.CreatedAt, &a.UpdatedAt, &a.DeletedAt, &a.Version,
		&a.Overdue}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	a.Render()
	return a, nil
}

// activityScope restricts a query on "activities a" to what the principal
// may do with perm when their scope is "own": read what they own, are
// assigned to or is linked to a company, contact or deal they own; change
// what they own or are assigned to; delete what they own.
func activityScope(q *query, p *auth.Principal, perm auth.Permission) error {
	s, err := scope(p, perm)
	if err != nil {
		return err
	}
	if s != auth.ScopeOwn {
		return nil
	}
	u := q.arg(p.UserID)
	switch perm {
	case activityRecords.read:
		q.add(" AND (a.owner_id = " + u + " OR a.assignee_id = " + u +
			" OR EXISTS (SELECT 1 FROM companies c WHERE c.tenant_id = a.tenant_id AND c.id = a.company_id AND c.owner_id = " + u + ")" +
			" OR EXISTS (SELECT 1 FROM contacts k WHERE k.tenant_id = a.tenant_id AND k.id = a.contact_id AND k.owner_id = " + u + ")" +
			" OR EXISTS (SELECT 1 FROM deals d WHERE d.tenant_id = a.tenant_id AND d.id = a.deal_id AND d.owner_id = " + u + "))")
	case activityRecords.write:
		q.add(" AND (a.owner_id = " + u + " OR a.assignee_id = " + u + ")")
	default:
		q.add(" AND a.owner_id = " + u)
	}
	return nil
}

var activitySorts = map[string]struct{ expr, cast string }{
	"created_at": {"a.created_at", "::timestamptz"},
	"updated_at": {"a.updated_at", "::timestamptz"},
	"due_at":     {"coalesce(a.due_at, 'infinity'::timestamptz)", "::timestamptz"},
	"subject":    {"lower(a.subject)", "::text"},
	"done_at":    {"coalesce(a.done_at, '-infinity'::timestamptz)", "::timestamptz"},
}

// ListActivities lists the activities the principal may see; the trash
// (f.Deleted) shows those they may restore.
func (s *CRMService) ListActivities(ctx context.Context, p *auth.Principal, f crm.ActivityFilter) (*crm.Page[*crm.Activity], error) {
	if err := f.Normalize(); err != nil {
		return nil, err
	}
	sort := activitySorts[f.Sort]
	q := &query{}
	q.add("SELECT " + activityColumns + ", (" + sort.expr + ")::text FROM activities a WHERE a.tenant_id = " + q.arg(p.TenantID))
	perm := activityRecords.read
	if f.Deleted {
		perm = activityRecords.del
	}
	if err := activityScope(q, p, perm); err != nil {
		return nil, err
	}
	if f.Deleted {
		q.add(" AND a.deleted_at IS NOT NULL")
	} else {
		q.add(" AND a.deleted_at IS NULL")
	}
	if f.OwnerID != nil {
		q.add(" AND a.owner_id = " + q.arg(*f.OwnerID))
	}
	if f.UpdatedSince != nil {
		q.add(" AND a.updated_at >= " + q.arg(*f.UpdatedSince))
	}
	if f.Q != "" {
		q.add(" AND search_norm(a.subject || ' ' || a.body) LIKE '%' || search_norm(" + q.arg(f.Q) + ") || '%'")
	}
	if f.Kind != "" {
		q.add(" AND a.kind = " + q.arg(f.Kind))
	}
	for _, ref := range []struct {
		col string
		id  *uuid.UUID
	}{{"a.assignee_id", f.AssigneeID}, {"a.company_id", f.CompanyID}, {"a.contact_id", f.ContactID}, {"a.deal_id", f.DealID}} {
		if ref.id != nil {
			q.add(" AND " + ref.col + " = " + q.arg(*ref.id))
		}
	}
	if f.Open != nil {
		if *f.Open {
			q.add(" AND a.done_at IS NULL")
		} else {
			q.add(" AND a.done_at IS NOT NULL")
		}
	}
	if f.DueBefore != nil {
		q.add(" AND a.due_at < " + q.arg(*f.DueBefore))
	}
	if f.DueAfter != nil {
		q.add(" AND a.due_at >= " + q.arg(*f.DueAfter))
	}
	if f.Overdue != nil {
		// The same test as the Overdue column of activityColumns.
		if *f.Overdue {
			q.add(" AND a.done_at IS NULL AND a.due_at < now()")
		} else {
			q.add(" AND NOT coalesce(a.done_at IS NULL AND a.due_at < now(), false)")
		}
	}
	keyset(q, f.ListParams, sort.expr, sort.cast)
	return s.activityPage(ctx, p, q, f.ListParams)
}

// activityPage runs a list query whose last column is the sort key text.
func (s *CRMService) activityPage(ctx context.Context, p *auth.Principal, q *query, lp crm.ListParams) (*crm.Page[*crm.Activity], error) {
	return readPage(ctx, s.DB, p.TenantID, q, lp, scanActivity, func(a *crm.Activity) uuid.UUID { return a.ID })
}

// myTasksQuery selects p's open tasks in the order of the partial index
// activities_open_tasks_idx (tenant_id, assignee_id, due_at, id): due_at
// ascending puts the overdue ones first, NULLS LAST the undated ones last.
// The keyset condition spells out the NULL cases instead of coalescing the
// key, which would keep the index from delivering the order.
func myTasksQuery(p *auth.Principal, lp crm.ListParams) *query {
	q := &query{}
	q.add("SELECT " + activityColumns + ", a.due_at::text FROM activities a WHERE a.tenant_id = " + q.arg(p.TenantID) +
		" AND a.assignee_id = " + q.arg(p.UserID) + " AND a.done_at IS NULL AND a.deleted_at IS NULL AND a.kind = 'task'")
	if lp.Cursor != "" {
		c, _ := crm.DecodeCursor(lp.Cursor) // validated by Normalize
		if c.Key == "" {
			q.add(" AND a.due_at IS NULL AND a.id > " + q.arg(c.ID))
		} else {
			k := q.arg(c.Key)
			q.add(" AND (a.due_at > " + k + "::timestamptz OR (a.due_at = " + k + "::timestamptz AND a.id > " + q.arg(c.ID) +
				") OR a.due_at IS NULL)")
		}
	}
	q.add(fmt.Sprintf(" ORDER BY a.due_at ASC NULLS LAST, a.id ASC LIMIT %d", lp.Limit+1))
	return q
}

// MyOpenTasks lists the open tasks assigned to the caller, overdue first.
func (s *CRMService) MyOpenTasks(ctx context.Context, p *auth.Principal, lp crm.ListParams) (*crm.Page[*crm.Activity], error) {
	if _, err := scope(p, activityRecords.read); err != nil {
		return nil, err
	}
	if err := lp.Normalize([]string{"due_at"}, "due_at"); err != nil {
		return nil, err
	}
	if lp.Desc {
		return nil, rpcrm.FieldError("sort", "Meine Aufgaben sind immer nach Fälligkeit sortiert.")
	}
	return s.activityPage(ctx, p, myTasksQuery(p, lp), lp)
}

// Activity returns one live activity.
func (s *CRMService) Activity(ctx context.Context, p *auth.Principal, id uuid.UUID) (*crm.Activity, error) {
	q, err := activityQuery(p, id, false)
	if err != nil {
		return nil, err
	}
	return readTenantRecord(ctx, s.DB, p.TenantID, q, scanActivity, activityRecords.notFound)
}

// getActivity loads a live activity visible to p (read scope), or for
// update (write scope, locked).
func getActivity(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID, forUpdate bool) (*crm.Activity, error) {
	q, err := activityQuery(p, id, forUpdate)
	if err != nil {
		return nil, err
	}
	return readRecord(ctx, tx, q, scanActivity, activityRecords.notFound)
}

// activityQuery is the query of a live activity visible to p (read scope),
// or for update (write scope, locked).
func activityQuery(p *auth.Principal, id uuid.UUID, forUpdate bool) (*query, error) {
	perm := activityRecords.read
	if forUpdate {
		perm = activityRecords.write
	}
	q := &query{}
	q.add("SELECT " + activityColumns + " FROM activities a WHERE a.tenant_id = " + q.arg(p.TenantID) +
		" AND a.id = " + q.arg(id) + " AND a.deleted_at IS NULL")
	if err := activityScope(q, p, perm); err != nil {
		return nil, err
	}
	if forUpdate {
		q.add(" FOR UPDATE OF a")
	}
	return q, nil
}

// loadActivity reads an activity after a change the caller was allowed to
// make; the scope is not applied, since a change (a new assignee) may take
// the activity out of the caller's sight.
func loadActivity(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) (*crm.Activity, error) {
	return scanActivity(tx.QueryRow(ctx, "SELECT "+activityColumns+" FROM activities a WHERE a.tenant_id = $1 AND a.id = $2",
		tenantID, id))
}

// CreateActivity creates an activity owned by the caller; a task without an
// assignee is assigned to the caller.
func (s *CRMService) CreateActivity(ctx context.Context, p *auth.Principal, in crm.ActivityInput, m auth.LoginMeta) (*crm.Activity, error) {
	a := &crm.Activity{OwnerID: actorID(p)}
	id := func(r *crm.Activity) uuid.UUID { return r.ID }
	return createRecord(ctx, s.DB, p, m, activityRecords, id, activityFields, func(tx pgx.Tx) (*crm.Activity, error) {
		if err := applyActivity(ctx, tx, p, &in, a, &crm.Activity{}); err != nil {
			return nil, err
		}
		a.ID = newID()
		_, err := tx.Exec(ctx, `INSERT INTO activities (tenant_id, id, kind, subject, body, body_format, due_at, done_at,
			assignee_id, company_id, contact_id, deal_id, owner_id, created_by, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
			p.TenantID, a.ID, a.Kind, a.Subject, a.Body, a.BodyFormat, a.DueAt, a.DoneAt,
			a.AssigneeID, a.CompanyID, a.ContactID, a.DealID, a.OwnerID, actorID(p))
		if err != nil {
			return nil, mapError(err)
		}
		return loadActivity(ctx, tx, p.TenantID, a.ID)
	})
}

// applyActivity validates the input onto a and checks the references that
// changed against before: the assignee must be an active user of the
// tenant, linked records must be live and visible to p.
func applyActivity(ctx context.Context, tx pgx.Tx, p *auth.Principal, in *crm.ActivityInput, a, before *crm.Activity) error {
	verr := in.Apply(a)
	if before.ID == uuid.Nil && a.Kind == crm.KindTask && !in.AssigneeID.Set {
		a.AssigneeID = actorID(p)
	}
	fields := rpcrm.Validation{}
	if activityRefChanged(a.AssigneeID, before.AssigneeID) {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 AND disabled_at IS NULL)`,
			p.TenantID, *a.AssigneeID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			fields.Add("assignee_id", "Unbekannter oder deaktivierter Benutzer.")
		}
	}
	for _, ref := range []struct {
		field, table string
		perm         auth.Permission
		id, was      *uuid.UUID
		msg          string
	}{
		{"company_id", "companies", auth.PermCompaniesRead, a.CompanyID, before.CompanyID, "Firma nicht gefunden."},
		{"contact_id", "contacts", auth.PermContactsRead, a.ContactID, before.ContactID, "Kontakt nicht gefunden."},
		{"deal_id", "deals", auth.PermDealsRead, a.DealID, before.DealID, "Verkaufschance nicht gefunden."},
	} {
		if !activityRefChanged(ref.id, ref.was) {
			continue
		}
		ok, err := activityLinkVisible(ctx, tx, p, ref.table, ref.perm, *ref.id)
		if err != nil {
			return err
		}
		if !ok {
			fields.Add(ref.field, ref.msg)
		}
	}
	return mergeValidation(verr, fields.Err())
}

// activityRefChanged reports whether a reference is set to a new record.
func activityRefChanged(now, was *uuid.UUID) bool {
	return now != nil && (was == nil || *was != *now)
}

// activityLinkVisible reports whether a live record of table exists for p under
// the scope of perm; without perm nothing is visible.
func activityLinkVisible(ctx context.Context, tx pgx.Tx, p *auth.Principal, table string, perm auth.Permission, id uuid.UUID) (bool, error) {
	q := &query{}
	q.add("SELECT EXISTS (SELECT 1 FROM " + table + " WHERE tenant_id = " + q.arg(p.TenantID) + " AND id = " + q.arg(id) +
		" AND deleted_at IS NULL")
	if err := ownerFilter(q, p, perm, "owner_id"); err != nil {
		if rpcrm.ErrorCode(err) == rpcrm.EFORBIDDEN {
			return false, nil
		}
		return false, err
	}
	q.add(")")
	var ok bool
	err := tx.QueryRow(ctx, q.String(), q.args...).Scan(&ok)
	return ok, err
}

// UpdateActivity changes an activity; a stale version changes nothing.
func (s *CRMService) UpdateActivity(ctx context.Context, p *auth.Principal, id uuid.UUID, in crm.ActivityInput, m auth.LoginMeta) (*crm.Activity, error) {
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.Activity, error) {
		lock := func() (*crm.Activity, error) { return getActivity(ctx, tx, p, id, true) }
		return updateRecord(ctx, tx, p, m, activityRecords, id, in.Version, activityFields, lock, func(before *crm.Activity) (*crm.Activity, error) {
			a := *before
			if err := applyActivity(ctx, tx, p, &in, &a, before); err != nil {
				return nil, err
			}
			_, err := tx.Exec(ctx, `UPDATE activities SET kind = $3, subject = $4, body = $5, body_format = $6, due_at = $7,
				done_at = $8, assignee_id = $9, company_id = $10, contact_id = $11, deal_id = $12,
				updated_by = $13, updated_at = now(), version = version + 1
				WHERE tenant_id = $1 AND id = $2`,
				p.TenantID, id, a.Kind, a.Subject, a.Body, a.BodyFormat, a.DueAt, a.DoneAt,
				a.AssigneeID, a.CompanyID, a.ContactID, a.DealID, actorID(p))
			if err != nil {
				return nil, mapError(err)
			}
			return loadActivity(ctx, tx, p.TenantID, id)
		})
	})
}

// DeleteActivity moves an activity to the trash.
func (s *CRMService) DeleteActivity(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.deleteRecord(ctx, p, activityRecords, id, m)
}

// RestoreActivity takes an activity out of the trash.
func (s *CRMService) RestoreActivity(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*crm.Activity, error) {
	return restoreRecord(ctx, s.DB, p, activityRecords, id, m, func(tx pgx.Tx) (*crm.Activity, error) {
		return loadActivity(ctx, tx, p.TenantID, id)
	})
}

// PurgeActivity deletes an activity from the trash for good.
func (s *CRMService) PurgeActivity(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	return s.purgeRecord(ctx, p, activityRecords, id, m, "")
}

func activityFields(a *crm.Activity) map[string]any {
	return map[string]any{"kind": a.Kind, "subject": a.Subject, "body": a.Body, "body_format": a.BodyFormat,
		"due_at": a.DueAt, "done_at": a.DoneAt, "assignee_id": a.AssigneeID, "company_id": a.CompanyID,
		"contact_id": a.ContactID, "deal_id": a.DealID}
}
