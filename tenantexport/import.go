package tenantexport

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/postgres"
)

// Target is the tenant an import fills.
type Target struct {
	ID   uuid.UUID
	Slug string
}

// maxManifestBytes bounds manifest.json (about 150 bytes per document).
const maxManifestBytes = 256 << 20

// Import fills the empty tenant target with the export in the zip file at
// path. Before it writes anything it checks the whole archive: the format,
// the schema version (it must equal the database's), every file's size and
// SHA-256 against the manifest, the row counts, and that every document
// row has its file. A tenant with users, records, custom roles or audit
// entries is refused (*postgres.NotEmptyError). Document files are written
// to temporary files first; all rows go in with one transaction, the files
// get their names just before it commits and are removed again if it
// fails. Record IDs are kept; tenant_id becomes target's.
func Import(ctx context.Context, db *postgres.DB, files *filestore.Store, target Target, path string, o Options) (*Manifest, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable zip file: %w", path, err)
	}
	defer zr.Close()
	m, entries, err := readManifest(&zr.Reader)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	current, err := db.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if m.SchemaVersion != current {
		return nil, fmt.Errorf("%s has schema version %d, this database has %d: import it into an installation with the same schema version",
			path, m.SchemaVersion, current)
	}
	if err := verify(m, entries); err != nil {
		return nil, fmt.Errorf("%s: %w; nothing was imported", path, err)
	}
	if err := db.CheckTenantEmpty(ctx, target.ID); err != nil {
		return nil, notEmpty(target, err)
	}
	for _, d := range m.Documents {
		if _, err := os.Lstat(files.Path(target.ID, d.ID)); err == nil {
			return nil, fmt.Errorf("tenant %s already has a file for document %s (%s): import only into a new tenant",
				target.Slug, d.ID, files.Path(target.ID, d.ID))
		}
	}

	staged := make([]*filestore.Staged, 0, len(m.Documents))
	kept := false
	defer func() {
		if !kept {
			for _, st := range staged {
				st.Discard() //nolint:errcheck // best effort; the rows are not there either
			}
		}
	}()
	for _, d := range m.Documents {
		st, err := stageDocument(files, target.ID, d, entries[d.File])
		if err != nil {
			return nil, err
		}
		staged = append(staged, st)
	}

	entry := audit.Entry{Actor: o.Actor, Action: "tenant.import", Details: map[string]any{
		"source_tenant": m.Tenant.Slug, "source_tenant_id": m.Tenant.ID, "exported_at": m.ExportedAt,
		"rows": m.Rows(), "documents": len(m.Documents), "document_bytes": m.DocumentBytes(),
		"schema_version": m.SchemaVersion, "app_version": m.AppVersion,
	}}
	err = db.FillEmptyTenant(ctx, target.ID, entry, func(w *postgres.TenantWriter) error {
		for _, tb := range m.Tables {
			cols, err := w.Columns(ctx, tb.Name)
			if err != nil {
				return err
			}
			if !slices.Equal(cols, tb.Columns) {
				return fmt.Errorf("table %s: the export has the columns %v, this database %v", tb.Name, tb.Columns, cols)
			}
			n, err := w.Insert(ctx, tb.Name, cols, lines(entries[tb.File]))
			if err != nil {
				return err
			}
			if n != tb.Rows {
				return fmt.Errorf("table %s: %d rows inserted, the manifest lists %d", tb.Name, n, tb.Rows)
			}
		}
		// The files take their names last: if the commit still fails,
		// the deferred cleanup removes them again.
		for _, st := range staged {
			if err := st.Commit(); err != nil {
				return fmt.Errorf("document file: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		var ne *postgres.NotEmptyError
		if errors.As(err, &ne) {
			return nil, notEmpty(target, err)
		}
		return nil, fmt.Errorf("import into tenant %s failed, nothing was imported: %w", target.Slug, err)
	}
	kept = true
	return m, nil
}

func notEmpty(target Target, err error) error {
	var ne *postgres.NotEmptyError
	if errors.As(err, &ne) {
		return fmt.Errorf("tenant %s: %w: import only into a new, empty tenant", target.Slug, ne)
	}
	return err
}

// stageDocument writes one document's content to a temporary file and
// checks it once more against the manifest.
func stageDocument(files *filestore.Store, tenantID uuid.UUID, d Document, f *zip.File) (*filestore.Staged, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	defer rc.Close()
	st, err := files.Stage(tenantID, d.ID, rc, d.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	if st.Size != d.Size || st.SHA256 != d.SHA256 {
		st.Discard() //nolint:errcheck
		return nil, fmt.Errorf("%s changed while it was imported; nothing was imported", d.File)
	}
	return st, nil
}

// readManifest indexes the archive's entries and parses its manifest.
func readManifest(zr *zip.Reader) (*Manifest, map[string]*zip.File, error) {
	entries := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		if _, dup := entries[f.Name]; dup {
			return nil, nil, fmt.Errorf("the archive holds %s twice", f.Name)
		}
		entries[f.Name] = f
	}
	mf, ok := entries[ManifestName]
	if !ok {
		return nil, nil, fmt.Errorf("no %s: not an RP CRM tenant export", ManifestName)
	}
	rc, err := mf.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifestBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	if len(data) > maxManifestBytes {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes", ManifestName, maxManifestBytes)
	}
	m, err := parseManifest(data)
	return m, entries, err
}

// verify checks the archive against its manifest without writing anything:
// the tables are exactly postgres.TenantTables in their order, every file
// is there with its size and SHA-256, nothing else is, every table file
// has as many lines as the manifest has rows, and the documents table and
// the document files name the same documents with the same checksums.
func verify(m *Manifest, entries map[string]*zip.File) error {
	names := make([]string, len(m.Tables))
	for i, t := range m.Tables {
		names[i] = t.Name
	}
	if !slices.Equal(names, postgres.TenantTables) {
		return fmt.Errorf("the export holds the tables %v, this rpcrm expects %v", names, postgres.TenantTables)
	}
	expected := map[string]bool{ManifestName: true}
	for _, t := range m.Tables {
		if t.File != tableFile(t.Name) {
			return fmt.Errorf("table %s: unexpected file name %q", t.Name, t.File)
		}
		expected[t.File] = true
	}
	docs := make(map[uuid.UUID]Document, len(m.Documents))
	for _, d := range m.Documents {
		if d.File != documentFile(d.ID) || d.ID == uuid.Nil {
			return fmt.Errorf("document %s: unexpected file name %q", d.ID, d.File)
		}
		if _, dup := docs[d.ID]; dup {
			return fmt.Errorf("document %s is listed twice", d.ID)
		}
		docs[d.ID] = d
		expected[d.File] = true
	}
	for name := range entries {
		if !expected[name] {
			return fmt.Errorf("unexpected file %s in the archive", name)
		}
	}
	for name := range expected {
		if entries[name] == nil {
			return fmt.Errorf("%s is missing from the archive", name)
		}
	}
	for _, t := range m.Tables {
		size, sum, lines, err := checksum(entries[t.File], t.Size)
		if err != nil {
			return err
		}
		if size != t.Size || sum != t.SHA256 {
			return fmt.Errorf("%s does not match its size and SHA-256 in the manifest (the file is damaged)", t.File)
		}
		if lines != t.Rows {
			return fmt.Errorf("%s has %d rows, the manifest lists %d", t.File, lines, t.Rows)
		}
	}
	for _, d := range m.Documents {
		size, sum, _, err := checksum(entries[d.File], d.Size)
		if err != nil {
			return err
		}
		if size != d.Size || sum != d.SHA256 {
			return fmt.Errorf("%s does not match its size and SHA-256 in the manifest (the file is damaged)", d.File)
		}
	}
	return matchDocumentRows(entries[tableFile("documents")], docs)
}

// checksum reads an entry, at most one byte more than want, and returns
// its size, SHA-256 and number of lines. The zip reader also checks the
// entry's CRC-32.
func checksum(f *zip.File, want int64) (int64, string, int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, "", 0, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	h := sha256.New()
	buf := make([]byte, 64<<10)
	var size, lines int64
	r := io.LimitReader(rc, want+1)
	for {
		n, err := r.Read(buf)
		h.Write(buf[:n])
		size += int64(n)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, "", 0, fmt.Errorf("%s is damaged: %w", f.Name, err)
		}
	}
	return size, hex.EncodeToString(h.Sum(nil)), lines, nil
}

// matchDocumentRows checks that the documents table names exactly the
// document files of the archive, with the same sizes and checksums.
func matchDocumentRows(f *zip.File, docs map[uuid.UUID]Document) error {
	seen := 0
	for line, err := range lines(f) {
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		var row struct {
			ID     uuid.UUID `json:"id"`
			Size   int64     `json:"size"`
			SHA256 string    `json:"sha256"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			return fmt.Errorf("%s: a row is not valid JSON: %w", f.Name, err)
		}
		d, ok := docs[row.ID]
		if !ok {
			return fmt.Errorf("document %s has no file in the archive", row.ID)
		}
		if d.Size != row.Size || d.SHA256 != row.SHA256 {
			return fmt.Errorf("%s does not match the size and SHA-256 of its document row", d.File)
		}
		seen++
	}
	if seen != len(docs) {
		return fmt.Errorf("the archive holds %d document files for %d document rows", len(docs), seen)
	}
	return nil
}

// lines yields the lines of a table file without their newline.
func lines(f *zip.File) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		rc, err := f.Open()
		if err != nil {
			yield(nil, err)
			return
		}
		defer rc.Close()
		br := bufio.NewReaderSize(rc, 64<<10)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				if !yield(bytes.TrimSuffix(line, []byte{'\n'}), nil) {
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
		}
	}
}
