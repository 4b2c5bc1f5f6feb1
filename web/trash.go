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

// trashHandler is a handler of a record type's trash: it builds the ops
// and reads the route's {id} for h.
func (u *UI) trashHandler(opsOf func() trashOps, h func(w http.ResponseWriter, r *http.Request, p *auth.Principal, ops trashOps, id uuid.UUID)) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		ops := opsOf()
		id, err := pathID(r)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		h(w, r, p, ops, id)
	}
}

// trashDone tells in a flash what was done (key, args) and goes on to
// next; undoURL, if set, is where the flash's undo button posts.
func (u *UI) trashDone(w http.ResponseWriter, r *http.Request, p *auth.Principal, next, undoURL, key string, args ...any) {
	v := u.newView(w, r, p, "records.trash.title")
	u.setFlash(w, flash{Kind: "ok", Message: v.T(key, args...), UndoURL: undoURL})
	redirect(w, r, next)
}

// deleteRecord moves a record to the trash and goes back to the list, with
// a flash whose undo button posts to restore.
func (u *UI) deleteRecord(opsOf func() trashOps) pageHandler {
	return u.trashHandler(opsOf, func(w http.ResponseWriter, r *http.Request, p *auth.Principal, ops trashOps, id uuid.UUID) {
		name, err := ops.name(r.Context(), p, id)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		if err := ops.del(r.Context(), p, id, meta(r)); err != nil {
			u.fail(w, r, p, err)
			return
		}
		u.trashDone(w, r, p, ops.base, ops.base+"/"+id.String()+"/restore", "records.trash.moved", name)
	})
}

// restoreRecord takes a record out of the trash (also the undo of delete)
// and shows it.
func (u *UI) restoreRecord(opsOf func() trashOps) pageHandler {
	return u.trashHandler(opsOf, func(w http.ResponseWriter, r *http.Request, p *auth.Principal, ops trashOps, id uuid.UUID) {
		name, err := ops.restore(r.Context(), p, id, meta(r))
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		u.trashDone(w, r, p, ops.base+"/"+id.String(), "", "records.trash.restored", name)
	})
}

// purgeRecord deletes a trashed record for good.
func (u *UI) purgeRecord(opsOf func() trashOps) pageHandler {
	return u.trashHandler(opsOf, func(w http.ResponseWriter, r *http.Request, p *auth.Principal, ops trashOps, id uuid.UUID) {
		if err := ops.purge(r.Context(), p, id, meta(r)); err != nil {
			u.fail(w, r, p, err)
			return
		}
		u.trashDone(w, r, p, ops.base+"/trash", "", "records.trash.purged")
	})
}
