package crm

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// Dashboard holds the figures of the start page for one user. Each part is
// nil when the user lacks the permission it needs (deals:read for the
// pipeline value and the closed deals, activities:read for the tasks), and
// every figure counts only the records the user may read (scope own/all).
type Dashboard struct {
	// Pipelines is the open value of each pipeline by its open stages.
	Pipelines []PipelineValue `json:"pipelines"`
	// Closed counts the deals won and lost this month and this quarter.
	Closed *ClosedDeals `json:"closed"`
	// Tasks counts the user's own open tasks that are overdue or due today.
	Tasks *TaskCounts `json:"tasks"`
	// Recent lists the companies, contacts and deals changed last.
	Recent []RecentRecord `json:"recent"`
}

// PipelineValue is the open deals of one pipeline, stage by stage (the open
// stages only, in their order).
type PipelineValue struct {
	Pipeline *Pipeline  `json:"pipeline"`
	Stages   []StageSum `json:"stages"`
	Total    DealSum    `json:"total"`
}

// StageSum is the number and value of the deals in one stage.
type StageSum struct {
	Stage *Stage `json:"stage"`
	DealSum
}

// DealSum counts deals and sums their amounts per currency (deals without
// an amount count, but add nothing).
type DealSum struct {
	Count  int           `json:"count"`
	Totals []MoneyAmount `json:"totals"`
}

// Amount returns the sum in one currency ("0.00" if there is none).
func (s DealSum) Amount(currency string) string {
	for _, t := range s.Totals {
		if t.Currency == currency {
			return t.Amount
		}
	}
	return "0.00"
}

// Others returns the sums in currencies other than the given one.
func (s DealSum) Others(currency string) []MoneyAmount {
	var out []MoneyAmount
	for _, t := range s.Totals {
		if t.Currency != currency {
			out = append(out, t)
		}
	}
	return out
}

// ClosedDeals are the deals won and lost in the current month and quarter
// of the tenant's time zone (by the time they were won or lost).
type ClosedDeals struct {
	MonthStart   time.Time `json:"month_start"`
	QuarterStart time.Time `json:"quarter_start"`
	WonMonth     DealSum   `json:"won_month"`
	LostMonth    DealSum   `json:"lost_month"`
	WonQuarter   DealSum   `json:"won_quarter"`
	LostQuarter  DealSum   `json:"lost_quarter"`
}

// TaskCountCap bounds each task count: TaskCountCap means "that many or more".
const TaskCountCap = 100

// TaskCounts are the user's open tasks (assigned to them) that are overdue
// (due before now) or due later today, each at most TaskCountCap.
type TaskCounts struct {
	Overdue  int `json:"overdue"`
	DueToday int `json:"due_today"`
}

// RecentRecord is a company, contact or deal with the time of its last change.
type RecentRecord struct {
	Entity    string    `json:"entity"` // EntityCompany, EntityContact or EntityDeal
	ID        uuid.UUID `json:"id"`
	Title     string    `json:"title"`
	UpdatedAt time.Time `json:"updated_at"`
	// UpdatedBy is the name of the user who changed it last ("" if unknown).
	UpdatedBy string `json:"updated_by"`
}

// DashboardQuery sets the moment and the time zone the periods are counted
// in, and how many recently changed records to list.
type DashboardQuery struct {
	Now      time.Time
	Location *time.Location
	// Recent is the number of recently changed records (default 10, at most 50).
	Recent int
}

// Periods returns the bounds of the query's day, month and quarter in its
// time zone: [dayStart, dayEnd), [monthStart, monthEnd), [quarterStart, quarterEnd).
func (q DashboardQuery) Periods() (dayEnd, monthStart, monthEnd, quarterStart, quarterEnd time.Time) {
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	now := q.Now.In(loc)
	y, m, d := now.Date()
	dayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	monthStart = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	monthEnd = monthStart.AddDate(0, 1, 0)
	qm := time.Month((int(m)-1)/3*3 + 1)
	quarterStart = time.Date(y, qm, 1, 0, 0, 0, 0, loc)
	quarterEnd = quarterStart.AddDate(0, 3, 0)
	return
}

// DashboardService computes the start page's figures.
type DashboardService interface {
	Dashboard(ctx context.Context, p *auth.Principal, q DashboardQuery) (*Dashboard, error)
}

// NameService looks up the display names of records, for lists that show
// a deal's company or an activity's contact without loading each record.
type NameService interface {
	// RecordNames returns the names of the live companies, contacts or
	// deals (entity EntityCompany, EntityContact, EntityDeal) among ids
	// that p may read; others are left out (no error).
	RecordNames(ctx context.Context, p *auth.Principal, entity string, ids []uuid.UUID) (map[uuid.UUID]string, error)
	// ListChoices reads what a list's filters and a record's form offer,
	// at once: the tenant's users (owners), its tags, and, when companies
	// is above 0, up to that many companies p may read.
	ListChoices(ctx context.Context, p *auth.Principal, companies int) (*ListChoices, error)
}

// ListChoices are the choices of a list's filters.
type ListChoices struct {
	Users []UserChoice // every user of the tenant by name, disabled ones too
	Tags  []*Tag       // by name, without their usage
	// Companies are the companies by name when asked for; CompaniesMore
	// reports that there are more than were asked for.
	Companies     []NamedRecord
	CompaniesMore bool
}

// UserChoice is a user as an owner to filter by or to assign.
type UserChoice struct {
	ID       uuid.UUID
	Name     string
	Disabled bool
}

// NamedRecord is a record's ID and display name.
type NamedRecord struct {
	ID   uuid.UUID
	Name string
}
