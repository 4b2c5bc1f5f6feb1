package crm

import (
	"context"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// Company is a firm (Firma) the tenant does business with.
type Company struct {
	Meta
	Name     string  `json:"name"`
	UID      *string `json:"uid"`
	Website  string  `json:"website"`
	Email    string  `json:"email"`
	Phone    string  `json:"phone"`
	Address  Address `json:"address"`
	Industry string  `json:"industry"`
}

// CompanySortable are the fields a company list can be sorted by.
var CompanySortable = []string{"name", "created_at", "updated_at", "city"}

// CompanyInput creates or changes a company; nil fields stay as they are.
type CompanyInput struct {
	Name     *string    `json:"name"`
	UID      *string    `json:"uid"`
	Website  *string    `json:"website"`
	Email    *string    `json:"email"`
	Phone    *string    `json:"phone"`
	Address  *Address   `json:"address"`
	Industry *string    `json:"industry"`
	Tags     *[]string  `json:"tags"`
	OwnerID  *uuid.UUID `json:"owner_id"`
	Custom   Custom     `json:"custom_fields"`
	// Version is the version the client last read; 0 means "don't check".
	Version int `json:"version"`
}

// Apply sets the input's fields on c, normalises them and validates the
// whole result, so that a record never holds an invalid combination.
func (in *CompanyInput) Apply(c *Company) error {
	v := validation{map[string]string{}}
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if in.UID != nil {
		if u := strings.TrimSpace(*in.UID); u == "" {
			c.UID = nil
		} else if norm, err := NormalizeUID(u); err != nil {
			v.add("uid", err.Error())
		} else {
			c.UID = &norm
		}
	}
	if in.Website != nil {
		c.Website = normalizeWebsite(v, *in.Website)
	}
	if in.Email != nil {
		c.Email = normalizeEmail(v, "email", *in.Email)
	}
	if in.Phone != nil {
		p, err := NormalizePhone(*in.Phone)
		if err != nil {
			v.add("phone", err.Error())
		}
		c.Phone = p
	}
	if in.Address != nil {
		c.Address = *in.Address
	}
	c.Address.normalize()
	if in.Industry != nil {
		c.Industry = strings.TrimSpace(*in.Industry)
	}
	if in.Tags != nil {
		c.Tags = normalizeTags(v, *in.Tags)
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if in.OwnerID != nil {
		id := *in.OwnerID
		c.OwnerID = &id
	}
	v.required("name", c.Name, "Der Name fehlt.")
	v.maxLen("name", c.Name, 200)
	v.maxLen("industry", c.Industry, 100)
	c.Address.validate(v, "address.")
	return v.Err()
}

// normalizeWebsite accepts "example.ch" or a full http(s) URL and returns a URL.
func normalizeWebsite(v validation, s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.Contains(u.Host, ".") || len(s) > 300 {
		v.add("website", "Die Webadresse ist ungültig, z. B. https://www.beispiel.ch.")
		return s
	}
	return u.String()
}

// CompanyFilter narrows a company list beyond the common options.
type CompanyFilter struct {
	ListParams
	City     string
	Canton   string
	Industry string
}

// CompanyService manages companies. Every method checks the principal's
// permission scope in its query: with "own" only the user's records exist.
type CompanyService interface {
	ListCompanies(ctx context.Context, p *auth.Principal, f CompanyFilter) (*Page[*Company], error)
	Company(ctx context.Context, p *auth.Principal, id uuid.UUID) (*Company, error)
	CreateCompany(ctx context.Context, p *auth.Principal, in CompanyInput, m auth.LoginMeta) (*Company, error)
	UpdateCompany(ctx context.Context, p *auth.Principal, id uuid.UUID, in CompanyInput, m auth.LoginMeta) (*Company, error)
	DeleteCompany(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
	RestoreCompany(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*Company, error)
	PurgeCompany(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
}
