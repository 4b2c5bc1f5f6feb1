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

// stagePath parses the {id} (pipeline) and {stage_id} path values.
func stagePath(r *http.Request) (id, stageID uuid.UUID, err error) {
	if id, err = pathID(r); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	if stageID, err = uuid.Parse(r.PathValue("stage_id")); err != nil {
		return uuid.Nil, uuid.Nil, rpcrm.Errorf(rpcrm.ENOTFOUND, "Phase nicht gefunden.")
	}
	return id, stageID, nil
}

// The stage endpoints answer with the whole pipeline: changing one stage
// can move the others.

func (a *API) updateStage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, sid, err := stagePath(r)
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
	id, sid, err := stagePath(r)
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
	pipelines := crmResource(a, "/api/v1/pipelines", func(pl *crm.Pipeline) (uuid.UUID, int) { return pl.ID, pl.Version })
	return []Route{
		perm("GET", "/api/v1/pipelines", auth.PermDealsRead, a.listPipelines),
		perm("POST", "/api/v1/pipelines", auth.PermPipelinesManage, createRecord(pipelines, CRM.CreatePipeline)),
		perm("GET", "/api/v1/pipelines/{id}", auth.PermDealsRead, getRecord(pipelines, CRM.Pipeline)),
		perm("PATCH", "/api/v1/pipelines/{id}", auth.PermPipelinesManage,
			updateRecord(pipelines, CRM.UpdatePipeline, func(in *crm.PipelineInput) *int { return &in.Version })),
		perm("DELETE", "/api/v1/pipelines/{id}", auth.PermPipelinesManage, removeRecord(a, CRM.DeletePipeline)),
		perm("GET", "/api/v1/pipelines/{id}/board", auth.PermDealsRead, a.board),
		// The stage endpoints answer with the whole pipeline.
		perm("POST", "/api/v1/pipelines/{id}/stages", auth.PermPipelinesManage,
			changeRecord(pipelines, http.StatusCreated, CRM.CreateStage, func(in *crm.StageInput) *int { return &in.Version })),
		perm("PUT", "/api/v1/pipelines/{id}/stages/order", auth.PermPipelinesManage,
			updateRecord(pipelines, CRM.ReorderStages, func(in *crm.StageOrder) *int { return &in.Version })),
		perm("PATCH", "/api/v1/pipelines/{id}/stages/{stage_id}", auth.PermPipelinesManage, a.updateStage),
		perm("DELETE", "/api/v1/pipelines/{id}/stages/{stage_id}", auth.PermPipelinesManage, a.deleteStage),
	}
}
