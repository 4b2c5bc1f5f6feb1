package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// recordTable describes one table of CRM records for the mechanics every
// record type shares: permission scopes, trash, restore, purge, audit.
type recordTable struct {
	table, entity    string
	read, write, del auth.Permission
	notFound         string
}

var errForbidden = &rpcrm.Error{Code: rpcrm.EFORBIDDEN, Message: "Dafür fehlt Ihnen die Berechtigung."}

// scope returns the principal's scope for perm, or EFORBIDDEN.
func scope(p *auth.Principal, perm auth.Permission) (auth.Scope, error) {
	s, ok := p.Grants.Allows(perm)
	if !ok {
		return "", errForbidden
	}
	return s, nil
}

// query is a SQL statement under construction with numbered arguments.
type query struct {
	sb   strings.Builder
	args []any
}

// arg adds a value and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *query) add(sql string) *query { q.sb.WriteString(sql); return q }

func (q *query) String() string { return q.sb.String() }

// ownerFilter restricts a query to the principal's own records when its
// scope for perm is "own": the check happens in the query, never after loading.
func ownerFilter(q *query, p *auth.Principal, perm auth.Permission, col string) error {
	s, err := scope(p, perm)
	if err != nil {
		return err
	}
	if s == auth.ScopeOwn {
		q.add(" AND " + col + " = " + q.arg(p.UserID))
	}
	return nil
}

// checkOwner makes sure a record's owner may be set as asked: to a user of
// the tenant, and with scope "own" only to oneself.
func checkOwner(ctx context.Context, tx pgx.Tx, p *auth.Principal, perm auth.Permission, owner *uuid.UUID) error {
	if owner == nil {
		return nil
	}
	s, err := scope(p, perm)
	if err != nil {
		return err
	}
	if s == auth.ScopeOwn && *owner != p.UserID {
		return rpcrm.FieldError("owner_id", "Sie können nur sich selbst als Verantwortliche/n eintragen.")
	}
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2)`, p.TenantID, *owner).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return rpcrm.FieldError("owner_id", "Unbekannter Benutzer.")
	}
	return nil
}

// recordQuery is the query of a live record of rt (its columns) visible to
// p (read scope), or for update (write scope, locked).
func recordQuery(p *auth.Principal, rt recordTable, columns string, id uuid.UUID, forUpdate bool) (*query, error) {
	perm := rt.read
	if forUpdate {
		perm = rt.write
	}
	q := &query{}
	q.add("SELECT " + columns + " FROM " + rt.table + " WHERE tenant_id = " + q.arg(p.TenantID) + " AND id = " + q.arg(id) +
		" AND deleted_at IS NULL")
	if err := ownerFilter(q, p, perm, "owner_id"); err != nil {
		return nil, err
	}
	if forUpdate {
		q.add(" FOR UPDATE")
	}
	return q, nil
}

// getRecord loads a live record of rt (its columns, read by scan) in tx, as
// recordQuery finds it.
func getRecord[T any](ctx context.Context, tx pgx.Tx, p *auth.Principal, rt recordTable, columns string,
	scan func(pgx.Row, ...any) (T, error), id uuid.UUID, forUpdate bool) (T, error) {
	q, err := recordQuery(p, rt, columns, id, forUpdate)
	if err != nil {
		var none T
		return none, err
	}
	return readRecord(ctx, tx, q, scan, rt.notFound)
}

// readRecord runs q, the query of one record, and reads its row with scan;
// without a row it is ENOTFOUND with the message notFound.
func readRecord[T any](ctx context.Context, tx pgx.Tx, q *query, scan func(pgx.Row, ...any) (T, error), notFound string) (T, error) {
	rec, err := scan(tx.QueryRow(ctx, q.String(), q.args...))
	return rec, noRecord(err, notFound)
}

// readTenantRecord is readRecord outside a transaction: the tenant setting
// and q travel as one batch (DB.QueryTenantRow), one round trip instead of
// a transaction's three. The record getters of the services use it.
func readTenantRecord[T any](ctx context.Context, db *DB, tenantID uuid.UUID, q *query, scan func(pgx.Row, ...any) (T, error),
	notFound string) (T, error) {
	var rec T
	err := db.QueryTenantRow(ctx, tenantID, q.String(), q.args, func(row pgx.Row) error {
		var err error
		rec, err = scan(row)
		return err
	})
	return rec, noRecord(err, notFound)
}

// noRecord makes pgx.ErrNoRows ENOTFOUND with the message notFound.
func noRecord(err error, notFound string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: notFound}
	}
	return err
}

// liveRecord is a service's getter of one live record of rt visible to p.
func liveRecord[T any](ctx context.Context, db *DB, p *auth.Principal, rt recordTable, columns string,
	scan func(pgx.Row, ...any) (T, error), id uuid.UUID) (T, error) {
	q, err := recordQuery(p, rt, columns, id, false)
	if err != nil {
		var none T
		return none, err
	}
	return readTenantRecord(ctx, db, p.TenantID, q, scan, rt.notFound)
}

// lockLive locks a live (not deleted) record the principal may change and
// returns nil, or ENOTFOUND when it does not exist for them.
func (rt recordTable) lockLive(ctx context.Context, tx pgx.Tx, p *auth.Principal, perm auth.Permission, id uuid.UUID, deleted bool) error {
	q := &query{}
	q.add("SELECT 1 FROM " + rt.table + " WHERE tenant_id = " + q.arg(p.TenantID) + " AND id = " + q.arg(id))
	if deleted {
		q.add(" AND deleted_at IS NOT NULL")
	} else {
		q.add(" AND deleted_at IS NULL")
	}
	if err := ownerFilter(q, p, perm, "owner_id"); err != nil {
		return err
	}
	q.add(" FOR UPDATE")
	var one int
	err := tx.QueryRow(ctx, q.String(), q.args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: rt.notFound}
	}
	return err
}

// softDelete moves a record to the trash.
func (rt recordTable) softDelete(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	if err := rt.lockLive(ctx, tx, p, rt.del, id, false); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE `+rt.table+` SET deleted_at = now(), updated_at = now(), updated_by = $3, version = version + 1
		WHERE tenant_id = $1 AND id = $2`, p.TenantID, id, actorID(p)); err != nil {
		return err
	}
	e := actorEntry(p, m, rt.entity+".delete", rt.entity, id)
	e.Changes = map[string]audit.Change{"deleted": {Before: false, After: true}}
	return writeAudit(ctx, tx, p.TenantID, e)
}

// restore takes a record out of the trash.
func (rt recordTable) restore(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	if err := rt.lockLive(ctx, tx, p, rt.del, id, true); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE `+rt.table+` SET deleted_at = NULL, updated_at = now(), updated_by = $3, version = version + 1
		WHERE tenant_id = $1 AND id = $2`, p.TenantID, id, actorID(p)); err != nil {
		return mapError(err)
	}
	e := actorEntry(p, m, rt.entity+".restore", rt.entity, id)
	e.Changes = map[string]audit.Change{"deleted": {Before: true, After: false}}
	return writeAudit(ctx, tx, p.TenantID, e)
}

// purgeOwning deletes a record from the trash for good; detach clears the
// references other records hold to it first. For a record that documents
// can be attached to, docColumn names their reference: documents attached
// to it alone are deleted with it, each with its own audit entry, and their
// IDs returned so that the caller removes their content after the commit.
func (rt recordTable) purgeOwning(ctx context.Context, tx pgx.Tx, p *auth.Principal, id uuid.UUID, m auth.LoginMeta,
	docColumn string, detach ...string) ([]uuid.UUID, error) {
	if err := rt.lockLive(ctx, tx, p, rt.del, id, true); err != nil {
		return nil, err
	}
	var docs []uuid.UUID
	if docColumn != "" {
		var err error
		if docs, err = purgeAttachedDocuments(ctx, tx, p, m, docColumn, id); err != nil {
			return nil, err
		}
	}
	for _, d := range detach {
		if _, err := tx.Exec(ctx, d, p.TenantID, id); err != nil {
			return nil, err
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM `+rt.table+` WHERE tenant_id = $1 AND id = $2`, p.TenantID, id); err != nil {
		return nil, mapError(err)
	}
	return docs, writeAudit(ctx, tx, p.TenantID, actorEntry(p, m, rt.entity+".purge", rt.entity, id))
}

// deleteRecord moves a record of rt to the trash.
func (s *CRMService) deleteRecord(ctx context.Context, p *auth.Principal, rt recordTable, id uuid.UUID, m auth.LoginMeta) error {
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error { return rt.softDelete(ctx, tx, p, id, m) })
}

// restoreRecord takes a record of rt out of the trash and returns it as
// load reads it then.
func restoreRecord[T any](ctx context.Context, db *DB, p *auth.Principal, rt recordTable, id uuid.UUID, m auth.LoginMeta,
	load func(pgx.Tx) (T, error)) (T, error) {
	return inTenantGet(ctx, db, p.TenantID, func(tx pgx.Tx) (T, error) {
		if err := rt.restore(ctx, tx, p, id, m); err != nil {
			var none T
			return none, err
		}
		return load(tx)
	})
}

// purgeRecord deletes a record of rt from the trash for good (see
// purgeOwning) and, after the commit, the content of the documents that
// went with it.
func (s *CRMService) purgeRecord(ctx context.Context, p *auth.Principal, rt recordTable, id uuid.UUID, m auth.LoginMeta,
	docColumn string, detach ...string) error {
	docs, err := inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) ([]uuid.UUID, error) {
		return rt.purgeOwning(ctx, tx, p, id, m, docColumn, detach...)
	})
	if err == nil {
		s.removeContent(ctx, p.TenantID, docs)
	}
	return err
}

// createRecord is the frame of creating a record of rt: with the write
// permission, insert validates and stores the new record in a transaction
// and returns it as read back, and the audit entry ENTITY.create lists all
// of its fields.
func createRecord[T any](ctx context.Context, db *DB, p *auth.Principal, m auth.LoginMeta, rt recordTable,
	id func(T) uuid.UUID, fields func(T) map[string]any, insert func(tx pgx.Tx) (T, error)) (T, error) {
	if _, err := scope(p, rt.write); err != nil {
		var none T
		return none, err
	}
	return inTenantGet(ctx, db, p.TenantID, func(tx pgx.Tx) (T, error) {
		rec, err := insert(tx)
		if err == nil {
			err = auditCreate(ctx, tx, p, m, rt.entity+".create", rt.entity, id(rec), fields(rec))
		}
		return rec, err
	})
}

// updateRecord is the frame of a version-checked update of a record of rt:
// lock reads the record for update; when the client read another version
// than the record's (want, 0 for any), nothing changes. change stores the
// new state and returns the record as it is then, and the audit entry
// ENTITY.update lists the fields that changed.
func updateRecord[T interface{ RecordVersion() int }](ctx context.Context, tx pgx.Tx, p *auth.Principal, m auth.LoginMeta, rt recordTable,
	id uuid.UUID, want int, fields func(T) map[string]any, lock func() (T, error), change func(before T) (T, error)) (T, error) {
	var none T
	before, err := lock()
	if err != nil {
		return none, err
	}
	if err := checkVersion(want, before.RecordVersion()); err != nil {
		return none, err
	}
	after, err := change(before)
	if err == nil {
		err = auditChanges(ctx, tx, p, m, rt.entity+".update", rt.entity, id, fields(before), fields(after))
	}
	return after, err
}

// actorID is the user behind a change, or NULL for the operator's CLI.
func actorID(p *auth.Principal) *uuid.UUID {
	if p.UserID == uuid.Nil {
		return nil
	}
	id := p.UserID
	return &id
}

// keyset adds the ORDER BY, the cursor condition and the LIMIT of a list.
// sortExpr is the SQL of the sort key; cast converts the cursor's key text
// back to its type. It fetches one row more than asked, to know whether
// there is a next page.
func keyset(q *query, lp crm.ListParams, sortExpr, cast string) {
	dir, cmp := "ASC", ">"
	if lp.Desc {
		dir, cmp = "DESC", "<"
	}
	if lp.Cursor != "" {
		c, _ := crm.DecodeCursor(lp.Cursor) // validated by ListParams.Normalize
		q.add(fmt.Sprintf(" AND (%s, id) %s (%s%s, %s)", sortExpr, cmp, q.arg(c.Key), cast, q.arg(c.ID)))
	}
	q.add(fmt.Sprintf(" ORDER BY %s %s, id %s LIMIT %d", sortExpr, dir, dir, lp.Limit+1))
}

// sortSpec is a list's sort key: one SQL expression, with the cast that
// turns a cursor's key text back into its type; or several text
// expressions (cols) compared as a row, for an order an index of several
// columns serves as it is. A concatenation of them would sort alike but no
// index could deliver it: every page would sort all of the tenant's rows.
// The cursor's key is then a JSON array of the values.
type sortSpec struct {
	expr, cast string
	cols       []string
}

// keySQL is the SQL of the sort key as text, as a cursor carries it.
func (s sortSpec) keySQL() string {
	if s.cols != nil {
		return "json_build_array(" + strings.Join(s.cols, ", ") + ")::text"
	}
	return "(" + s.expr + ")::text"
}

// keysetBy is keyset for a sortSpec. A cursor whose key does not fit the
// sort (made before the sort's key changed) is a field error, not a
// database error.
func keysetBy(q *query, lp crm.ListParams, s sortSpec) error {
	if s.cols == nil {
		keyset(q, lp, s.expr, s.cast)
		return nil
	}
	dir, cmp := "ASC", ">"
	if lp.Desc {
		dir, cmp = "DESC", "<"
	}
	if lp.Cursor != "" {
		c, _ := crm.DecodeCursor(lp.Cursor) // validated by ListParams.Normalize
		var vals []string
		if err := json.Unmarshal([]byte(c.Key), &vals); err != nil || len(vals) != len(s.cols) {
			return rpcrm.FieldError("cursor", "Der Cursor ist veraltet; bitte die Liste neu laden.")
		}
		args := make([]string, len(vals))
		for i, v := range vals {
			args[i] = q.arg(v) + "::text"
		}
		q.add(fmt.Sprintf(" AND (%s, id) %s (%s, %s)", strings.Join(s.cols, ", "), cmp, strings.Join(args, ", "), q.arg(c.ID)))
	}
	order := make([]string, 0, len(s.cols)+1)
	for _, col := range append(s.cols[:len(s.cols):len(s.cols)], "id") {
		order = append(order, col+" "+dir)
	}
	q.add(fmt.Sprintf(" ORDER BY %s LIMIT %d", strings.Join(order, ", "), lp.Limit+1))
	return nil
}

// commonFilters adds the filters every list shares.
func commonFilters(q *query, lp crm.ListParams) {
	if lp.Deleted {
		q.add(" AND deleted_at IS NOT NULL")
	} else {
		q.add(" AND deleted_at IS NULL")
	}
	if lp.OwnerID != nil {
		q.add(" AND owner_id = " + q.arg(*lp.OwnerID))
	}
	if lp.Tag != "" {
		q.add(" AND tags @> ARRAY[" + q.arg(lp.Tag) + "::text]")
	}
	if lp.UpdatedSince != nil {
		q.add(" AND updated_at >= " + q.arg(*lp.UpdatedSince))
	}
	if lp.Q != "" {
		searchFilter(q, lp.Q)
	}
}

// customFieldDefs loads the tenant's custom field definitions for an entity.
func customFieldDefs(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, entity string) ([]crm.CustomField, error) {
	rows, err := tx.Query(ctx, `SELECT id, entity, key, label, type, required, options, position, created_at, updated_at, version
		FROM custom_fields WHERE tenant_id = $1 AND entity = $2 ORDER BY position, key`, tenantID, entity)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanCustomField)
}

func scanCustomField(r pgx.CollectableRow) (crm.CustomField, error) {
	var f crm.CustomField
	err := r.Scan(&f.ID, &f.Entity, &f.Key, &f.Label, &f.Type, &f.Required, &f.Options, &f.Position, &f.CreatedAt, &f.UpdatedAt, &f.Version)
	return f, err
}

// ensureTags adds tag names that the tenant does not have yet to its tag
// list and returns the names in their stored spelling.
func ensureTags(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, names []string) ([]string, error) {
	if len(names) == 0 {
		return []string{}, nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		var stored string
		err := tx.QueryRow(ctx, `
			WITH ins AS (
				INSERT INTO tags (tenant_id, id, name) VALUES ($1, $2, $3)
				ON CONFLICT (tenant_id, lower(name)) DO NOTHING RETURNING name)
			SELECT name FROM ins UNION ALL SELECT name FROM tags WHERE tenant_id = $1 AND lower(name) = lower($3)
			LIMIT 1`, tenantID, newID(), n).Scan(&stored)
		if errors.Is(err, pgx.ErrNoRows) {
			// Another transaction added the tag after this statement's
			// snapshot was taken: the insert yielded to it, the select
			// could not see it yet. A new statement can.
			err = tx.QueryRow(ctx, `SELECT name FROM tags WHERE tenant_id = $1 AND lower(name) = lower($2)`, tenantID, n).Scan(&stored)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, stored)
	}
	return out, nil
}

// checkVersion refuses a change based on a stale read.
func checkVersion(want, have int) error {
	if want != 0 && want != have {
		return staleVersion(have)
	}
	return nil
}

// searchFilter matches the folded search text: a phone number by its digits
// however it is typed, otherwise a substring or a close enough word (one typo).
// A Swiss UID is searched in its stored form, however it is typed.
func searchFilter(q *query, text string) {
	if uid, err := crm.NormalizeUID(text); err == nil {
		text = uid
	}
	a := q.arg(text)
	// LIKE's own wildcards in the query are escaped: "50%" means 50%.
	substring := " search LIKE '%' || " + likeEscape("search_norm("+a+")") + " || '%'"
	if digits, ok := phoneQuery(text); ok {
		// Digits with dots may also be part of a UID ("109.322.551").
		q.add(" AND (search LIKE " + q.arg("%"+digits+"%") + " OR" + substring + ")")
		return
	}
	q.add(" AND (" + substring + " OR search_norm(" + a + ") <% search)")
}

// likeEscape quotes LIKE's wildcards in the text of the SQL expression expr,
// so that a query "50%" or "a_b" means those characters, not any text.
func likeEscape(expr string) string {
	return `replace(replace(replace(` + expr + `, '\', '\\'), '%', '\%'), '_', '\_')`
}

// phoneQuery reports whether text looks like (part of) a phone number and
// returns its digits, without the + of an international prefix.
func phoneQuery(text string) (string, bool) {
	var b strings.Builder
	for _, r := range text {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune(" +-/().", r):
		default:
			return "", false
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "00") {
		d = d[2:]
	}
	return d, len(d) >= 4
}
