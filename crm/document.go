package crm

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// Document is a file attached to a company, a contact or a deal. The
// content lives in a file store under the document's ID; the record holds
// what is known about it.
type Document struct {
	ID       uuid.UUID `json:"id"`
	FileName string    `json:"file_name"`
	// ContentType is sniffed from the content when it is uploaded; what the
	// client claimed is never believed.
	ContentType string     `json:"content_type"`
	Size        int64      `json:"size"`
	SHA256      string     `json:"sha256"`
	CompanyID   *uuid.UUID `json:"company_id"`
	ContactID   *uuid.UUID `json:"contact_id"`
	DealID      *uuid.UUID `json:"deal_id"`
	// OwnerID is the uploader; with scope "own" users see only their uploads.
	OwnerID   *uuid.UUID `json:"owner_id"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	Version   int        `json:"version"`
}

// DocumentSortable are the fields a document list can be sorted by.
var DocumentSortable = []string{"created_at", "file_name", "size"}

// DocumentInput records an uploaded file. The caller has already stored
// the content under ID and measured it.
type DocumentInput struct {
	ID          uuid.UUID
	FileName    string
	ContentType string
	Size        int64
	SHA256      string
	CompanyID   *uuid.UUID
	ContactID   *uuid.UUID
	DealID      *uuid.UUID
}

// maxFileName bounds stored names in characters; file systems allow 255 bytes.
const maxFileName = 200

// Validate normalises the file name and checks the input: exactly one
// linked record, and a measured file.
func (in *DocumentInput) Validate() error {
	v := validation{map[string]string{}}
	in.FileName = SanitizeFileName(in.FileName)
	n := 0
	for _, id := range []*uuid.UUID{in.CompanyID, in.ContactID, in.DealID} {
		if id != nil {
			n++
		}
	}
	if n != 1 {
		v.add("company_id", "Geben Sie genau eine Verknüpfung an: company_id, contact_id oder deal_id.")
	}
	if in.ID == uuid.Nil || in.Size < 0 || len(in.SHA256) != 64 || in.ContentType == "" {
		v.add("file", "Die Datei fehlt oder ist unvollständig.")
	}
	return v.Err()
}

// SanitizeFileName turns a client's file name into one that is safe to
// show and to offer for download: without any directory part, control or
// bidirectional formatting characters (which can disguise "exe.pdf" as
// "fdp.exe"), surrounding blanks and dots, and at most 200 characters,
// keeping the extension. An empty result becomes "Dokument".
func SanitizeFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		if unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	if utf8.RuneCountInString(name) > maxFileName {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && utf8.RuneCountInString(name[i:]) <= 16 {
			ext = name[i:]
		}
		stem := []rune(strings.TrimSuffix(name, ext))
		name = strings.TrimRight(string(stem[:maxFileName-utf8.RuneCountInString(ext)]), " .") + ext
	}
	if name == "" {
		return "Dokument"
	}
	return name
}

// DocumentFilter narrows a document list to one linked record.
type DocumentFilter struct {
	ListParams
	CompanyID *uuid.UUID
	ContactID *uuid.UUID
	DealID    *uuid.UUID
}

// DocumentService manages the records of documents; storing the content
// is the caller's part. Every method checks the principal's scope in its
// query: with "own" only the user's uploads exist.
type DocumentService interface {
	ListDocuments(ctx context.Context, p *auth.Principal, f DocumentFilter) (*Page[*Document], error)
	Document(ctx context.Context, p *auth.Principal, id uuid.UUID) (*Document, error)
	// CreateDocument records a stored file; the linked record must be live
	// and visible to p.
	CreateDocument(ctx context.Context, p *auth.Principal, in DocumentInput, m auth.LoginMeta) (*Document, error)
	DeleteDocument(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
	RestoreDocument(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*Document, error)
	// PurgeDocument deletes a trashed document's record for good and then
	// its content.
	PurgeDocument(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
}

// ContentRemover removes a document's stored content (filestore.Store).
type ContentRemover interface {
	Remove(tenantID, id uuid.UUID) error
}
