package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

var _ crm.CustomFieldService = (*CRMService)(nil)

// customTables are the tables holding the values of each entity's custom fields.
var customTables = map[string]string{
	crm.EntityCompany: "companies",
	crm.EntityContact: "contacts",
	crm.EntityDeal:    "deals",
}

var errCustomFieldNotFound = &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: "Feld nicht gefunden."}

const customFieldColumns = `id, entity, key, label, type, required, options, position, created_at, updated_at, version`

// CustomFields lists the definitions of one entity ("" for all) in form order.
func (s *CRMService) CustomFields(ctx context.Context, p *auth.Principal, entity string) ([]*crm.CustomField, error) {
	if _, ok := customTables[entity]; !ok && entity != "" {
		return nil, rpcrm.FieldError("entity", "Erwartet company, contact oder deal.")
	}
	var out []*crm.CustomField
	err := s.DB.QueryTenant(ctx, p.TenantID, `SELECT `+customFieldColumns+` FROM custom_fields
			WHERE tenant_id = $1 AND ($2 = '' OR entity = $2) ORDER BY entity, position, key`, []any{p.TenantID, entity}, func(rows pgx.Rows) error {
		var err error
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*crm.CustomField, error) {
			f, err := scanCustomField(r)
			return &f, err
		})
		return err
	})
	if out == nil {
		out = []*crm.CustomField{}
	}
	return out, err
}

func getCustomField(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (*crm.CustomField, error) {
	sql := `SELECT ` + customFieldColumns + ` FROM custom_fields WHERE tenant_id = $1 AND id = $2`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	rows, err := tx.Query(ctx, sql, tenantID, id)
	if err != nil {
		return nil, err
	}
	f, err := pgx.CollectExactlyOneRow(rows, scanCustomField)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errCustomFieldNotFound
	}
	return &f, err
}

// CreateCustomField defines a new field; its key must be new for the entity.
func (s *CRMService) CreateCustomField(ctx context.Context, p *auth.Principal, in crm.CustomFieldInput, m auth.LoginMeta) (*crm.CustomField, error) {
	if _, err := scope(p, auth.PermSettingsManage); err != nil {
		return nil, err
	}
	f := &crm.CustomField{}
	if err := in.Apply(f, true); err != nil {
		return nil, err
	}
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.CustomField, error) {
		id := newID()
		if _, err := tx.Exec(ctx, `INSERT INTO custom_fields (tenant_id, id, entity, key, label, type, required, options, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			p.TenantID, id, f.Entity, f.Key, f.Label, f.Type, f.Required, f.Options, f.Position); err != nil {
			return nil, mapUnique(err, "custom_fields_tenant_id_entity_key_key", "key")
		}
		out, err := getCustomField(ctx, tx, p.TenantID, id, false)
		if err == nil {
			err = auditCreate(ctx, tx, p, m, "custom_field.create", "custom_field", id, customFieldFields(out))
		}
		return out, err
	})
}

// UpdateCustomField changes label, required, options or position of a
// field; entity, key and type stay.
func (s *CRMService) UpdateCustomField(ctx context.Context, p *auth.Principal, id uuid.UUID, in crm.CustomFieldInput, m auth.LoginMeta) (*crm.CustomField, error) {
	if _, err := scope(p, auth.PermSettingsManage); err != nil {
		return nil, err
	}
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.CustomField, error) {
		before, err := getCustomField(ctx, tx, p.TenantID, id, true)
		if err != nil {
			return nil, err
		}
		if err := checkVersion(in.Version, before.Version); err != nil {
			return nil, err
		}
		f := *before
		f.Options = append([]string(nil), before.Options...)
		if err := in.Apply(&f, false); err != nil {
			return nil, err
		}
		changes := audit.Diff(customFieldFields(before), customFieldFields(&f))
		if len(changes) == 0 {
			return before, nil
		}
		if _, err := tx.Exec(ctx, `UPDATE custom_fields SET label = $3, required = $4, options = $5, position = $6,
			updated_at = now(), version = version + 1 WHERE tenant_id = $1 AND id = $2`,
			p.TenantID, id, f.Label, f.Required, f.Options, f.Position); err != nil {
			return nil, mapError(err)
		}
		out, err := getCustomField(ctx, tx, p.TenantID, id, false)
		if err != nil {
			return out, err
		}
		e := actorEntry(p, m, "custom_field.update", "custom_field", id)
		e.Changes = changes
		return out, writeAudit(ctx, tx, p.TenantID, e)
	})
}

// DeleteCustomField deletes a definition and removes its values from every
// record of its entity, trashed ones included: a field defined later under
// the same key must not inherit old values.
func (s *CRMService) DeleteCustomField(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	if _, err := scope(p, auth.PermSettingsManage); err != nil {
		return err
	}
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		before, err := getCustomField(ctx, tx, p.TenantID, id, true)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE `+customTables[before.Entity]+` SET custom = custom - $2::text,
			updated_at = now(), updated_by = $3, version = version + 1
			WHERE tenant_id = $1 AND custom ? $2::text`, p.TenantID, before.Key, actorID(p))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM custom_fields WHERE tenant_id = $1 AND id = $2`, p.TenantID, id); err != nil {
			return err
		}
		e := actorEntry(p, m, "custom_field.delete", "custom_field", id)
		e.Changes = audit.Diff(customFieldFields(before), nil)
		e.Details = map[string]any{"records": tag.RowsAffected()}
		return writeAudit(ctx, tx, p.TenantID, e)
	})
}

func customFieldFields(f *crm.CustomField) map[string]any {
	return map[string]any{"entity": f.Entity, "key": f.Key, "label": f.Label, "type": f.Type,
		"required": f.Required, "options": f.Options, "position": f.Position}
}
