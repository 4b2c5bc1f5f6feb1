package crm

import (
	"context"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// CustomFieldService manages the custom field definitions of a tenant.
// Everyone logged in may read them (forms need them); changing them needs
// settings:manage.
type CustomFieldService interface {
	// CustomFields lists the definitions of one entity, or of all for "".
	CustomFields(ctx context.Context, p *auth.Principal, entity string) ([]*CustomField, error)
	CreateCustomField(ctx context.Context, p *auth.Principal, in CustomFieldInput, m auth.LoginMeta) (*CustomField, error)
	UpdateCustomField(ctx context.Context, p *auth.Principal, id uuid.UUID, in CustomFieldInput, m auth.LoginMeta) (*CustomField, error)
	// DeleteCustomField removes a definition and its values from every
	// record of its entity.
	DeleteCustomField(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
}
