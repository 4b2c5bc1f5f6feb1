// Package tenantexport moves one tenant's data between installations: Export
// writes every exported tenant table (postgres.TenantTables) as JSON Lines
// and every document file into a zip with a manifest of checksums; Import
// checks such a zip completely and then fills an empty tenant with it in
// one transaction. The layout is described in docs/tenant-export.md.
package tenantexport

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Format identifies the archive; FormatVersion changes when its layout does.
const (
	Format        = "rpcrm-tenant-export"
	FormatVersion = 1
	ManifestName  = "manifest.json"
)

// Manifest describes an export: where it comes from and every file in it
// with its SHA-256.
type Manifest struct {
	Format        string     `json:"format"`
	FormatVersion int        `json:"format_version"`
	SchemaVersion int64      `json:"schema_version"` // the goose version of the exporting database
	AppVersion    string     `json:"app_version,omitempty"`
	Tenant        TenantInfo `json:"tenant"`
	ExportedAt    time.Time  `json:"exported_at"`
	Tables        []Table    `json:"tables"`
	Documents     []Document `json:"documents"`
}

// TenantInfo names the exported tenant.
type TenantInfo struct {
	ID   uuid.UUID `json:"id"`
	Slug string    `json:"slug"`
	Name string    `json:"name"`
}

// Table is one table's file: one JSON object per line, without tenant_id.
type Table struct {
	Name    string   `json:"name"`
	File    string   `json:"file"`
	Columns []string `json:"columns"`
	Rows    int64    `json:"rows"`
	Size    int64    `json:"size"`
	SHA256  string   `json:"sha256"`
}

// Document is the content of one document, named by its ID.
type Document struct {
	ID     uuid.UUID `json:"id"`
	File   string    `json:"file"`
	Size   int64     `json:"size"`
	SHA256 string    `json:"sha256"`
}

// Rows is the number of rows of all tables.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// DocumentBytes is the size of all document files.
func (m *Manifest) DocumentBytes() int64 {
	var n int64
	for _, d := range m.Documents {
		n += d.Size
	}
	return n
}

func tableFile(table string) string { return "tables/" + table + ".jsonl" }

func documentFile(id uuid.UUID) string { return "documents/" + id.String() }

func parseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s is not valid: %w", ManifestName, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%s: not an RP CRM tenant export (format %q)", ManifestName, m.Format)
	}
	if m.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("export format version %d, this rpcrm reads version %d", m.FormatVersion, FormatVersion)
	}
	return &m, nil
}
