package crm

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// Stage kinds: a deal in a won or lost stage is closed.
const (
	StageOpen = "open"
	StageWon  = "won"
	StageLost = "lost"
)

// Stage is one step of a pipeline (Phase). Positions within a pipeline are
// dense and unique: 0, 1, 2, …
type Stage struct {
	ID          uuid.UUID `json:"id"`
	PipelineID  uuid.UUID `json:"pipeline_id"`
	Name        string    `json:"name"`
	Position    int       `json:"position"`
	Kind        string    `json:"kind"`
	Probability int       `json:"probability"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int       `json:"version"`
}

// Pipeline is a sales process with its stages in order.
type Pipeline struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Position  int       `json:"position"`
	Stages    []*Stage  `json:"stages"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

// DefaultPipelineName is the pipeline every tenant starts with.
const DefaultPipelineName = "Verkauf"

// DefaultStages are the stages of a new pipeline unless others are given.
func DefaultStages() []Stage {
	return []Stage{
		{Name: "Neu", Kind: StageOpen, Probability: 10},
		{Name: "Qualifiziert", Kind: StageOpen, Probability: 25},
		{Name: "Angebot", Kind: StageOpen, Probability: 50},
		{Name: "Verhandlung", Kind: StageOpen, Probability: 75},
		{Name: "Gewonnen", Kind: StageWon, Probability: 100},
		{Name: "Verloren", Kind: StageLost, Probability: 0},
	}
}

// PipelineInput creates or changes a pipeline; nil fields stay as they are.
type PipelineInput struct {
	Name *string `json:"name"`
	// Position moves the pipeline among the tenant's pipelines.
	Position *int `json:"position"`
	// Stages are the stages of a new pipeline (default: DefaultStages); on
	// update they are refused — stages have their own endpoints.
	Stages []StageInput `json:"stages"`
	// Version is the version the client last read; 0 means "don't check".
	Version int `json:"version"`
}

// Apply sets the input's fields on pl and validates the result.
func (in *PipelineInput) Apply(pl *Pipeline, create bool) error {
	v := validation{map[string]string{}}
	if in.Name != nil {
		pl.Name = strings.TrimSpace(*in.Name)
	}
	v.required("name", pl.Name, "Der Name fehlt.")
	v.maxLen("name", pl.Name, 100)
	if in.Position != nil && *in.Position < 0 {
		v.add("position", "Erwartet eine Zahl ab 0.")
	}
	if !create && in.Stages != nil {
		v.add("stages", "Phasen werden einzeln unter /pipelines/{id}/stages geändert.")
	}
	if create && in.Stages != nil && len(in.Stages) == 0 {
		v.add("stages", "Eine Pipeline braucht mindestens eine Phase.")
	}
	if len(in.Stages) > 50 {
		v.add("stages", "Höchstens 50 Phasen.")
	}
	seen := map[string]bool{}
	for i, si := range in.Stages {
		var s Stage
		if err := si.apply(v, &s, "stages["+itoa(i)+"]."); err == nil {
			if seen[strings.ToLower(s.Name)] {
				v.add("stages["+itoa(i)+"].name", "Diese Phase gibt es schon.")
			}
			seen[strings.ToLower(s.Name)] = true
		}
	}
	return v.Err()
}

// StageInput creates or changes a stage; nil fields stay as they are.
type StageInput struct {
	Name *string `json:"name"`
	Kind *string `json:"kind"`
	// Probability defaults for a new stage by kind: won 100, otherwise 0.
	Probability *int `json:"probability"`
	// Position moves the stage; the others close ranks (clamped to the end).
	Position *int `json:"position"`
	Version  int  `json:"version"`
}

// Apply sets the input's fields on s and validates the result.
func (in *StageInput) Apply(s *Stage) error {
	v := validation{map[string]string{}}
	in.apply(v, s, "")
	return v.Err()
}

func (in *StageInput) apply(v validation, s *Stage, prefix string) error {
	before := len(v.Validation)
	if in.Name != nil {
		s.Name = strings.TrimSpace(*in.Name)
	}
	if in.Kind != nil {
		s.Kind = strings.TrimSpace(*in.Kind)
	}
	if s.Kind == "" {
		s.Kind = StageOpen
	}
	if s.ID == uuid.Nil && in.Probability == nil && s.Kind == StageWon {
		s.Probability = 100
	}
	if in.Probability != nil {
		s.Probability = *in.Probability
	}
	v.required(prefix+"name", s.Name, "Der Name der Phase fehlt.")
	v.maxLen(prefix+"name", s.Name, 100)
	if s.Kind != StageOpen && s.Kind != StageWon && s.Kind != StageLost {
		v.add(prefix+"kind", "Erwartet open, won oder lost.")
	}
	if s.Probability < 0 || s.Probability > 100 {
		v.add(prefix+"probability", "Erwartet eine Zahl von 0 bis 100.")
	}
	if in.Position != nil && *in.Position < 0 {
		v.add(prefix+"position", "Erwartet eine Zahl ab 0.")
	}
	if len(v.Validation) > before {
		return v.Err()
	}
	return nil
}

// StageOrder reorders all stages of a pipeline at once.
type StageOrder struct {
	StageIDs []uuid.UUID `json:"stage_ids"`
	Version  int         `json:"version"`
}

// Board is a pipeline as the UI shows it: each stage with its deals.
type Board struct {
	Pipeline *Pipeline    `json:"pipeline"`
	Stages   []BoardStage `json:"stages"`
}

// BoardStage is one column of a board: the number of live deals in the
// stage, their total per currency and the first of them.
type BoardStage struct {
	Stage  *Stage        `json:"stage"`
	Count  int           `json:"count"`
	Totals []MoneyAmount `json:"totals"`
	Deals  []*Deal       `json:"deals"`
}

// MoneyAmount is a sum of money in one currency.
type MoneyAmount struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// MaxBoardDeals bounds the deals per stage of a board.
const MaxBoardDeals = 100

// PipelineService manages pipelines and their stages. Reading needs
// deals:read, changing pipelines:manage.
type PipelineService interface {
	ListPipelines(ctx context.Context, p *auth.Principal) ([]*Pipeline, error)
	Pipeline(ctx context.Context, p *auth.Principal, id uuid.UUID) (*Pipeline, error)
	CreatePipeline(ctx context.Context, p *auth.Principal, in PipelineInput, m auth.LoginMeta) (*Pipeline, error)
	UpdatePipeline(ctx context.Context, p *auth.Principal, id uuid.UUID, in PipelineInput, m auth.LoginMeta) (*Pipeline, error)
	DeletePipeline(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
	CreateStage(ctx context.Context, p *auth.Principal, pipelineID uuid.UUID, in StageInput, m auth.LoginMeta) (*Pipeline, error)
	UpdateStage(ctx context.Context, p *auth.Principal, pipelineID, stageID uuid.UUID, in StageInput, m auth.LoginMeta) (*Pipeline, error)
	// DeleteStage removes a stage; its deals (live and trashed) move to
	// moveTo, which is required when there are any.
	DeleteStage(ctx context.Context, p *auth.Principal, pipelineID, stageID uuid.UUID, moveTo *uuid.UUID, m auth.LoginMeta) (*Pipeline, error)
	ReorderStages(ctx context.Context, p *auth.Principal, pipelineID uuid.UUID, in StageOrder, m auth.LoginMeta) (*Pipeline, error)
	// Board returns the pipeline's stages with up to perStage live deals each
	// that p may see.
	Board(ctx context.Context, p *auth.Principal, pipelineID uuid.UUID, perStage int) (*Board, error)
}
