package tenantexport

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/postgres"
)

// Options are what Export and Import record about who ran them.
type Options struct {
	Actor      string // written to the tenant's audit log, e.g. "cli:root"
	AppVersion string // the rpcrm version, recorded in the manifest
}

// Export writes the tenant tenantID to w as a zip: one JSON Lines file per
// table of postgres.TenantTables, every document's content and, last,
// manifest.json. All rows come from one consistent snapshot and are
// streamed, so a tenant of any size needs little memory. db must be able
// to read every tenant table (the owner connection); files is the
// installation's upload store. A document whose file is missing or does
// not match its recorded size and SHA-256 fails the export. The export is
// recorded in the tenant's audit log (action export.tenant).
func Export(ctx context.Context, db *postgres.DB, files *filestore.Store, tenantID uuid.UUID, w io.Writer, o Options) (*Manifest, error) {
	m := &Manifest{Format: Format, FormatVersion: FormatVersion, AppVersion: o.AppVersion,
		ExportedAt: time.Now().UTC().Truncate(time.Second), Tables: []Table{}, Documents: []Document{}}
	zw := zip.NewWriter(w)
	err := db.SnapshotTenant(ctx, tenantID, func(s *postgres.TenantSnapshot) error {
		t, err := s.Tenant(ctx)
		if err != nil {
			return err
		}
		m.Tenant = TenantInfo{ID: t.ID, Slug: t.Slug, Name: t.Name}
		if m.SchemaVersion, err = s.SchemaVersion(ctx); err != nil {
			return err
		}
		for _, table := range postgres.TenantTables {
			tb, err := exportTable(ctx, s, zw, table, m.ExportedAt)
			if err != nil {
				return err
			}
			m.Tables = append(m.Tables, tb)
		}
		return s.Documents(ctx, func(d postgres.DocumentFile) error {
			doc, err := exportDocument(files, zw, tenantID, d, m.ExportedAt)
			if err != nil {
				return err
			}
			m.Documents = append(m.Documents, doc)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	mw, err := zw.CreateHeader(&zip.FileHeader{Name: ManifestName, Method: zip.Deflate, Modified: m.ExportedAt})
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(mw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	crm := &postgres.CRMService{DB: db}
	who := &auth.Principal{TenantID: tenantID, Tenant: m.Tenant.Slug, Email: o.Actor, Name: o.Actor}
	if err := crm.LogExport(ctx, who, "tenant", map[string]any{
		"rows": m.Rows(), "documents": len(m.Documents), "document_bytes": m.DocumentBytes(),
		"schema_version": m.SchemaVersion,
	}, auth.LoginMeta{}); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return m, nil
}

// hashingWriter passes writes on and keeps their SHA-256 and size.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newHashingWriter(w io.Writer) *hashingWriter { return &hashingWriter{w: w, h: sha256.New()} }

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

func (hw *hashingWriter) sum() string { return hex.EncodeToString(hw.h.Sum(nil)) }

func exportTable(ctx context.Context, s *postgres.TenantSnapshot, zw *zip.Writer, table string, at time.Time) (Table, error) {
	tb := Table{Name: table, File: tableFile(table)}
	var err error
	if tb.Columns, err = s.Columns(ctx, table); err != nil {
		return tb, err
	}
	ew, err := zw.CreateHeader(&zip.FileHeader{Name: tb.File, Method: zip.Deflate, Modified: at})
	if err != nil {
		return tb, err
	}
	hw := newHashingWriter(ew)
	bw := bufio.NewWriterSize(hw, 64<<10)
	tb.Rows, err = s.Rows(ctx, table, func(row []byte) error {
		bw.Write(row) //nolint:errcheck // a failed write shows in Flush
		return bw.WriteByte('\n')
	})
	if err != nil {
		return tb, err
	}
	if err := bw.Flush(); err != nil {
		return tb, fmt.Errorf("write %s: %w", tb.File, err)
	}
	tb.Size, tb.SHA256 = hw.n, hw.sum()
	return tb, nil
}

func exportDocument(files *filestore.Store, zw *zip.Writer, tenantID uuid.UUID, d postgres.DocumentFile, at time.Time) (Document, error) {
	doc := Document{ID: d.ID, File: documentFile(d.ID)}
	f, err := files.Open(tenantID, d.ID)
	if errors.Is(err, fs.ErrNotExist) {
		return doc, fmt.Errorf("document %s: its file %s is missing", d.ID, files.Path(tenantID, d.ID))
	}
	if err != nil {
		return doc, fmt.Errorf("document %s: %w", d.ID, err)
	}
	defer f.Close()
	// Stored: most documents (PDF, images, Office files) are compressed already.
	ew, err := zw.CreateHeader(&zip.FileHeader{Name: doc.File, Method: zip.Store, Modified: at})
	if err != nil {
		return doc, err
	}
	hw := newHashingWriter(ew)
	if _, err := io.Copy(hw, f); err != nil {
		return doc, fmt.Errorf("document %s: %w", d.ID, err)
	}
	doc.Size, doc.SHA256 = hw.n, hw.sum()
	if doc.Size != d.Size || doc.SHA256 != d.SHA256 {
		return doc, fmt.Errorf("document %s: its file %s does not match the size and SHA-256 recorded for it (damaged on disk?)",
			d.ID, files.Path(tenantID, d.ID))
	}
	return doc, nil
}
