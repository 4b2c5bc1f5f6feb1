package web

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// Shared steps of the settings handlers: list pages, loading the record a
// path names, and answering a change.

// settingsList renders a list page of the settings: it loads the list
// first, so that a list that does not load is only the service's error
// page, then shows data(list) under title.
func settingsList[T any](u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal, title, page string,
	load func(context.Context, *auth.Principal) (T, error), data func(T) any) {
	list, err := load(r.Context(), p)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v := u.settingsView(w, r, p, title)
	v.Data = data(list)
	u.render(w, r, http.StatusOK, page, v)
}

// settingsRecord loads the record the {id} path value names (see
// recordAtPath): a malformed id is a 404, a record that does not load the
// service's error page.
func settingsRecord[T any](u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal,
	load func(context.Context, *auth.Principal, uuid.UUID) (T, error)) (T, bool) {
	_, rec, ok := recordAtPath(u, w, r, p, load)
	return rec, ok
}

// settingsListed finds the record the {id} path value names in the list
// load returns; one not in it is a 404.
func settingsListed[T any](u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal,
	load func(context.Context, *auth.Principal) ([]T, error), idOf func(T) uuid.UUID) (T, bool) {
	var zero T
	id, ok := u.pathValueID(w, r, p, "id")
	if !ok {
		return zero, false
	}
	list, err := load(r.Context(), p)
	if err != nil {
		u.fail(w, r, p, err)
		return zero, false
	}
	return settingsFind(u, w, r, p, list, id, idOf)
}

// settingsFind picks the item with the id out of list; a missing one is a
// 404.
func settingsFind[T any](u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal, list []T, id uuid.UUID,
	idOf func(T) uuid.UUID) (T, bool) {
	for _, x := range list {
		if idOf(x) == id {
			return x, true
		}
	}
	u.errorPage(w, r, p, http.StatusNotFound, "error.not_found")
	var zero T
	return zero, false
}

// settingsDone answers a settings change that err reports on: done, it
// goes to the address to with the flash message key; refused for its
// input, it shows the form again with render (nil: the change has no
// form, any error fails the request); else it fails the request.
func (u *UI) settingsDone(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, err error,
	render func(status int), key, to string) {
	switch {
	case err == nil:
		u.saved(w, r, v, key, to)
	case render == nil:
		u.fail(w, r, p, err)
	default:
		u.formError(w, r, p, v, err, render)
	}
}

// settingsRecordHandler handles a page on one settings record, in the view
// the page starts with.
type settingsRecordHandler[T any] func(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, rec T)

// settingsRecordPages makes the handlers of the pages on one kind of
// settings record: each loads the record with load, which answers itself
// when that fails, then starts the view with title and hands both to its
// settingsRecordHandler.
func settingsRecordPages[T any](u *UI, load func(http.ResponseWriter, *http.Request, *auth.Principal) (T, bool),
	title string) func(settingsRecordHandler[T]) pageHandler {
	return func(h settingsRecordHandler[T]) pageHandler {
		return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
			rec, ok := load(w, r, p)
			if !ok {
				return
			}
			h(w, r, p, u.settingsView(w, r, p, title), rec)
		}
	}
}
