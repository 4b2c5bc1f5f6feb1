package web

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// trashOps are a record type's delete, restore and purge, for the shared
// handlers below. The handlers build them per request (u.CRM may be unset
// when the routes are listed, as in tests of other packages).
type trashOps struct {
	base    string // the list's path, e.g. /companies
	name    func(ctx context.Context, p *auth.Principal, id uuid.UUID) (string, error)
	del     func(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
	restore func(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (string, error)
	purge   func(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
}

// named turns a service call that returns a record into one that returns
// the record's name, for trashOps.
func named[T any](get func(context.Context, *auth.Principal, uuid.UUID) (T, error), name func(T) string) func(context.Context, *auth.Principal, uuid.UUID) (string, error) {
	return func(ctx context.Context, p *auth.Principal, id uuid.UUID) (string, error) {
		x, err := get(ctx, p, id)
		if err != nil {
			return "", err
		}
		return name(x), nil
	}
}

// namedRestore is named for a restore call.
func namedRestore[T any](restore func(context.Context, *auth.Principal, uuid.UUID, auth.LoginMeta) (T, error), name func(T) string) func(context.Context, *auth.Principal, uuid.UUID, auth.LoginMeta) (string, error) {
	return func(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (string, error) {
		x, err := restore(ctx, p, id, m)
		if err != nil {
			return "", err
		}
		return name(x), nil
	}
}

// deleteRecord moves a record to the trash and goes back to the list, with
// a flash whose undo button posts to restore.
func (u *UI) deleteRecord(opsOf func() trashOps) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		ops := opsOf()
		id, err := pathID(r)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		name, err := ops.name(r.Context(), p, id)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		if err := ops.del(r.Context(), p, id, meta(r)); err != nil {
			u.fail(w, r, p, err)
			return
		}
		v := u.newView(w, r, p, "records.trash.title")
		u.setFlash(w, flash{Kind: "ok", Message: v.T("records.trash.moved", name),
			UndoURL: ops.base + "/" + id.String() + "/restore"})
		redirect(w, r, ops.base)
	}
}

// restoreRecord takes a record out of the trash (also the undo of delete)
// and shows it.
func (u *UI) restoreRecord(opsOf func() trashOps) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		ops := opsOf()
		id, err := pathID(r)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		name, err := ops.restore(r.Context(), p, id, meta(r))
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		v := u.newView(w, r, p, "records.trash.title")
		u.setFlash(w, flash{Kind: "ok", Message: v.T("records.trash.restored", name)})
		redirect(w, r, ops.base+"/"+id.String())
	}
}

// purgeRecord deletes a trashed record for good.
func (u *UI) purgeRecord(opsOf func() trashOps) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		ops := opsOf()
		id, err := pathID(r)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		if err := ops.purge(r.Context(), p, id, meta(r)); err != nil {
			u.fail(w, r, p, err)
			return
		}
		v := u.newView(w, r, p, "records.trash.title")
		u.setFlash(w, flash{Kind: "ok", Message: v.T("records.trash.purged")})
		redirect(w, r, ops.base+"/trash")
	}
}
