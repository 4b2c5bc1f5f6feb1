package httpapi

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/httpserver"
)

// DefaultMaxUploadBytes is the largest document when API.MaxUploadBytes is 0.
const DefaultMaxUploadBytes = 25 << 20

// multipartOverhead is what an upload's body may hold besides the file:
// part headers, boundaries and the link fields.
const multipartOverhead = 64 << 10

func (a *API) maxUpload() int64 { return cmp.Or(a.MaxUploadBytes, DefaultMaxUploadBytes) }

// transferTime is how long one document may take to arrive or to be sent.
// The server's read and write timeouts (15 s and 30 s by default) suit JSON,
// not 25 MB over a slow line; only callers the guard has let through get
// the longer time.
const transferTime = 15 * time.Minute

// uploadDocument takes a multipart/form-data body with the part "file" and
// one of company_id, contact_id or deal_id. The content is streamed to the
// file store first, under a new ID, and the record created afterwards; if
// that fails, the file is removed again, so there is never a file without a
// record for long, and never a record without its file.
func (a *API) uploadDocument(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if a.Files == nil {
		a.fail(w, r, rpcrm.Errorf(rpcrm.EUNAVAILABLE, "Die Dokumentablage ist nicht eingerichtet."))
		return
	}
	// Not every ResponseWriter supports deadlines (tests); the server's
	// default then applies.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(transferTime))
	mr, err := r.MultipartReader()
	if err != nil {
		a.fail(w, r, rpcrm.FieldError("file", `Erwartet multipart/form-data mit dem Feld "file".`))
		return
	}
	id, err := uuid.NewV7()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in := crm.DocumentInput{ID: id}
	stored, keep := false, false
	defer func() {
		if stored && !keep {
			if err := a.Files.Remove(p.TenantID, id); err != nil {
				a.Log.ErrorContext(r.Context(), "remove unrecorded upload", "err", err, "document_id", id)
			}
		}
	}()
	v := rpcrm.Validation{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			a.uploadFailed(w, r, err)
			return
		}
		switch name := part.FormName(); name {
		case "file":
			if stored {
				a.fail(w, r, rpcrm.FieldError("file", "Nur eine Datei pro Anfrage."))
				return
			}
			st, err := a.Files.Put(p.TenantID, id, part, a.maxUpload())
			if err != nil {
				a.uploadFailed(w, r, err)
				return
			}
			stored = true
			// FileName is only ever shown and offered for download; the
			// store's path is made of the two IDs.
			in.FileName, in.Size, in.SHA256, in.ContentType = part.FileName(), st.Size, st.SHA256, st.ContentType
		case "company_id", "contact_id", "deal_id":
			b, err := io.ReadAll(io.LimitReader(part, 100))
			if err != nil {
				a.uploadFailed(w, r, err)
				return
			}
			ref, err := uuid.Parse(strings.TrimSpace(string(b)))
			if err != nil {
				v.Add(name, "Keine gültige ID.")
				break
			}
			switch name {
			case "company_id":
				in.CompanyID = &ref
			case "contact_id":
				in.ContactID = &ref
			default:
				in.DealID = &ref
			}
		default:
			v.Add(cmp.Or(name, "(ohne Namen)"), "Unbekanntes Feld.")
		}
		part.Close()
	}
	if !stored {
		v.Add("file", `Die Datei fehlt (Feld "file").`)
	}
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.CRM.CreateDocument(r.Context(), p, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	keep = true
	etag(w, d.Version)
	w.Header().Set("Location", "/api/v1/documents/"+d.ID.String())
	httpserver.JSON(w, http.StatusCreated, d)
}

// uploadFailed answers an upload that could not be read or stored: too
// large (413), malformed or cut off (422), or a fault of the server's disk.
func (a *API) uploadFailed(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *filestore.TooLargeError
	var maxBytes *http.MaxBytesError
	var pathErr *fs.PathError
	switch {
	case errors.As(err, &tooLarge), errors.As(err, &maxBytes):
		httpserver.WriteProblem(w, httpserver.Localize(r, httpserver.Problem{
			Type: "https://rpcrm.ch/problems/too_large", Title: "Datei zu gross", Status: http.StatusRequestEntityTooLarge,
			Detail:   fmt.Sprintf("Datei zu gross (höchstens %s).", humanSize(a.maxUpload())),
			Instance: r.URL.Path, Code: "too_large", RequestID: httpserver.RequestInfo(r.Context()).RequestID}))
	case errors.As(err, &pathErr):
		a.fail(w, r, fmt.Errorf("store upload: %w", err))
	default:
		a.fail(w, r, &rpcrm.Error{Code: rpcrm.EINVALID, Message: "Die Datei kam nicht vollständig oder nicht als gültiges multipart/form-data an."})
	}
}

// humanSize writes a limit the way people read it: "25 MB".
func humanSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d Bytes", n)
}

// downloadDocument sends a document's content, always as an attachment and
// with the sniffed type, so that an uploaded HTML page or SVG never runs in
// the application's origin.
func (a *API) downloadDocument(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.CRM.Document(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.Files == nil {
		a.fail(w, r, rpcrm.Errorf(rpcrm.EUNAVAILABLE, "Die Dokumentablage ist nicht eingerichtet."))
		return
	}
	f, err := a.Files.Open(p.TenantID, d.ID)
	if err != nil {
		a.fail(w, r, fmt.Errorf("open content of document %s: %w", d.ID, err))
		return
	}
	defer f.Close()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(transferTime))
	h := w.Header()
	h.Set("Content-Type", d.ContentType)
	h.Set("Content-Disposition", contentDisposition(d.FileName))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-cache")
	// The content never changes, so its hash is a strong validator.
	h.Set("ETag", `"`+d.SHA256+`"`)
	http.ServeContent(w, r, "", d.CreatedAt, f)
}

// contentDisposition builds an attachment header for a file name.
func contentDisposition(name string) string {
	return httpserver.ContentDisposition(crm.SanitizeFileName(name))
}

// documentFilter reads the document filters: company_id, contact_id and deal_id.
func documentFilter(q url.Values, lp crm.ListParams, v rpcrm.Validation) crm.DocumentFilter {
	return crm.DocumentFilter{ListParams: lp,
		CompanyID: queryID(q.Get("company_id"), "company_id", v),
		ContactID: queryID(q.Get("contact_id"), "contact_id", v),
		DealID:    queryID(q.Get("deal_id"), "deal_id", v)}
}

// documentRoutes are the document endpoints. Only the upload takes a body
// larger than the API's general limit.
func (a *API) documentRoutes() []Route {
	documents := crmResource(a, "/api/v1/documents", func(d *crm.Document) (uuid.UUID, int) { return d.ID, d.Version })
	upload := perm("POST", "/api/v1/documents", auth.PermDocumentsWrite, a.uploadDocument)
	upload.MaxBody = a.maxUpload() + multipartOverhead
	return []Route{
		perm("GET", "/api/v1/documents", auth.PermDocumentsRead, listRecords(documents, CRM.ListDocuments, documentFilter, false)),
		upload,
		perm("GET", "/api/v1/documents/trash", auth.PermDocumentsDelete, listRecords(documents, CRM.ListDocuments, documentFilter, true)),
		// The purge deletes the record; the service removes the file after the commit.
		perm("DELETE", "/api/v1/documents/trash/{id}", auth.PermDocumentsDelete, removeRecord(a, CRM.PurgeDocument)),
		perm("GET", "/api/v1/documents/{id}", auth.PermDocumentsRead, getRecord(documents, CRM.Document)),
		perm("GET", "/api/v1/documents/{id}/content", auth.PermDocumentsRead, a.downloadDocument),
		perm("DELETE", "/api/v1/documents/{id}", auth.PermDocumentsDelete, removeRecord(a, CRM.DeleteDocument)),
		perm("POST", "/api/v1/documents/{id}/restore", auth.PermDocumentsDelete, restoreRecord(documents, CRM.RestoreDocument)),
	}
}
