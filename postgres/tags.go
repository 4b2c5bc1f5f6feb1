package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

var _ crm.TagService = (*CRMService)(nil)

// taggedTables are the tables whose records carry tags by name.
var taggedTables = []string{"companies", "contacts", "deals"}

var errTagNotFound = &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: "Schlagwort nicht gefunden."}

// tagSelect reads tags with their usage: the live records of every tagged
// table carrying the tag's name (the GIN indexes on tags answer @>).
// tagSelect reads tags without their usage; Tags adds it in one pass.
const tagSelect = `SELECT t.id, t.name, t.color, t.created_at, t.updated_at, t.version, 0::bigint FROM tags t`

// oneTagSelect reads one tag with its usage (three counts for its name).
const oneTagSelect = `SELECT t.id, t.name, t.color, t.created_at, t.updated_at, t.version,
	(SELECT count(*) FROM companies r WHERE r.tenant_id = t.tenant_id AND r.tags @> ARRAY[t.name] AND r.deleted_at IS NULL)
	+ (SELECT count(*) FROM contacts r WHERE r.tenant_id = t.tenant_id AND r.tags @> ARRAY[t.name] AND r.deleted_at IS NULL)
	+ (SELECT count(*) FROM deals r WHERE r.tenant_id = t.tenant_id AND r.tags @> ARRAY[t.name] AND r.deleted_at IS NULL)
	FROM tags t`

func scanTag(r pgx.Row) (*crm.Tag, error) {
	t := &crm.Tag{}
	err := r.Scan(&t.ID, &t.Name, &t.Color, &t.CreatedAt, &t.UpdatedAt, &t.Version, &t.Usage)
	return t, err
}

// tagUsage counts the live records per tag name: one scan of each record
// table, whatever the number of tags.
const tagUsage = `SELECT tag, count(*) FROM (
	SELECT unnest(tags) AS tag FROM companies WHERE tenant_id = $1 AND deleted_at IS NULL AND tags <> '{}'
	UNION ALL SELECT unnest(tags) FROM contacts WHERE tenant_id = $1 AND deleted_at IS NULL AND tags <> '{}'
	UNION ALL SELECT unnest(tags) FROM deals WHERE tenant_id = $1 AND deleted_at IS NULL AND tags <> '{}'
) u GROUP BY tag`

// queueTags adds the query of the tenant's tags by name to b; out receives
// them.
func queueTags(b *pgx.Batch, tenantID uuid.UUID, out *[]*crm.Tag) {
	b.Queue(tagSelect+` WHERE t.tenant_id = $1 ORDER BY lower(t.name), t.id`, tenantID).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*crm.Tag, error) { return scanTag(r) })
		return err
	})
}

// Tags lists the tenant's tags by name, with their usage.
func (s *CRMService) Tags(ctx context.Context, p *auth.Principal) ([]*crm.Tag, error) {
	var out []*crm.Tag
	counts := map[string]int64{}
	err := s.DB.ReadTenant(ctx, p.TenantID, func(b *pgx.Batch) {
		queueTags(b, p.TenantID, &out)
		b.Queue(tagUsage, p.TenantID).Query(func(rows pgx.Rows) error {
			var name string
			var n int64
			_, err := pgx.ForEachRow(rows, []any{&name, &n}, func() error { counts[name] = n; return nil })
			return err
		})
	})
	for _, t := range out {
		t.Usage = int(counts[t.Name])
	}
	if out == nil {
		out = []*crm.Tag{}
	}
	return out, err
}

func getTag(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (*crm.Tag, error) {
	sql := oneTagSelect + ` WHERE t.tenant_id = $1 AND t.id = $2`
	if forUpdate {
		sql += ` FOR UPDATE OF t`
	}
	t, err := scanTag(tx.QueryRow(ctx, sql, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errTagNotFound
	}
	return t, err
}

// CreateTag creates a tag; its name must be new in the tenant, ignoring case.
func (s *CRMService) CreateTag(ctx context.Context, p *auth.Principal, in crm.TagInput, m auth.LoginMeta) (*crm.Tag, error) {
	if _, err := scope(p, auth.PermTagsManage); err != nil {
		return nil, err
	}
	t := &crm.Tag{}
	if err := in.Apply(t); err != nil {
		return nil, err
	}
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.Tag, error) {
		id := newID()
		if _, err := tx.Exec(ctx, `INSERT INTO tags (tenant_id, id, name, color) VALUES ($1, $2, $3, $4)`,
			p.TenantID, id, t.Name, t.Color); err != nil {
			return nil, mapUnique(err, "tags_name_key", "name")
		}
		out, err := getTag(ctx, tx, p.TenantID, id, false)
		if err == nil {
			err = auditCreate(ctx, tx, p, m, "tag.create", "tag", id, tagFields(out))
		}
		return out, err
	})
}

// UpdateTag changes a tag. A new name is written into every record that
// carries the old one, in the same transaction.
func (s *CRMService) UpdateTag(ctx context.Context, p *auth.Principal, id uuid.UUID, in crm.TagInput, m auth.LoginMeta) (*crm.Tag, error) {
	if _, err := scope(p, auth.PermTagsManage); err != nil {
		return nil, err
	}
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.Tag, error) {
		before, err := getTag(ctx, tx, p.TenantID, id, true)
		if err != nil {
			return nil, err
		}
		if err := checkVersion(in.Version, before.Version); err != nil {
			return nil, err
		}
		t := *before
		if err := in.Apply(&t); err != nil {
			return nil, err
		}
		if t.Name == before.Name && t.Color == before.Color {
			return before, nil
		}
		if _, err := tx.Exec(ctx, `UPDATE tags SET name = $3, color = $4, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, p.TenantID, id, t.Name, t.Color); err != nil {
			return nil, mapUnique(err, "tags_name_key", "name")
		}
		var records int64
		if t.Name != before.Name {
			// Records that change get a new version, so that a client holding
			// the old tag name cannot write it back unnoticed.
			for _, table := range taggedTables {
				tag, err := tx.Exec(ctx, `UPDATE `+table+` SET tags = array_replace(tags, $2, $3),
					updated_at = now(), updated_by = $4, version = version + 1
					WHERE tenant_id = $1 AND tags @> ARRAY[$2::text]`, p.TenantID, before.Name, t.Name, actorID(p))
				if err != nil {
					return nil, err
				}
				records += tag.RowsAffected()
			}
		}
		out, err := getTag(ctx, tx, p.TenantID, id, false)
		if err != nil {
			return out, err
		}
		e := actorEntry(p, m, "tag.update", "tag", id)
		e.Changes = audit.Diff(tagFields(before), tagFields(out))
		if records > 0 {
			e.Details = map[string]any{"records": records}
		}
		return out, writeAudit(ctx, tx, p.TenantID, e)
	})
}

// DeleteTag deletes a tag and removes it from every record.
func (s *CRMService) DeleteTag(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	if _, err := scope(p, auth.PermTagsManage); err != nil {
		return err
	}
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		before, err := getTag(ctx, tx, p.TenantID, id, true)
		if err != nil {
			return err
		}
		var records int64
		for _, table := range taggedTables {
			tag, err := tx.Exec(ctx, `UPDATE `+table+` SET tags = array_remove(tags, $2),
				updated_at = now(), updated_by = $3, version = version + 1
				WHERE tenant_id = $1 AND tags @> ARRAY[$2::text]`, p.TenantID, before.Name, actorID(p))
			if err != nil {
				return err
			}
			records += tag.RowsAffected()
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tags WHERE tenant_id = $1 AND id = $2`, p.TenantID, id); err != nil {
			return err
		}
		e := actorEntry(p, m, "tag.delete", "tag", id)
		e.Changes = audit.Diff(tagFields(before), nil)
		e.Details = map[string]any{"records": records}
		return writeAudit(ctx, tx, p.TenantID, e)
	})
}

func tagFields(t *crm.Tag) map[string]any {
	return map[string]any{"name": t.Name, "color": t.Color}
}

// mapUnique maps a violation of one unique constraint to a conflict on the
// field the user can fix; other errors go through mapError.
func mapUnique(err error, constraint, field string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint {
		return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Dieser Wert ist bereits vergeben.",
			Fields: map[string]string{field: "Dieser Wert ist bereits vergeben."}}
	}
	return mapError(err)
}
