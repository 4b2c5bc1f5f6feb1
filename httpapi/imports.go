package httpapi

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/httpserver"
)

// importHandler takes a multipart/form-data body with the part "file" and
// the optional fields mapping (JSON), dry_run, mode and duplicates. The
// file is spooled to a temporary file first, so that the form fields may
// come in any order and the upload never sits in memory; the import then
// streams it from there.
func (a *API) importHandler(write auth.Permission, run func(r *http.Request, p *auth.Principal, f io.Reader, o crm.ImportOptions) (*crm.ImportResult, error)) func(http.ResponseWriter, *http.Request, *auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if _, ok := p.Grants.Allows(write); !ok {
			a.fail(w, r, &rpcrm.Error{Code: rpcrm.EFORBIDDEN, Message: "Dafür fehlt Ihnen die Berechtigung \"" + string(write) + "\"."})
			return
		}
		// A large file takes long to arrive and long to import; the report
		// is written only at the end.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(transferTime))
		_ = rc.SetWriteDeadline(time.Now().Add(transferTime))
		mr, err := r.MultipartReader()
		if err != nil {
			a.fail(w, r, rpcrm.FieldError("file", `Erwartet multipart/form-data mit dem Feld "file".`))
			return
		}
		var o crm.ImportOptions
		var spool *os.File
		defer func() {
			if spool != nil {
				spool.Close()
				os.Remove(spool.Name())
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
				if spool != nil {
					a.fail(w, r, rpcrm.FieldError("file", "Nur eine Datei pro Anfrage."))
					return
				}
				if spool, err = os.CreateTemp("", "rpcrm-import-*.csv"); err != nil {
					a.fail(w, r, err)
					return
				}
				h := sha256.New()
				n, err := io.Copy(io.MultiWriter(spool, h), io.LimitReader(part, a.maxUpload()+1))
				if err != nil {
					a.uploadFailed(w, r, err)
					return
				}
				if n > a.maxUpload() {
					a.uploadFailed(w, r, &filestore.TooLargeError{})
					return
				}
				o.FileName, o.SHA256 = part.FileName(), hex.EncodeToString(h.Sum(nil))
			case "mapping", "dry_run", "mode", "duplicates":
				b, err := io.ReadAll(io.LimitReader(part, 64<<10))
				if err != nil {
					a.uploadFailed(w, r, err)
					return
				}
				val := strings.TrimSpace(string(b))
				switch name {
				case "mapping":
					if val != "" && json.Unmarshal([]byte(val), &o.Mapping) != nil {
						v.Add("mapping", `Erwartet ein JSON-Objekt Spalte → Feld, z. B. {"PLZ": "address.postal_code"}.`)
					}
				case "dry_run":
					if val != "" {
						if o.DryRun, err = strconv.ParseBool(val); err != nil {
							v.Add("dry_run", "Erwartet true oder false.")
						}
					}
				case "mode":
					o.Mode = val
				default:
					o.Duplicates = val
				}
			default:
				v.Add(cmp.Or(name, "(ohne Namen)"), "Unbekanntes Feld.")
			}
			part.Close()
		}
		if spool == nil {
			v.Add("file", `Die Datei fehlt (Feld "file").`)
		}
		if err := v.Err(); err != nil {
			a.fail(w, r, err)
			return
		}
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			a.fail(w, r, err)
			return
		}
		res, err := run(r, p, spool, o)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		status := http.StatusOK
		if res.RolledBack {
			status = http.StatusUnprocessableEntity
		}
		httpserver.JSON(w, status, res)
	}
}

// importRoutes are the CSV imports; they take files up to the upload limit.
func (a *API) importRoutes() []Route {
	companies := perm("POST", "/api/v1/imports/companies", auth.PermImportRun, a.importHandler(auth.PermCompaniesWrite,
		func(r *http.Request, p *auth.Principal, f io.Reader, o crm.ImportOptions) (*crm.ImportResult, error) {
			return a.CRM.ImportCompanies(r.Context(), p, f, o, meta(r))
		}))
	contacts := perm("POST", "/api/v1/imports/contacts", auth.PermImportRun, a.importHandler(auth.PermContactsWrite,
		func(r *http.Request, p *auth.Principal, f io.Reader, o crm.ImportOptions) (*crm.ImportResult, error) {
			return a.CRM.ImportContacts(r.Context(), p, f, o, meta(r))
		}))
	companies.MaxBody = a.maxUpload() + multipartOverhead
	contacts.MaxBody = a.maxUpload() + multipartOverhead
	return []Route{companies, contacts}
}
