package httpapi

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

func (a *API) listPipelines(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	pls, err := a.CRM.ListPipelines(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, map[string]any{"items": pls})
}

func (a *API) getPipeline(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	pl, err := a.CRM.Pipeline(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, pl.Version)
	httpserver.JSON(w, http.StatusOK, pl)
}

func (a *API) createPipeline(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in crm.PipelineInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	pl, err := a.CRM.CreatePipeline(r.Context(), p, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, pl.Version)
	w.Header().Set("Location", "/api/v1/pipelines/"+pl.ID.String())
	httpserver.JSON(w, http.StatusCreated, pl)
}

func (a *API) updatePipeline(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in crm.PipelineInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	pl, err := a.CRM.UpdatePipeline(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, pl.Version)
	httpserver.JSON(w, http.StatusOK, pl)
}

func (a *API) deletePipeline(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.CRM.DeletePipeline(r.Context(), p, id, meta(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// stageID parses the {stage_id} path value.
func stageID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("stage_id"))
	if err != nil {
		return uuid.Nil, rpcrm.Errorf(rpcrm.ENOTFOUND, "Phase nicht gefunden.")
	}
	return id, nil
}

// The stage endpoints answer with the whole pipeline: changing one stage
// can move the others.

func (a *API) createStage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in crm.StageInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	pl, err := a.CRM.CreateStage(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, pl.Version)
	httpserver.JSON(w, http.StatusCreated, pl)
}

func (a *API) updateStage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sid, err := stageID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in crm.StageInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	// If-Match carries the stage's version here.
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	pl, err := a.CRM.UpdateStage(r.Context(), p, id, sid, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, pl)
}

func (a *API) deleteStage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sid, err := stageID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := rpcrm.Validation{}
	moveTo := queryID(r.URL.Query().Get("move_to"), "move_to", v)
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	pl, err := a.CRM.DeleteStage(r.Context(), p, id, sid, moveTo, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, pl.Version)
	httpserver.JSON(w, http.StatusOK, pl)
}

func (a *API) reorderStages(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in crm.StageOrder
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	pl, err := a.CRM.ReorderStages(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, pl.Version)
	httpserver.JSON(w, http.StatusOK, pl)
}

// board answers the pipeline board; limit is the number of deals per stage
// (default 20).
func (a *API) board(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit := 20
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			a.fail(w, r, rpcrm.FieldError("limit", "Erwartet eine Zahl von 0 bis 100."))
			return
		}
		limit = n
	}
	b, err := a.CRM.Board(r.Context(), p, id, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, b)
}

// pipelineRoutes are the pipeline and stage endpoints: everyone who sees
// deals sees the pipelines, changing them needs pipelines:manage.
func (a *API) pipelineRoutes() []Route {
	return []Route{
		perm("GET", "/api/v1/pipelines", auth.PermDealsRead, a.listPipelines),
		perm("POST", "/api/v1/pipelines", auth.PermPipelinesManage, a.createPipeline),
		perm("GET", "/api/v1/pipelines/{id}", auth.PermDealsRead, a.getPipeline),
		perm("PATCH", "/api/v1/pipelines/{id}", auth.PermPipelinesManage, a.updatePipeline),
		perm("DELETE", "/api/v1/pipelines/{id}", auth.PermPipelinesManage, a.deletePipeline),
		perm("GET", "/api/v1/pipelines/{id}/board", auth.PermDealsRead, a.board),
		perm("POST", "/api/v1/pipelines/{id}/stages", auth.PermPipelinesManage, a.createStage),
		perm("PUT", "/api/v1/pipelines/{id}/stages/order", auth.PermPipelinesManage, a.reorderStages),
		perm("PATCH", "/api/v1/pipelines/{id}/stages/{stage_id}", auth.PermPipelinesManage, a.updateStage),
		perm("DELETE", "/api/v1/pipelines/{id}/stages/{stage_id}", auth.PermPipelinesManage, a.deleteStage),
	}
}
