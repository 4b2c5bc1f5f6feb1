package httpapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

// The record types (the CRM's, the users and the roles) share the shape of
// their list, get, create, update, delete, restore and purge endpoints;
// these helpers serve them from a service method expression (CRM.Contact,
// auth.Service.CreateRole, ...), called on the API's service at request time.
// Those that answer with a record take its resource, which says how to read
// the record's ID and version.

type handler = func(http.ResponseWriter, *http.Request, *auth.Principal)

// A resource is one kind of record, T, as the helpers see it.
type resource[S, T any] struct {
	api *API
	// service is the service that keeps the records (the API's CRM or
	// Auth), read when a request comes.
	service func() S
	// path is the collection; a new record's Location is path/ID.
	path string
	// key reads a record's ID (for Location) and version (for the ETag).
	key func(T) (id uuid.UUID, version int)
}

// crmResource describes records kept by a.CRM.
func crmResource[T any](a *API, path string, key func(T) (uuid.UUID, int)) resource[CRM, T] {
	return resource[CRM, T]{api: a, service: func() CRM { return a.CRM }, path: path, key: key}
}

// authResource describes records kept by a.Auth.
func authResource[T any](a *API, path string, key func(T) (uuid.UUID, int)) resource[auth.Service, T] {
	return resource[auth.Service, T]{api: a, service: func() auth.Service { return a.Auth }, path: path, key: key}
}

// reply answers status with the record and its version as the ETag, or
// with the error if there is one.
func (rs resource[S, T]) reply(w http.ResponseWriter, r *http.Request, status int, rec T, err error) {
	if err != nil {
		rs.api.fail(w, r, err)
		return
	}
	_, version := rs.key(rec)
	etag(w, version)
	httpserver.JSON(w, status, rec)
}

// listRecords serves GET on a collection (trash false) or on its trash: it
// reads the common list parameters, filter reads the rest of the query
// (adding what it cannot read to v), and list answers the page.
func listRecords[S, T, F any](rs resource[S, T], list func(S, context.Context, *auth.Principal, F) (*crm.Page[T], error),
	filter func(q url.Values, lp crm.ListParams, v rpcrm.Validation) F, trash bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		lp, v := listParams(r)
		lp.Deleted = trash
		f := filter(r.URL.Query(), lp, v)
		if err := v.Err(); err != nil {
			rs.api.fail(w, r, err)
			return
		}
		pg, err := list(rs.service(), r.Context(), p, f)
		if err != nil {
			rs.api.fail(w, r, err)
			return
		}
		httpserver.JSON(w, http.StatusOK, pg)
	}
}

// listAll serves GET on a collection that the service lists whole, as
// {"items": […]} (an empty list, never null).
func listAll[S, T any](rs resource[S, T], list func(S, context.Context, *auth.Principal) ([]T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		items, err := list(rs.service(), r.Context(), p)
		if err != nil {
			rs.api.fail(w, r, err)
			return
		}
		if items == nil {
			items = []T{}
		}
		httpserver.JSON(w, http.StatusOK, map[string]any{"items": items})
	}
}

// getRecord serves GET …/{id}.
func getRecord[S, T any](rs resource[S, T], get func(S, context.Context, *auth.Principal, uuid.UUID) (T, error)) handler {
	return recordAction(rs, func(s S, ctx context.Context, p *auth.Principal, id uuid.UUID, _ auth.LoginMeta) (T, error) {
		return get(s, ctx, p, id)
	})
}

// createRecord serves POST on the collection: it decodes the input and
// answers 201 with the new record and its Location.
func createRecord[S, In, T any](rs resource[S, T], create func(S, context.Context, *auth.Principal, In, auth.LoginMeta) (T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		var in In
		if err := decode(r, &in); err != nil {
			rs.api.fail(w, r, err)
			return
		}
		rec, err := create(rs.service(), r.Context(), p, in, meta(r))
		if err == nil {
			id, _ := rs.key(rec)
			w.Header().Set("Location", rs.path+"/"+id.String())
		}
		rs.reply(w, r, http.StatusCreated, rec, err)
	}
}

// updateRecord serves PATCH …/{id}; see changeRecord.
func updateRecord[S, In, T any](rs resource[S, T], update func(S, context.Context, *auth.Principal, uuid.UUID, In, auth.LoginMeta) (T, error),
	version func(*In) *int) handler {
	return changeRecord(rs, http.StatusOK, update, version)
}

// changeRecord serves a request that changes record {id}: it decodes the
// input, lets If-Match set the version the input expects (found by
// version), and answers status with the changed record.
func changeRecord[S, In, T any](rs resource[S, T], status int, change func(S, context.Context, *auth.Principal, uuid.UUID, In, auth.LoginMeta) (T, error),
	version func(*In) *int) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id, err := pathID(r)
		if err != nil {
			rs.api.fail(w, r, err)
			return
		}
		var in In
		if err := decode(r, &in); err != nil {
			rs.api.fail(w, r, err)
			return
		}
		if err := versioned(r, version(&in)); err != nil {
			rs.api.fail(w, r, err)
			return
		}
		rec, err := change(rs.service(), r.Context(), p, id, in, meta(r))
		rs.reply(w, r, status, rec, err)
	}
}

// restoreRecord serves POST …/{id}/restore.
func restoreRecord[S, T any](rs resource[S, T], restore func(S, context.Context, *auth.Principal, uuid.UUID, auth.LoginMeta) (T, error)) handler {
	return recordAction(rs, restore)
}

// recordAction serves a request on record {id} that has no body: it
// answers with the record act returns.
func recordAction[S, T any](rs resource[S, T], act func(S, context.Context, *auth.Principal, uuid.UUID, auth.LoginMeta) (T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id, err := pathID(r)
		if err != nil {
			rs.api.fail(w, r, err)
			return
		}
		rec, err := act(rs.service(), r.Context(), p, id, meta(r))
		rs.reply(w, r, http.StatusOK, rec, err)
	}
}

// removeRecord serves DELETE …/{id} (to the trash, or for good where there
// is no trash) and DELETE …/trash/{id} (purge). It answers no record, so it
// needs no resource, only the CRM service's method.
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
