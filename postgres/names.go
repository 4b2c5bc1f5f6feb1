package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/auth"
)

// CompanyNames returns the names of the live companies among ids that p
// may read, in one query.
func (s *CRMService) CompanyNames(ctx context.Context, p *auth.Principal, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := make(map[uuid.UUID]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if _, ok := p.Can(auth.PermCompaniesRead); !ok {
		return out, nil
	}
	q := &query{}
	q.add("SELECT id, name FROM companies WHERE tenant_id = " + q.arg(p.TenantID) + " AND deleted_at IS NULL AND id = ANY(" + q.arg(ids) + ")")
	if err := ownerFilter(q, p, auth.PermCompaniesRead, "owner_id"); err != nil {
		return nil, err
	}
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q.String(), q.args...)
		if err != nil {
			return err
		}
		var id uuid.UUID
		var name string
		_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
			out[id] = name
			return nil
		})
		return err
	})
	return out, err
}
