package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/csvfile"
)

// The import wizard: upload a CSV file (step 1), map its columns (2),
// see the dry run's errors and choose how to import (3), import (4); the
// dry run and the import run in the background (see import_jobs.go). The
// file waits between the steps in the server's temporary directory under
// a random name, bound to the user and tenant who uploaded it, and is
// deleted after a successful import, on cancel, or after importTTL.
func (u *UI) importRoutes() []route {
	return []route{
		page("GET /import", auth.PermImportRun, u.importStart),
		page("POST /import", auth.PermImportRun, u.importUpload),
		page("GET /import/{id}", auth.PermImportRun, u.importMap),
		page("POST /import/{id}/check", auth.PermImportRun, u.importRun(true)),
		page("POST /import/{id}/run", auth.PermImportRun, u.importRun(false)),
		page("GET /import/{id}/progress", auth.PermImportRun, u.importProgress),
		page("POST /import/{id}/cancel", auth.PermImportRun, u.importCancel),
	}
}

// importTTL is how long an uploaded file waits for its import.
const importTTL = time.Hour

var importIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// importMeta is what the server keeps about an uploaded file, next to it.
type importMeta struct {
	Tenant   uuid.UUID `json:"tenant"`
	User     uuid.UUID `json:"user"`
	Entity   string    `json:"entity"` // crm.EntityCompany or crm.EntityContact
	FileName string    `json:"file_name"`
	SHA256   string    `json:"sha256"`
	Size     int64     `json:"size"`
	Created  time.Time `json:"created"`
}

// importDir is where uploads wait; created on first use, private.
func (u *UI) importDir() (string, error) {
	base := u.TempDir
	if base == "" {
		base = filepath.Join(os.TempDir(), "rpcrm")
	}
	dir := filepath.Join(base, "imports")
	return dir, os.MkdirAll(dir, 0o700)
}

// sweepImports deletes uploads older than importTTL.
func sweepImports(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > importTTL {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// importEntities are the record types the user may import.
func importEntities(v *view) []option {
	var out []option
	if v.Can(string(auth.PermCompaniesWrite)) {
		out = append(out, option{crm.EntityCompany, v.T("import.companies")})
	}
	if v.Can(string(auth.PermContactsWrite)) {
		out = append(out, option{crm.EntityContact, v.T("import.contacts")})
	}
	return out
}

type importStartView struct {
	Entities []option
	MaxMB    int64
}

func (u *UI) importView(w http.ResponseWriter, r *http.Request, p *auth.Principal) *view {
	v := u.newView(w, r, p, "import.title")
	v.Nav = "import"
	return v
}

func (u *UI) renderImportStart(w http.ResponseWriter, r *http.Request, v *view, status int) {
	v.Data = importStartView{Entities: importEntities(v), MaxMB: u.maxUpload() >> 20}
	u.render(w, r, status, "import", v)
}

func (u *UI) importStart(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.importView(w, r, p)
	if dir, err := u.importDir(); err == nil {
		sweepImports(dir)
	}
	u.renderImportStart(w, r, v, http.StatusOK)
}

func (u *UI) importUpload(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.importView(w, r, p)
	if r.MultipartForm == nil {
		v.Fields["file"] = v.T("import.file_missing")
		v.Error = v.T("form.invalid")
		u.renderImportStart(w, r, v, http.StatusUnprocessableEntity)
		return
	}
	v.Form = r.MultipartForm.Value
	entity := v.Val("entity")
	ok := false
	for _, o := range importEntities(v) {
		ok = ok || o.Value == entity
	}
	if !ok {
		v.Fields["entity"] = v.T("import.entity_missing")
	}
	files := r.MultipartForm.File["file"]
	if len(files) == 0 || files[0].Size == 0 {
		v.Fields["file"] = v.T("import.file_missing")
	}
	if len(v.Fields) > 0 {
		v.Error = v.T("form.invalid")
		u.renderImportStart(w, r, v, http.StatusUnprocessableEntity)
		return
	}
	dir, err := u.importDir()
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	sweepImports(dir)
	src, err := files[0].Open()
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	defer src.Close()
	id := newImportID()
	m := importMeta{Tenant: p.TenantID, User: p.UserID, Entity: entity, FileName: filepath.Base(files[0].Filename), Created: time.Now()}
	m.Size, m.SHA256, err = saveImportFile(filepath.Join(dir, id+".csv"), src, u.maxUpload())
	if errors.Is(err, errImportTooLarge) {
		removeImport(dir, id)
		v.Fields["file"] = v.T("error.too_large")
		v.Error = v.T("form.invalid")
		u.renderImportStart(w, r, v, http.StatusRequestEntityTooLarge)
		return
	}
	if err == nil {
		err = checkImportHeader(filepath.Join(dir, id+".csv"))
		var e *rpcrm.Error
		if errors.As(err, &e) {
			removeImport(dir, id)
			v.Fields["file"] = v.Msg(e.Message)
			v.Error = v.T("form.invalid")
			u.renderImportStart(w, r, v, http.StatusUnprocessableEntity)
			return
		}
	}
	if err == nil {
		err = writeImportMeta(filepath.Join(dir, id+".json"), m)
	}
	if err != nil {
		removeImport(dir, id)
		u.fail(w, r, p, err)
		return
	}
	redirect(w, r, "/import/"+id)
}

func newImportID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var errImportTooLarge = errors.New("import: file too large")

func saveImportFile(path string, src io.Reader, limit int64) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(src, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errImportTooLarge
	}
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// checkImportHeader reads the header as the import will; a file it cannot
// use is reported as an *rpcrm.Error with the reader's message.
func checkImportHeader(path string) error {
	_, err := readImportHeader(path)
	return err
}

func readImportHeader(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := csvfile.NewReader(f)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return nil, err
		}
		return nil, &rpcrm.Error{Code: rpcrm.EINVALID, Message: err.Error()}
	}
	return rd.Header(), nil
}

func writeImportMeta(path string, m importMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func removeImport(dir, id string) {
	os.Remove(filepath.Join(dir, id+".csv"))
	os.Remove(filepath.Join(dir, id+".json"))
}

// loadImport finds the upload of the {id} path value; it must belong to
// the user and tenant and be younger than importTTL, else it is a 404.
func (u *UI) loadImport(w http.ResponseWriter, r *http.Request, p *auth.Principal) (string, string, *importMeta, bool) {
	id := r.PathValue("id")
	dir, err := u.importDir()
	if err != nil {
		u.fail(w, r, p, err)
		return "", "", nil, false
	}
	var m importMeta
	if importIDRe.MatchString(id) {
		b, err := os.ReadFile(filepath.Join(dir, id+".json"))
		if err == nil && json.Unmarshal(b, &m) == nil && m.Tenant == p.TenantID && m.User == p.UserID {
			if time.Since(m.Created) <= importTTL {
				return dir, id, &m, true
			}
			removeImport(dir, id)
		}
	}
	u.errorPage(w, r, p, http.StatusNotFound, "import.gone")
	return "", "", nil, false
}

// importColumn is one CSV column of the mapping step.
type importColumn struct {
	Index  int
	Name   string
	Field  string // the field it is mapped to, "" to ignore
	Sample string
}

type importMapView struct {
	ID      string
	Meta    *importMeta
	Columns []importColumn
	Fields  []option
	Modes   []option
	Dups    []option
	Result  *crm.ImportResult
	// Mapping is the chosen mapping as hidden fields for the next step.
	Mapping map[string]string
}

// importFieldLabel names a field for the mapping choice.
func importFieldLabel(v *view, f string, defs []*crm.CustomField) string {
	if key, ok := strings.CutPrefix(f, "custom_fields."); ok {
		for _, d := range defs {
			if d.Key == key {
				return d.Label + " (" + v.T("import.custom") + ")"
			}
		}
	}
	return v.T("import.field." + f)
}

func (u *UI) importMapData(r *http.Request, p *auth.Principal, v *view, dir, id string, m *importMeta) (*importMapView, error) {
	header, err := readImportHeader(filepath.Join(dir, id+".csv"))
	if err != nil {
		return nil, err
	}
	defs, err := u.CRM.CustomFields(r.Context(), p, m.Entity)
	if err != nil {
		return nil, err
	}
	plain := make([]crm.CustomField, 0, len(defs))
	for _, d := range defs {
		plain = append(plain, *d)
	}
	d := &importMapView{ID: id, Meta: m, Mapping: map[string]string{}}
	d.Fields = []option{{"", v.T("import.ignore")}}
	for _, f := range crm.ImportFields(m.Entity, plain) {
		d.Fields = append(d.Fields, option{f, importFieldLabel(v, f, defs)})
	}
	suggested := crm.SuggestMapping(m.Entity, header, plain)
	for i, h := range header {
		c := importColumn{Index: i, Name: h, Field: suggested[h]}
		if r.Method == http.MethodPost {
			c.Field = v.Val("map." + strconv.Itoa(i))
		}
		d.Mapping[h] = c.Field
		d.Columns = append(d.Columns, c)
	}
	d.Modes = []option{{crm.ImportSkipBadRows, v.T("import.mode_skip")}, {crm.ImportAllOrNothing, v.T("import.mode_all")}}
	d.Dups = []option{{crm.DuplicatesSkip, v.T("import.dup_skip")}, {crm.DuplicatesUpdate, v.T("import.dup_update")},
		{crm.DuplicatesCreate, v.T("import.dup_create")}}
	return d, nil
}

func (u *UI) importMap(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	dir, id, m, ok := u.loadImport(w, r, p)
	if !ok {
		return
	}
	v := u.importView(w, r, p)
	v.Form.Set("mode", crm.ImportSkipBadRows)
	v.Form.Set("duplicates", crm.DuplicatesSkip)
	d, err := u.importMapData(r, p, v, dir, id, m)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Data = d
	u.render(w, r, http.StatusOK, "import_map", v)
}

// importRun starts the dry run (check) or the import itself with the
// mapping and options of the form as a job in the background, and shows
// its result if it finishes within importWait, else its progress page.
func (u *UI) importRun(dryRun bool) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		dir, id, m, ok := u.loadImport(w, r, p)
		if !ok {
			return
		}
		v := u.importView(w, r, p)
		v.Form = r.PostForm
		d, err := u.importMapData(r, p, v, dir, id, m)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		j, err := u.startImportJob(r, p, dir, id, m, v.Form, d, dryRun)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		if !j.wait(u.importWait) {
			redirect(w, r, "/import/"+id+"/progress")
			return
		}
		u.renderImportResult(w, r, p, v, j)
	}
}

func (u *UI) importCancel(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	dir, id, _, ok := u.loadImport(w, r, p)
	if !ok {
		return
	}
	u.jobs.drop(p, id)
	removeImport(dir, id)
	redirect(w, r, "/import")
}
