package tenantexport_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/pgtest"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/tenantexport"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var opts = tenantexport.Options{Actor: "cli:test", AppVersion: "v-test"}

// world is one test database with the fixture tenants and an upload store.
type world struct {
	e     *testfix.Env
	owner *postgres.DB // the superuser: row-level security does not hold it back
	files *filestore.Store
	dir   string // the upload store's root
	crm   *postgres.CRMService
}

func newWorld(t *testing.T) *world {
	t.Helper()
	e := testfix.New(t)
	owner, err := postgres.Open(context.Background(), e.OwnerURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	dir := filepath.Join(t.TempDir(), "uploads")
	return &world{e: e, owner: owner, files: filestore.New(dir), dir: dir, crm: &postgres.CRMService{DB: e.DB}}
}

// filled is what fill created in a tenant.
type filled struct {
	admin, sales, clerk string // e-mail addresses
	docs                map[uuid.UUID][]byte
	marker              string // a text that appears in the tenant's records and nowhere else
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

// must returns v, or panics with err: the test fails with a stack trace
// (and its cleanups still run).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// principal logs a user in and returns who they are, as a request would.
func (w *world) principal(t *testing.T, slug, email string) *auth.Principal {
	t.Helper()
	pair := w.e.Login(t, slug, email)
	return must(w.e.Auth.Authenticate(context.Background(), w.e.Ref(t, slug), pair.AccessToken))
}

// fill gives a tenant every kind of row: users with built-in and custom
// roles, seeded companies, contacts, deals and activities, tags, a custom
// field with values, a second pipeline, documents with files (one in the
// trash), a deleted contact, sessions and the audit entries of all that.
func (w *world) fill(t *testing.T, slug string) filled {
	t.Helper()
	ctx := context.Background()
	f := filled{admin: "admin@" + slug + ".ch", sales: "sales@" + slug + ".ch", clerk: "clerk@" + slug + ".ch",
		docs: map[uuid.UUID][]byte{}, marker: "Marker-" + slug + "-Ährenfeld"}
	w.e.CreateUser(t, slug, f.admin, "admin")
	w.e.CreateUser(t, slug, f.sales, "sales")
	admin := w.principal(t, slug, f.admin)
	must(w.e.Auth.CreateRole(ctx, admin, auth.RoleInput{Name: "Buchhaltung " + slug, Description: "Rechnungen",
		Permissions: []string{"contacts:read", "companies:read:own", "documents:read"}}, auth.LoginMeta{}))
	w.e.CreateUser(t, slug, f.clerk, "Buchhaltung "+slug)
	if _, err := w.crm.Seed(ctx, admin, postgres.SeedOptions{Contacts: 25, Seed: 7, Workers: 2}); err != nil {
		t.Fatalf("seed %s: %v", slug, err)
	}
	must(w.crm.CreateTag(ctx, admin, decode[crm.TagInput](t, `{"name":"VIP `+slug+`","color":"#aa0000"}`), auth.LoginMeta{}))
	must(w.crm.UpdateTenantProfile(ctx, admin, crm.ProfileInput{Name: "Profil " + slug, Currency: "EUR", Logo: tinyPNG(t)}, auth.LoginMeta{}))
	must(w.crm.CreateCustomField(ctx, admin, decode[crm.CustomFieldInput](t,
		`{"entity":"contact","key":"kundennummer","label":"Kundennummer","type":"text"}`), auth.LoginMeta{}))
	must(w.crm.CreatePipeline(ctx, admin, decode[crm.PipelineInput](t, `{"name":"Projekte `+slug+`"}`), auth.LoginMeta{}))
	co := must(w.crm.CreateCompany(ctx, admin, decode[crm.CompanyInput](t,
		`{"name":"`+f.marker+` AG","website":"https://example.ch","tags":["VIP `+slug+`"]}`), auth.LoginMeta{}))
	c := must(w.crm.CreateContact(ctx, admin, decode[crm.ContactInput](t, `{"first_name":"Zoë","last_name":"`+f.marker+`",
		"emails":["zoe@`+slug+`.ch"],"phones":["+41441234567"],"birthday":"1980-02-29","company_id":"`+co.ID.String()+`",
		"custom_fields":{"kundennummer":"K-\"1\"\n\\2"}}`), auth.LoginMeta{}))
	gone := must(w.crm.CreateContact(ctx, admin, decode[crm.ContactInput](t, `{"last_name":"Gelöscht `+slug+`"}`), auth.LoginMeta{}))
	if err := w.crm.DeleteContact(ctx, admin, gone.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	pipes := must(w.crm.ListPipelines(ctx, admin))
	d := must(w.crm.CreateDeal(ctx, admin, decode[crm.DealInput](t, fmt.Sprintf(
		`{"title":"%s Deal","amount":"12345.65","pipeline_id":"%s","stage_id":"%s","contact_id":"%s"}`,
		f.marker, pipes[0].ID, pipes[0].Stages[0].ID, c.ID)), auth.LoginMeta{}))
	links := []func(*crm.DocumentInput){
		func(in *crm.DocumentInput) { in.CompanyID = &co.ID },
		func(in *crm.DocumentInput) { in.ContactID = &c.ID },
		func(in *crm.DocumentInput) { in.DealID = &d.ID },
	}
	for i, link := range links {
		content := bytes.Repeat([]byte(fmt.Sprintf("%s file %d \x00\xff\n", slug, i)), 100*(i+1))
		id := uuid.Must(uuid.NewV7())
		st := must(w.files.Put(admin.TenantID, id, bytes.NewReader(content), 1<<20))
		in := crm.DocumentInput{}
		link(&in)
		in.ID, in.FileName, in.ContentType, in.Size, in.SHA256 = id, fmt.Sprintf("Beleg %d.pdf", i), st.ContentType, st.Size, st.SHA256
		must(w.crm.CreateDocument(ctx, admin, in, auth.LoginMeta{}))
		f.docs[id] = content
		if i == 2 {
			if err := w.crm.DeleteDocument(ctx, admin, id, auth.LoginMeta{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	must(w.crm.CreateActivity(ctx, admin, decode[crm.ActivityInput](t,
		`{"kind":"task","subject":"`+f.marker+` anrufen","due_at":"2030-01-02T03:04:05.123456Z","deal_id":"`+d.ID.String()+`"}`), auth.LoginMeta{}))
	w.principal(t, slug, f.sales) // one more session
	return f
}

// export writes tenant slug's export with db to a file and returns its path.
func (w *world) export(t *testing.T, db *postgres.DB, slug string) (string, *tenantexport.Manifest) {
	t.Helper()
	path := filepath.Join(t.TempDir(), slug+".zip")
	out := must(os.Create(path))
	m, err := tenantexport.Export(context.Background(), db, w.files, w.e.Tenant(t, slug).UUID(), out, opts)
	if err != nil {
		t.Fatalf("export %s: %v", slug, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path, m
}

func (w *world) importInto(db *postgres.DB, t *testing.T, slug, path string) (*tenantexport.Manifest, error) {
	return tenantexport.Import(context.Background(), db, w.files, tenantexport.Target{ID: w.e.Tenant(t, slug).UUID(), Slug: slug}, path, opts)
}

// rows returns a tenant's rows of table as JSON texts without tenant_id,
// sorted; read as the superuser, so nothing is hidden.
func (w *world) rows(t *testing.T, table, slug string) []string {
	t.Helper()
	ctx := context.Background()
	sql := "SELECT (to_jsonb(t) - 'tenant_id')::text FROM " + pgx.Identifier{table}.Sanitize() + " t WHERE tenant_id = $1"
	if table == "audit_log" {
		// The export's and the import's own entries are written after the snapshot.
		sql += " AND action NOT IN ('export.tenant', 'tenant.import')"
	}
	rows, err := w.owner.Pool.Query(ctx, sql+" ORDER BY 1", w.e.Tenant(t, slug).UUID())
	if err != nil {
		t.Fatal(err)
	}
	return must(pgx.CollectRows(rows, pgx.RowTo[string]))
}

func (w *world) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := w.owner.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// tenantRows counts every row of a tenant in every table with a tenant_id.
func (w *world) tenantRows(t *testing.T, slug string) int {
	t.Helper()
	n := 0
	for _, table := range append(slices.Clone(postgres.TenantTables), "sessions", "refresh_tokens") {
		n += w.count(t, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1", w.e.Tenant(t, slug).UUID())
	}
	return n
}

// state is every row of a tenant in every table with a tenant_id.
func (w *world) state(t *testing.T, slug string) []string {
	t.Helper()
	var out []string
	for _, table := range append(slices.Clone(postgres.TenantTables), "sessions", "refresh_tokens") {
		out = append(out, table)
		out = append(out, w.rows(t, table, slug)...)
	}
	return out
}

// files lists the files under a tenant's upload directory.
func (w *world) filesOf(t *testing.T, slug string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(w.dir, w.e.Tenant(t, slug).UUID().String())
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, strings.TrimPrefix(path, root))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An export of alpha, imported into the empty tenant beta, gives beta the
// same rows in every table (but tenant_id) and the same document files;
// alpha's users log in to beta with their passwords and see the records.
func TestRoundTrip(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	src := w.fill(t, "alpha")

	// The application role is held by row-level security: the export and
	// import only work because they scope their transactions to the tenant.
	path, m := w.export(t, w.e.DB, "alpha")
	if m.Tenant.Slug != "alpha" || m.Tenant.ID != w.e.Tenant(t, "alpha").UUID() || m.Tenant.Name != "Alpha AG" {
		t.Errorf("manifest tenant %+v", m.Tenant)
	}
	if m.SchemaVersion != postgres.LatestVersion() || m.FormatVersion != tenantexport.FormatVersion || m.AppVersion != "v-test" {
		t.Errorf("manifest versions: schema %d, format %d, app %q", m.SchemaVersion, m.FormatVersion, m.AppVersion)
	}
	for _, tb := range m.Tables {
		if tb.Rows == 0 {
			t.Errorf("the export of a tenant with every kind of row has no rows in %s", tb.Name)
		}
		if want := int64(len(w.rows(t, tb.Name, "alpha"))); tb.Rows != want {
			t.Errorf("manifest: %s has %d rows, the database %d", tb.Name, tb.Rows, want)
		}
	}
	if len(m.Documents) != len(src.docs) {
		t.Errorf("manifest lists %d documents, want %d", len(m.Documents), len(src.docs))
	}
	if n := w.count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'export.tenant' AND actor = 'cli:test'`,
		w.e.Tenant(t, "alpha").UUID()); n != 1 {
		t.Errorf("want one export.tenant audit entry in alpha, got %d", n)
	}
	for _, f := range must(zip.OpenReader(path)).File {
		if strings.HasPrefix(f.Name, "tables/sessions") || strings.HasPrefix(f.Name, "tables/refresh_tokens") {
			t.Errorf("the export holds %s: sessions and tokens must stay behind", f.Name)
		}
	}

	got, err := w.importInto(w.e.DB, t, "beta", path)
	if err != nil {
		t.Fatalf("import into beta: %v", err)
	}
	if got.Rows() != m.Rows() {
		t.Errorf("import reports %d rows, export %d", got.Rows(), m.Rows())
	}
	for _, table := range postgres.TenantTables {
		a, b := w.rows(t, table, "alpha"), w.rows(t, table, "beta")
		if !slices.Equal(a, b) {
			t.Errorf("%s: beta's %d rows differ from alpha's %d", table, len(b), len(a))
			for i := range min(len(a), len(b)) {
				if a[i] != b[i] {
					t.Errorf("first difference:\nalpha %s\nbeta  %s", a[i], b[i])
					break
				}
			}
		}
	}
	if n := w.count(t, `SELECT count(*) FROM sessions WHERE tenant_id = $1`, w.e.Tenant(t, "beta").UUID()); n != 0 {
		t.Errorf("beta has %d sessions after the import, want none", n)
	}
	if n := w.count(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'tenant.import'
		AND details->>'source_tenant' = 'alpha' AND actor = 'cli:test'`, w.e.Tenant(t, "beta").UUID()); n != 1 {
		t.Errorf("want one tenant.import audit entry in beta, got %d", n)
	}
	for id, content := range src.docs {
		data, err := os.ReadFile(w.files.Path(w.e.Tenant(t, "beta").UUID(), id))
		if err != nil {
			t.Errorf("document %s in beta: %v", id, err)
			continue
		}
		if sha256.Sum256(data) != sha256.Sum256(content) {
			t.Errorf("document %s: beta's file differs from alpha's", id)
		}
	}
	if got, want := len(w.filesOf(t, "beta")), len(src.docs); got != want {
		t.Errorf("beta's upload directory holds %d files, want %d (no temporary files)", got, want)
	}

	// The application works in beta: alpha's users log in with their own
	// passwords and read the records within their roles.
	clerk := w.principal(t, "beta", src.clerk)
	if _, ok := clerk.Grants.Allows(auth.PermContactsRead); !ok || clerk.TenantID != w.e.Tenant(t, "beta").UUID() {
		t.Errorf("the clerk in beta lost their custom role: %+v", clerk)
	}
	admin := w.principal(t, "beta", src.admin)
	page := must(w.crm.ListContacts(ctx, admin, crm.ContactFilter{ListParams: crm.ListParams{Q: src.marker}}))
	if len(page.Items) != 1 || page.Items[0].LastName != src.marker {
		t.Errorf("search for the marker in beta: %+v", page.Items)
	}
	for id := range src.docs {
		d, err := w.crm.Document(ctx, admin, id)
		if err == nil && d.ID != id {
			t.Errorf("document %s read as %s", id, d.ID)
		}
	}
	if _, err := w.crm.ListDeals(ctx, admin, crm.DealFilter{}); err != nil {
		t.Errorf("list deals in beta: %v", err)
	}
	// Alpha keeps working.
	w.principal(t, "alpha", src.admin)

	t.Run("not empty", func(t *testing.T) {
		for _, slug := range []string{"beta", "alpha"} {
			before := w.tenantRows(t, slug)
			_, err := w.importInto(w.e.DB, t, slug, path)
			var ne *postgres.NotEmptyError
			if !errors.As(err, &ne) || !strings.Contains(err.Error(), "tenant "+slug+": the tenant is not empty (") ||
				!strings.Contains(err.Error(), " users") || strings.Contains(err.Error(), "\n") {
				t.Errorf("import into non-empty %s: want one line naming what it holds, got %v", slug, err)
			}
			if after := w.tenantRows(t, slug); after != before {
				t.Errorf("refused import into %s changed its rows: %d → %d", slug, before, after)
			}
		}
	})
}

// The export of alpha holds nothing of beta, even when read by the
// superuser, whom row-level security does not restrict.
func TestExportHoldsOnlyItsTenant(t *testing.T) {
	w := newWorld(t)
	a := w.fill(t, "alpha")
	b := w.fill(t, "beta")
	path, m := w.export(t, w.owner, "alpha")
	betaID := w.e.Tenant(t, "beta").UUID().String()
	// Every ID of beta's rows, whatever the table.
	var betaIDs []string
	for _, table := range postgres.TenantTables {
		if slices.Contains([]string{"role_permissions", "user_roles", "tenant_profiles"}, table) {
			continue
		}
		rows, err := w.owner.Pool.Query(context.Background(), "SELECT id::text FROM "+table+" WHERE tenant_id = $1", betaID)
		if err != nil {
			t.Fatal(err)
		}
		betaIDs = append(betaIDs, must(pgx.CollectRows(rows, pgx.RowTo[string]))...)
	}
	if len(betaIDs) < 100 {
		t.Fatalf("beta has only %d rows with an id", len(betaIDs))
	}
	zr := must(zip.OpenReader(path))
	defer zr.Close()
	var all bytes.Buffer
	for _, f := range zr.File {
		rc := must(f.Open())
		must(io.Copy(&all, rc))
		rc.Close()
		all.WriteByte('\n')
	}
	text := all.String()
	for _, bad := range append([]string{betaID, b.marker, "@beta.ch", "VIP beta"}, betaIDs...) {
		if strings.Contains(text, bad) {
			t.Errorf("the export of alpha contains %q of beta", bad)
		}
	}
	for id, content := range b.docs {
		if bytes.Contains(all.Bytes(), content) || strings.Contains(text, id.String()) {
			t.Errorf("the export of alpha contains beta's document %s", id)
		}
	}
	if !strings.Contains(text, a.marker) || len(m.Documents) != len(a.docs) {
		t.Errorf("the export of alpha lacks alpha's data (%d documents)", len(m.Documents))
	}
}

// rewrite copies the zip at src to a new file, letting change alter or
// drop entries (return nil to drop) and add some; the manifest passes
// through change too.
func rewrite(t *testing.T, src string, change func(name string, data []byte) []byte, add map[string][]byte) string {
	t.Helper()
	zr := must(zip.OpenReader(src))
	defer zr.Close()
	dst := filepath.Join(t.TempDir(), "changed.zip")
	out := must(os.Create(dst))
	zw := zip.NewWriter(out)
	for _, f := range zr.File {
		rc := must(f.Open())
		data := must(io.ReadAll(rc))
		rc.Close()
		if data = change(f.Name, data); data == nil {
			continue
		}
		must(must(zw.Create(f.Name)).Write(data))
	}
	for name, data := range add {
		must(must(zw.Create(name)).Write(data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// rewriteRows copies the export at src with edit applied to every row of
// table, and the manifest's size and checksum of that table made to match.
func rewriteRows(t *testing.T, src, table string, edit func(i int, row map[string]any)) string {
	t.Helper()
	file := "tables/" + table + ".jsonl"
	var changed []byte
	return rewrite(t, src, func(name string, data []byte) []byte {
		switch name {
		case file:
			var out bytes.Buffer
			for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
				row := decode[map[string]any](t, string(line))
				edit(i, row)
				out.Write(must(json.Marshal(row)))
				out.WriteByte('\n')
			}
			changed = out.Bytes()
			return changed
		case tenantexport.ManifestName:
			// The zip lists the manifest last, after the table.
			return editManifest(t, data, func(m *tenantexport.Manifest) {
				for i := range m.Tables {
					if m.Tables[i].Name == table {
						m.Tables[i].Size, m.Tables[i].SHA256 = int64(len(changed)), sum(changed)
					}
				}
			})
		}
		return data
	}, nil)
}

// editManifest changes the manifest inside change's data.
func editManifest(t *testing.T, data []byte, edit func(*tenantexport.Manifest)) []byte {
	t.Helper()
	m := decode[tenantexport.Manifest](t, string(data))
	edit(&m)
	return must(json.Marshal(m))
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// A damaged, incomplete or foreign archive is refused with one line before
// anything is written: the empty tenant stays empty, no file appears.
// So is an archive that passes every check but fails in the database: the
// transaction rolls back and the document files are removed again.
func TestImportRefusesBadArchives(t *testing.T) {
	w := newWorld(t)
	w.fill(t, "alpha")
	path, m := w.export(t, w.e.DB, "alpha")
	firstDoc := m.Documents[0].File
	notZip := filepath.Join(t.TempDir(), "not.zip")
	if err := os.WriteFile(notZip, []byte("PK nonsense"), 0o600); err != nil {
		t.Fatal(err)
	}
	whole := must(os.ReadFile(path))
	truncated := filepath.Join(t.TempDir(), "truncated.zip")
	if err := os.WriteFile(truncated, whole[:len(whole)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	flipContacts := func(name string, data []byte) []byte {
		if name == "tables/contacts.jsonl" {
			data = bytes.Replace(data, []byte("Zoë"), []byte("Zoe"), 1)
		}
		return data
	}
	// A contact that points at a company that does not exist, with the
	// checksums brought in line: only the database can notice.
	fkPath := rewriteRows(t, path, "contacts", func(i int, row map[string]any) {
		if i == 0 {
			row["company_id"] = uuid.NewString()
		}
	})
	// A custom role named like a built-in one: the rows go in, the files
	// get their names, and only then does giving the built-in roles their
	// names again fail; the files must go again.
	admin := auth.BuiltinRoles()[0]
	lateFailure := rewriteRows(t, path, "roles", func(_ int, row map[string]any) {
		switch {
		case row["key"] == admin.Key:
			row["name"] = "Chef"
		case row["key"] == nil:
			row["name"] = admin.Name
		}
	})
	emptyGamma := w.state(t, "gamma")
	cases := []struct {
		name, path, want string
	}{
		{"not a zip", notZip, "is not a readable zip file"},
		{"truncated", truncated, "is not a readable zip file"},
		{"changed row", rewrite(t, path, flipContacts, nil), "tables/contacts.jsonl does not match its size and SHA-256 in the manifest"},
		{"changed document", rewrite(t, path, func(name string, data []byte) []byte {
			if name == firstDoc {
				data = append([]byte{}, data...)
				data[0] ^= 1
			}
			return data
		}, nil), firstDoc + " does not match its size and SHA-256"},
		{"missing document", rewrite(t, path, func(name string, data []byte) []byte {
			if name == firstDoc {
				return nil
			}
			return data
		}, nil), firstDoc + " is missing from the archive"},
		{"extra file", rewrite(t, path, func(_ string, d []byte) []byte { return d },
			map[string][]byte{"../../etc/passwd": []byte("x")}), "unexpected file ../../etc/passwd"},
		{"no manifest", rewrite(t, path, func(name string, d []byte) []byte {
			if name == tenantexport.ManifestName {
				return nil
			}
			return d
		}, nil), "no manifest.json: not an RP CRM tenant export"},
		{"other schema", rewrite(t, path, func(name string, d []byte) []byte {
			if name == tenantexport.ManifestName {
				return editManifest(t, d, func(m *tenantexport.Manifest) { m.SchemaVersion++ })
			}
			return d
		}, nil), fmt.Sprintf("has schema version %d, this database has %d: import it into an installation with the same schema version",
			postgres.LatestVersion()+1, postgres.LatestVersion())},
		{"newer format", rewrite(t, path, func(name string, d []byte) []byte {
			if name == tenantexport.ManifestName {
				return editManifest(t, d, func(m *tenantexport.Manifest) { m.FormatVersion = 99 })
			}
			return d
		}, nil), "export format version 99, this rpcrm reads version 1"},
		{"row count", rewrite(t, path, func(name string, d []byte) []byte {
			if name == tenantexport.ManifestName {
				return editManifest(t, d, func(m *tenantexport.Manifest) { m.Tables[0].Rows++ })
			}
			return d
		}, nil), "tables/tenant_profiles.jsonl has"},
		{"database refuses a row", fkPath, "import into tenant gamma failed, nothing was imported"},
		{"fails after the files are in place", lateFailure, "import into tenant gamma failed, nothing was imported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.importInto(w.e.DB, t, "gamma", tc.path)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("want one line containing %q, got %v", tc.want, err)
			}
			if after := w.state(t, "gamma"); !slices.Equal(after, emptyGamma) {
				t.Errorf("a refused import changed gamma's rows")
			}
			if files := w.filesOf(t, "gamma"); len(files) > 0 {
				t.Errorf("gamma has files after a refused import: %v", files)
			}
		})
	}
	// The untouched archive still imports into gamma.
	if _, err := w.importInto(w.e.DB, t, "gamma", path); err != nil {
		t.Fatalf("import of the good archive after the refusals: %v", err)
	}
	if got := len(w.filesOf(t, "gamma")); got != len(m.Documents) {
		t.Errorf("gamma has %d files, want %d", got, len(m.Documents))
	}
}

// tinyPNG is a valid 1x1 PNG (the profile's logo: bytes that must survive
// the JSON of the export).
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{R: 200, A: 255})
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
