package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpserver"
)

// The CRM record types share their get, delete, restore and purge
// endpoints; these helpers serve them from a service method expression
// (CRM.Contact, CRM.DeleteContact, ...), called on a.CRM at request time.

// record is a CRM record with an optimistic-concurrency version.
type record interface{ RecordVersion() int }

type handler = func(http.ResponseWriter, *http.Request, *auth.Principal)

// getRecord serves GET …/{id}.
func getRecord[T record](a *API, get func(CRM, context.Context, *auth.Principal, uuid.UUID) (T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id, err := pathID(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		rec, err := get(a.CRM, r.Context(), p, id)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		etag(w, rec.RecordVersion())
		httpserver.JSON(w, http.StatusOK, rec)
	}
}

// restoreRecord serves POST …/{id}/restore.
func restoreRecord[T record](a *API, restore func(CRM, context.Context, *auth.Principal, uuid.UUID, auth.LoginMeta) (T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id, err := pathID(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		rec, err := restore(a.CRM, r.Context(), p, id, meta(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		etag(w, rec.RecordVersion())
		httpserver.JSON(w, http.StatusOK, rec)
	}
}

// removeRecord serves DELETE …/{id} (to the trash) and DELETE …/trash/{id} (purge).
func removeRecord(a *API, remove func(CRM, context.Context, *auth.Principal, uuid.UUID, auth.LoginMeta) error) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id, err := pathID(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if err := remove(a.CRM, r.Context(), p, id, meta(r)); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
