package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

const (
	pipelineNotFound = "Pipeline nicht gefunden."
	stageNotFound    = "Phase nicht gefunden."
)

// ensureDefaultPipeline gives a tenant without any pipeline the default
// one, so that deals can be created right away. A tenant that has removed or
// renamed it keeps its own choice: only "no pipeline at all" counts. The
// insert skips a conflict, so that two concurrent syncs create it once.
func ensureDefaultPipeline(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) error {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `
		INSERT INTO pipelines (tenant_id, id, name, position)
		SELECT $1, $2, $3, 0 WHERE NOT EXISTS (SELECT 1 FROM pipelines WHERE tenant_id = $1)
		ON CONFLICT DO NOTHING RETURNING id`, tenantID, newID(), crm.DefaultPipelineName).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("default pipeline: %w", err)
	}
	return insertStages(ctx, tx, tenantID, id, crm.DefaultStages())
}

// insertStages adds stages at positions 0, 1, … of a new pipeline.
func insertStages(ctx context.Context, tx pgx.Tx, tenantID, pipelineID uuid.UUID, stages []crm.Stage) error {
	for i, s := range stages {
		if _, err := tx.Exec(ctx, `INSERT INTO stages (tenant_id, id, pipeline_id, name, position, kind, probability)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenantID, newID(), pipelineID, s.Name, i, s.Kind, s.Probability); err != nil {
			return err
		}
	}
	return nil
}

// loadPipelines returns the tenant's pipelines in order with their stages,
// or only the one with the given ID.
func loadPipelines(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, only *uuid.UUID) ([]*crm.Pipeline, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, position, created_at, updated_at, version FROM pipelines
		WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id = $2) ORDER BY position, lower(name), id`, tenantID, only)
	if err != nil {
		return nil, err
	}
	pls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*crm.Pipeline, error) {
		pl := &crm.Pipeline{Stages: []*crm.Stage{}}
		err := r.Scan(&pl.ID, &pl.Name, &pl.Position, &pl.CreatedAt, &pl.UpdatedAt, &pl.Version)
		return pl, err
	})
	if err != nil {
		return nil, err
	}
	byID := map[uuid.UUID]*crm.Pipeline{}
	for _, pl := range pls {
		byID[pl.ID] = pl
	}
	rows, err = tx.Query(ctx, `SELECT `+stageColumns+` FROM stages
		WHERE tenant_id = $1 AND ($2::uuid IS NULL OR pipeline_id = $2) ORDER BY pipeline_id, position, id`, tenantID, only)
	if err != nil {
		return nil, err
	}
	stages, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*crm.Stage, error) { return scanStage(r) })
	if err != nil {
		return nil, err
	}
	for _, s := range stages {
		if pl := byID[s.PipelineID]; pl != nil {
			pl.Stages = append(pl.Stages, s)
		}
	}
	return pls, nil
}

const stageColumns = `id, pipeline_id, name, position, kind, probability, created_at, updated_at, version`

func scanStage(r pgx.Row) (*crm.Stage, error) {
	s := &crm.Stage{}
	err := r.Scan(&s.ID, &s.PipelineID, &s.Name, &s.Position, &s.Kind, &s.Probability, &s.CreatedAt, &s.UpdatedAt, &s.Version)
	return s, err
}

// getPipeline loads one pipeline with its stages; forUpdate locks its row,
// which serialises all changes to its stages.
func getPipeline(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (*crm.Pipeline, error) {
	if forUpdate {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM pipelines WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: pipelineNotFound}
		}
		if err != nil {
			return nil, err
		}
	}
	pls, err := loadPipelines(ctx, tx, tenantID, &id)
	if err != nil {
		return nil, err
	}
	if len(pls) == 0 {
		return nil, &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: pipelineNotFound}
	}
	return pls[0], nil
}

// ListPipelines lists the tenant's pipelines with their stages, in order.
func (s *CRMService) ListPipelines(ctx context.Context, p *auth.Principal) ([]*crm.Pipeline, error) {
	if _, err := scope(p, auth.PermDealsRead); err != nil {
		return nil, err
	}
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) ([]*crm.Pipeline, error) {
		return loadPipelines(ctx, tx, p.TenantID, nil)
	})
}

// Pipeline returns one pipeline with its stages.
func (s *CRMService) Pipeline(ctx context.Context, p *auth.Principal, id uuid.UUID) (*crm.Pipeline, error) {
	if _, err := scope(p, auth.PermDealsRead); err != nil {
		return nil, err
	}
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.Pipeline, error) {
		return getPipeline(ctx, tx, p.TenantID, id, false)
	})
}

// changePipeline runs change on the pipeline id, locked (which serialises
// all changes to its stages), in one transaction and returns the pipeline
// that change returns.
func (s *CRMService) changePipeline(ctx context.Context, p *auth.Principal, id uuid.UUID,
	change func(tx pgx.Tx, pl *crm.Pipeline) (*crm.Pipeline, error)) (*crm.Pipeline, error) {
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.Pipeline, error) {
		pl, err := getPipeline(ctx, tx, p.TenantID, id, true)
		if err != nil {
			return nil, err
		}
		return change(tx, pl)
	})
}

// pipelineNameTaken turns the unique violation of a pipeline's name into a
// conflict the user can fix.
func pipelineNameTaken(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "pipelines_name_key" {
		return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Es gibt schon eine Pipeline mit diesem Namen.",
			Fields: map[string]string{"name": "Es gibt schon eine Pipeline mit diesem Namen."}}
	}
	return mapError(err)
}

// CreatePipeline creates a pipeline with the given stages or the default ones.
func (s *CRMService) CreatePipeline(ctx context.Context, p *auth.Principal, in crm.PipelineInput, m auth.LoginMeta) (*crm.Pipeline, error) {
	if _, err := scope(p, auth.PermPipelinesManage); err != nil {
		return nil, err
	}
	pl := &crm.Pipeline{}
	if err := in.Apply(pl, true); err != nil {
		return nil, err
	}
	stages := crm.DefaultStages()
	if in.Stages != nil {
		stages = make([]crm.Stage, len(in.Stages))
		for i := range in.Stages {
			_ = in.Stages[i].Apply(&stages[i]) // validated by in.Apply
		}
	}
	return inTenantGet(ctx, s.DB, p.TenantID, func(tx pgx.Tx) (*crm.Pipeline, error) {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM pipelines WHERE tenant_id = $1 FOR UPDATE`, p.TenantID); err != nil {
			return nil, err
		}
		id := newID()
		if _, err := tx.Exec(ctx, `INSERT INTO pipelines (tenant_id, id, name, position)
			VALUES ($1, $2, $3, (SELECT coalesce(max(position) + 1, 0) FROM pipelines WHERE tenant_id = $1))`,
			p.TenantID, id, pl.Name); err != nil {
			return nil, pipelineNameTaken(err)
		}
		if err := insertStages(ctx, tx, p.TenantID, id, stages); err != nil {
			return nil, err
		}
		if in.Position != nil {
			if err := movePipeline(ctx, tx, p.TenantID, id, *in.Position); err != nil {
				return nil, err
			}
		}
		out, err := getPipeline(ctx, tx, p.TenantID, id, false)
		if err != nil {
			return nil, err
		}
		return out, auditCreate(ctx, tx, p, m, "pipeline.create", "pipeline", id, pipelineFields(out))
	})
}

// movePipeline puts a pipeline at position pos among the tenant's
// pipelines and renumbers them densely.
func movePipeline(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, pos int) error {
	rows, err := tx.Query(ctx, `SELECT id FROM pipelines WHERE tenant_id = $1 ORDER BY position, lower(name), id FOR UPDATE`, tenantID)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	ids = moveID(ids, id, pos)
	_, err = tx.Exec(ctx, `UPDATE pipelines p SET position = o.pos - 1, updated_at = now(), version = p.version + 1
		FROM unnest($2::uuid[]) WITH ORDINALITY AS o(id, pos)
		WHERE p.tenant_id = $1 AND p.id = o.id AND p.position <> o.pos - 1`, tenantID, ids)
	return err
}

// moveID moves id within ids to index pos (clamped to the end).
func moveID(ids []uuid.UUID, id uuid.UUID, pos int) []uuid.UUID {
	ids = slices.DeleteFunc(ids, func(x uuid.UUID) bool { return x == id })
	pos = max(0, min(pos, len(ids)))
	return slices.Insert(ids, pos, id)
}

// UpdatePipeline renames or moves a pipeline.
func (s *CRMService) UpdatePipeline(ctx context.Context, p *auth.Principal, id uuid.UUID, in crm.PipelineInput, m auth.LoginMeta) (*crm.Pipeline, error) {
	if _, err := scope(p, auth.PermPipelinesManage); err != nil {
		return nil, err
	}
	return s.changePipeline(ctx, p, id, func(tx pgx.Tx, before *crm.Pipeline) (*crm.Pipeline, error) {
		if err := checkVersion(in.Version, before.Version); err != nil {
			return nil, err
		}
		pl := *before
		if err := in.Apply(&pl, false); err != nil {
			return nil, err
		}
		if pl.Name != before.Name {
			if _, err := tx.Exec(ctx, `UPDATE pipelines SET name = $3, updated_at = now(), version = version + 1
				WHERE tenant_id = $1 AND id = $2`, p.TenantID, id, pl.Name); err != nil {
				return nil, pipelineNameTaken(err)
			}
		}
		if in.Position != nil && *in.Position != before.Position {
			if err := movePipeline(ctx, tx, p.TenantID, id, *in.Position); err != nil {
				return nil, err
			}
		}
		out, err := getPipeline(ctx, tx, p.TenantID, id, false)
		if err != nil {
			return nil, err
		}
		return out, auditPipeline(ctx, tx, p, m, "pipeline.update", before, out)
	})
}

func auditPipeline(ctx context.Context, tx pgx.Tx, p *auth.Principal, m auth.LoginMeta, action string, before, after *crm.Pipeline) error {
	return auditChanges(ctx, tx, p, m, action, "pipeline", after.ID, pipelineFields(before), pipelineFields(after))
}

// DeletePipeline removes a pipeline and its stages. A pipeline that still
// has deals (also in the trash) stays, and so does the last one: deals
// always need a pipeline.
func (s *CRMService) DeletePipeline(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error {
	if _, err := scope(p, auth.PermPipelinesManage); err != nil {
		return err
	}
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		before, err := getPipeline(ctx, tx, p.TenantID, id, true)
		if err != nil {
			return err
		}
		var live, trashed, others int
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL),
			(SELECT count(*) FROM pipelines WHERE tenant_id = $1 AND id <> $2)
			FROM deals WHERE tenant_id = $1 AND pipeline_id = $2`, p.TenantID, id).Scan(&live, &trashed, &others); err != nil {
			return err
		}
		switch {
		case live > 0:
			return rpcrm.Errorf(rpcrm.ECONFLICT, "Die Pipeline enthält noch %d Verkaufschance(n). Verschieben oder löschen Sie diese zuerst.", live)
		case trashed > 0:
			return rpcrm.Errorf(rpcrm.ECONFLICT, "Im Papierkorb liegen noch %d Verkaufschance(n) dieser Pipeline. Löschen Sie diese zuerst endgültig.", trashed)
		case others == 0:
			return rpcrm.Errorf(rpcrm.ECONFLICT, "Die letzte Pipeline kann nicht gelöscht werden.")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM pipelines WHERE tenant_id = $1 AND id = $2`, p.TenantID, id); err != nil {
			return mapError(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE pipelines p SET position = o.pos - 1
			FROM (SELECT id, row_number() OVER (ORDER BY position, lower(name), id) AS pos FROM pipelines WHERE tenant_id = $1) o
			WHERE p.tenant_id = $1 AND p.id = o.id AND p.position <> o.pos - 1`, p.TenantID); err != nil {
			return err
		}
		e := actorEntry(p, m, "pipeline.delete", "pipeline", id)
		e.Changes = audit.Diff(pipelineFields(before), nil)
		return writeAudit(ctx, tx, p.TenantID, e)
	})
}

func pipelineFields(pl *crm.Pipeline) map[string]any {
	stages := make([]string, 0, len(pl.Stages))
	for _, s := range pl.Stages {
		stages = append(stages, s.Name)
	}
	return map[string]any{"name": pl.Name, "position": pl.Position, "stages": stages}
}

func stageFields(s *crm.Stage) map[string]any {
	return map[string]any{"name": s.Name, "kind": s.Kind, "probability": s.Probability, "position": s.Position}
}

func findStage(pl *crm.Pipeline, id uuid.UUID) *crm.Stage {
	for _, s := range pl.Stages {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// orderStages renumbers a pipeline's stages 0, 1, … in the order of ids,
// bumping the version of each stage that moves, and the pipeline's version:
// its list of stages changed.
func orderStages(ctx context.Context, tx pgx.Tx, tenantID, pipelineID uuid.UUID, ids []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE stages s SET position = o.pos - 1, updated_at = now(), version = s.version + 1
		FROM unnest($3::uuid[]) WITH ORDINALITY AS o(id, pos)
		WHERE s.tenant_id = $1 AND s.pipeline_id = $2 AND s.id = o.id AND s.position <> o.pos - 1`, tenantID, pipelineID, ids); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE pipelines SET updated_at = now(), version = version + 1 WHERE tenant_id = $1 AND id = $2`, tenantID, pipelineID)
	return err
}

func stageIDs(pl *crm.Pipeline) []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(pl.Stages))
	for _, s := range pl.Stages {
		ids = append(ids, s.ID)
	}
	return ids
}

// stageEntry starts the audit entry of a change to a stage of a pipeline.
func stageEntry(p *auth.Principal, m auth.LoginMeta, action string, stageID, pipelineID uuid.UUID) audit.Entry {
	e := actorEntry(p, m, action, "stage", stageID)
	e.Details = map[string]any{"pipeline_id": pipelineID}
	return e
}

// CreateStage adds a stage to a pipeline, at the end unless a position is given.
func (s *CRMService) CreateStage(ctx context.Context, p *auth.Principal, pipelineID uuid.UUID, in crm.StageInput, m auth.LoginMeta) (*crm.Pipeline, error) {
	if _, err := scope(p, auth.PermPipelinesManage); err != nil {
		return nil, err
	}
	st := &crm.Stage{}
	if err := in.Apply(st); err != nil {
		return nil, err
	}
	return s.changePipeline(ctx, p, pipelineID, func(tx pgx.Tx, pl *crm.Pipeline) (*crm.Pipeline, error) {
		if err := checkVersion(in.Version, pl.Version); err != nil {
			return nil, err
		}
		if len(pl.Stages) >= 50 {
			return nil, rpcrm.FieldError("name", "Eine Pipeline hat höchstens 50 Phasen.")
		}
		st.ID = newID()
		if _, err := tx.Exec(ctx, `INSERT INTO stages (tenant_id, id, pipeline_id, name, position, kind, probability)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, p.TenantID, st.ID, pipelineID, st.Name, len(pl.Stages), st.Kind, st.Probability); err != nil {
			return nil, mapError(err)
		}
		ids := append(stageIDs(pl), st.ID)
		if in.Position != nil {
			ids = moveID(ids, st.ID, *in.Position)
		}
		if err := orderStages(ctx, tx, p.TenantID, pipelineID, ids); err != nil {
			return nil, err
		}
		out, err := getPipeline(ctx, tx, p.TenantID, pipelineID, false)
		if err != nil {
			return nil, err
		}
		e := stageEntry(p, m, "stage.create", st.ID, pipelineID)
		e.Changes = audit.Diff(nil, stageFields(findStage(out, st.ID)))
		return out, writeAudit(ctx, tx, p.TenantID, e)
	})
}

// UpdateStage renames a stage, changes its kind or probability or moves it.
// The deals in a stage whose kind changes follow it (won, lost or open again).
func (s *CRMService) UpdateStage(ctx context.Context, p *auth.Principal, pipelineID, stageID uuid.UUID, in crm.StageInput, m auth.LoginMeta) (*crm.Pipeline, error) {
	if _, err := scope(p, auth.PermPipelinesManage); err != nil {
		return nil, err
	}
	return s.changePipeline(ctx, p, pipelineID, func(tx pgx.Tx, pl *crm.Pipeline) (*crm.Pipeline, error) {
		before := findStage(pl, stageID)
		if before == nil {
			return nil, &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: stageNotFound}
		}
		if err := checkVersion(in.Version, before.Version); err != nil {
			return nil, err
		}
		st := *before
		if err := in.Apply(&st); err != nil {
			return nil, err
		}
		if st.Name != before.Name || st.Kind != before.Kind || st.Probability != before.Probability {
			if _, err := tx.Exec(ctx, `UPDATE stages SET name = $3, kind = $4, probability = $5, updated_at = now(), version = version + 1
				WHERE tenant_id = $1 AND id = $2`, p.TenantID, stageID, st.Name, st.Kind, st.Probability); err != nil {
				return nil, mapError(err)
			}
		}
		if st.Kind != before.Kind {
			if err := followStageKind(ctx, tx, p, m, stageID, &st); err != nil {
				return nil, err
			}
		}
		if in.Position != nil && *in.Position != before.Position {
			if err := orderStages(ctx, tx, p.TenantID, pipelineID, moveID(stageIDs(pl), stageID, *in.Position)); err != nil {
				return nil, err
			}
		}
		out, err := getPipeline(ctx, tx, p.TenantID, pipelineID, false)
		if err != nil {
			return nil, err
		}
		changes := audit.Diff(stageFields(before), stageFields(findStage(out, stageID)))
		if len(changes) == 0 {
			return out, nil
		}
		e := stageEntry(p, m, "stage.update", stageID, pipelineID)
		e.Changes = changes
		return out, writeAudit(ctx, tx, p.TenantID, e)
	})
}

// stageStatusSQL sets a deal's won/lost columns for the kind of stage $kind
// it is now in; a lost deal without a reason gets $reason.
const stageStatusSQL = `
	won_at = CASE WHEN $kind = 'won' THEN coalesce(won_at, now()) END,
	lost_at = CASE WHEN $kind = 'lost' THEN coalesce(lost_at, now()) END,
	lost_reason = CASE WHEN $kind = 'lost' THEN coalesce(nullif(lost_reason, ''), $reason) ELSE '' END`

// followStageKind brings the deals of a stage whose kind changed in line
// with it, and audits each deal's change of status.
func followStageKind(ctx context.Context, tx pgx.Tx, p *auth.Principal, m auth.LoginMeta, stageID uuid.UUID, st *crm.Stage) error {
	return updateStageDeals(ctx, tx, p, m,
		map[string]audit.Change{"status": {After: st.Kind}},
		map[string]any{"reason": "stage.update", "stage_id": stageID},
		`UPDATE deals SET `+namedArgs(stageStatusSQL, map[string]string{"$kind": "$3::text", "$reason": "$4"})+`,
		updated_at = now(), updated_by = $5, version = version + 1
		WHERE tenant_id = $1 AND stage_id = $2 RETURNING id`,
		p.TenantID, stageID, st.Kind, "Phase «"+st.Name+"» als verloren markiert", actorID(p))
}

// updateStageDeals runs update, an UPDATE of deals that returns their IDs,
// and audits the change of each deal with changes and details.
func updateStageDeals(ctx context.Context, tx pgx.Tx, p *auth.Principal, m auth.LoginMeta,
	changes map[string]audit.Change, details map[string]any, update string, args ...any) error {
	rows, err := tx.Query(ctx, update, args...)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	for _, id := range ids {
		e := actorEntry(p, m, "deal.update", "deal", id)
		e.Changes = changes
		e.Details = details
		if err := writeAudit(ctx, tx, p.TenantID, e); err != nil {
			return err
		}
	}
	return nil
}

// namedArgs replaces named placeholders of a shared SQL fragment.
func namedArgs(sql string, args map[string]string) string {
	for k, v := range args {
		sql = strings.ReplaceAll(sql, k, v)
	}
	return sql
}

// DeleteStage removes a stage. Its deals, live and trashed, move to moveTo,
// which must be another stage of the same pipeline; without moveTo a stage
// with deals stays. The last stage of a pipeline stays too.
func (s *CRMService) DeleteStage(ctx context.Context, p *auth.Principal, pipelineID, stageID uuid.UUID, moveTo *uuid.UUID, m auth.LoginMeta) (*crm.Pipeline, error) {
	if _, err := scope(p, auth.PermPipelinesManage); err != nil {
		return nil, err
	}
	return s.changePipeline(ctx, p, pipelineID, func(tx pgx.Tx, pl *crm.Pipeline) (*crm.Pipeline, error) {
		st := findStage(pl, stageID)
		if st == nil {
			return nil, &rpcrm.Error{Code: rpcrm.ENOTFOUND, Message: stageNotFound}
		}
		if len(pl.Stages) == 1 {
			return nil, rpcrm.Errorf(rpcrm.ECONFLICT, "Eine Pipeline braucht mindestens eine Phase.")
		}
		var target *crm.Stage
		if moveTo != nil {
			if target = findStage(pl, *moveTo); target == nil || target.ID == stageID {
				return nil, rpcrm.FieldError("move_to", "Erwartet eine andere Phase derselben Pipeline.")
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM deals WHERE tenant_id = $1 AND stage_id = $2`, p.TenantID, stageID).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 && target == nil {
			return nil, rpcrm.Errorf(rpcrm.ECONFLICT, "Die Phase «%s» enthält %d Verkaufschance(n) (auch im Papierkorb). "+
				"Geben Sie mit move_to an, in welche Phase sie verschoben werden sollen.", st.Name, n)
		}
		if n > 0 {
			if err := moveStageDeals(ctx, tx, p, m, st, target); err != nil {
				return nil, err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM stages WHERE tenant_id = $1 AND id = $2`, p.TenantID, stageID); err != nil {
			return nil, mapError(err)
		}
		rest := slices.DeleteFunc(stageIDs(pl), func(id uuid.UUID) bool { return id == stageID })
		if err := orderStages(ctx, tx, p.TenantID, pipelineID, rest); err != nil {
			return nil, err
		}
		out, err := getPipeline(ctx, tx, p.TenantID, pipelineID, false)
		if err != nil {
			return nil, err
		}
		e := stageEntry(p, m, "stage.delete", stageID, pipelineID)
		e.Changes = audit.Diff(stageFields(st), nil)
		e.Details["moved_deals"] = n
		if target != nil {
			e.Details["move_to"] = target.ID
		}
		return out, writeAudit(ctx, tx, p.TenantID, e)
	})
}

// moveStageDeals moves every deal of stage from to stage to (same
// pipeline), with the status rules of the new stage, and audits each move.
func moveStageDeals(ctx context.Context, tx pgx.Tx, p *auth.Principal, m auth.LoginMeta, from, to *crm.Stage) error {
	changes := map[string]audit.Change{"stage_id": {Before: from.ID, After: to.ID}}
	if from.Kind != to.Kind {
		changes["status"] = audit.Change{Before: from.Kind, After: to.Kind}
	}
	return updateStageDeals(ctx, tx, p, m, changes, map[string]any{"reason": "stage.delete"},
		`UPDATE deals SET stage_id = $3, stage_changed_at = now(), `+
			namedArgs(stageStatusSQL, map[string]string{"$kind": "$4::text", "$reason": "$5"})+`,
		updated_at = now(), updated_by = $6, version = version + 1
		WHERE tenant_id = $1 AND stage_id = $2 RETURNING id`,
		p.TenantID, from.ID, to.ID, to.Kind, "Phase «"+from.Name+"» gelöscht", actorID(p))
}

// ReorderStages puts all stages of a pipeline in the given order; the list
// must name each stage exactly once.
func (s *CRMService) ReorderStages(ctx context.Context, p *auth.Principal, pipelineID uuid.UUID, in crm.StageOrder, m auth.LoginMeta) (*crm.Pipeline, error) {
	if _, err := scope(p, auth.PermPipelinesManage); err != nil {
		return nil, err
	}
	return s.changePipeline(ctx, p, pipelineID, func(tx pgx.Tx, before *crm.Pipeline) (*crm.Pipeline, error) {
		if err := checkVersion(in.Version, before.Version); err != nil {
			return nil, err
		}
		have := stageIDs(before)
		want := slices.Clone(in.StageIDs)
		slices.SortFunc(have, compareIDs)
		slices.SortFunc(want, compareIDs)
		if !slices.Equal(have, want) {
			return nil, rpcrm.FieldError("stage_ids", "Erwartet jede Phase der Pipeline genau einmal.")
		}
		if slices.Equal(stageIDs(before), in.StageIDs) {
			return before, nil
		}
		if err := orderStages(ctx, tx, p.TenantID, pipelineID, in.StageIDs); err != nil {
			return nil, err
		}
		out, err := getPipeline(ctx, tx, p.TenantID, pipelineID, false)
		if err != nil {
			return nil, err
		}
		e := actorEntry(p, m, "stage.reorder", "pipeline", pipelineID)
		e.Changes = audit.Diff(map[string]any{"stages": pipelineFields(before)["stages"]}, map[string]any{"stages": pipelineFields(out)["stages"]})
		return out, writeAudit(ctx, tx, p.TenantID, e)
	})
}

func compareIDs(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) }

// Board returns a pipeline with, per stage, the number of live deals p may
// see, their total per currency and the first perStage of them (by expected
// close, undated last).
func (s *CRMService) Board(ctx context.Context, p *auth.Principal, pipelineID uuid.UUID, perStage int) (*crm.Board, error) {
	if _, err := scope(p, deals.read); err != nil {
		return nil, err
	}
	if perStage < 0 || perStage > crm.MaxBoardDeals {
		return nil, rpcrm.FieldError("limit", fmt.Sprintf("Erwartet eine Zahl von 0 bis %d.", crm.MaxBoardDeals))
	}
	var b *crm.Board
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		pl, err := getPipeline(ctx, tx, p.TenantID, pipelineID, false)
		if err != nil {
			return err
		}
		b = &crm.Board{Pipeline: pl, Stages: make([]crm.BoardStage, len(pl.Stages))}
		col := map[uuid.UUID]*crm.BoardStage{}
		for i, st := range pl.Stages {
			b.Stages[i] = crm.BoardStage{Stage: st, Totals: []crm.MoneyAmount{}, Deals: []*crm.Deal{}}
			col[st.ID] = &b.Stages[i]
		}

		q := &query{}
		q.add(`SELECT stage_id, currency, count(*), coalesce(sum(amount), 0.00)::text FROM deals
			WHERE tenant_id = ` + q.arg(p.TenantID) + ` AND pipeline_id = ` + q.arg(pipelineID) + ` AND deleted_at IS NULL`)
		if err := ownerFilter(q, p, deals.read, "owner_id"); err != nil {
			return err
		}
		q.add(" GROUP BY stage_id, currency ORDER BY stage_id, currency")
		rows, err := tx.Query(ctx, q.String(), q.args...)
		if err != nil {
			return err
		}
		var stageID uuid.UUID
		var currency, total string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&stageID, &currency, &n, &total}, func() error {
			if c := col[stageID]; c != nil {
				c.Count += n
				c.Totals = append(c.Totals, crm.MoneyAmount{Currency: currency, Amount: total})
			}
			return nil
		})
		if err != nil || perStage == 0 {
			return err
		}

		q = &query{}
		q.add("SELECT " + dealColumns + " FROM deals WHERE tenant_id = " + q.arg(p.TenantID) + " AND id IN (" +
			"SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY stage_id ORDER BY coalesce(expected_close, 'infinity'::date), id) AS rn" +
			" FROM deals WHERE tenant_id = " + q.arg(p.TenantID) + " AND pipeline_id = " + q.arg(pipelineID) + " AND deleted_at IS NULL")
		if err := ownerFilter(q, p, deals.read, "owner_id"); err != nil {
			return err
		}
		q.add(") x WHERE rn <= " + q.arg(perStage) + ") ORDER BY coalesce(expected_close, 'infinity'::date), id")
		rows, err = tx.Query(ctx, q.String(), q.args...)
		if err != nil {
			return err
		}
		ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*crm.Deal, error) { return scanDeal(r) })
		if err != nil {
			return err
		}
		for _, d := range ds {
			if c := col[d.StageID]; c != nil {
				c.Deals = append(c.Deals, d)
			}
		}
		return nil
	})
	return b, err
}
