package crm

import (
	"context"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// NameService looks up the names of linked records for lists, so that a
// page of 50 contacts shows their companies with one query, not 50.
type NameService interface {
	// CompanyNames returns the names of those live companies among ids
	// that p may read (within their scope); the others are missing from
	// the map. Without companies:read the map is empty.
	CompanyNames(ctx context.Context, p *auth.Principal, ids []uuid.UUID) (map[uuid.UUID]string, error)
}
