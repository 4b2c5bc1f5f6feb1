// Package filestore keeps uploaded files on the local disk, one directory per
// tenant, each file named by its document ID. Client-supplied file names
// never reach the file system: a path is built from two UUIDs only.
package filestore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/google/uuid"
)

// File and directory modes: the server's group (e.g. the backup job) may
// read uploads, nobody else may.
const (
	fileMode = 0o640
	dirMode  = 0o750
)

// sniffLen is how much of a file http.DetectContentType looks at.
const sniffLen = 512

// TooLargeError reports content longer than the limit Put was given.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("file exceeds %d bytes", e.Limit)
}

// Store is a directory of uploads laid out as <dir>/<tenant>/<id[0:2]>/<id>;
// the two-character level keeps directories small for large tenants.
type Store struct {
	dir string
}

// New returns a store rooted at dir. Directories are created on the first
// upload, so a server that never stores files leaves no trace.
func New(dir string) *Store { return &Store{dir: dir} }

// Path is where the file of document id of tenantID lives.
func (s *Store) Path(tenantID, id uuid.UUID) string {
	name := id.String()
	return filepath.Join(s.dir, tenantID.String(), name[:2], name)
}

// Stored describes a file Put has written.
type Stored struct {
	Size        int64
	SHA256      string // lower-case hex
	ContentType string // sniffed from the content, never taken from the client
}

// Put streams r into the file of document id, reading at most limit bytes.
// The content goes to a temporary file in the target directory that is
// synced and then renamed, so a file under its final name is always
// complete, even after a crash. Longer content yields a *TooLargeError and
// leaves nothing behind; so does any other failure.
func (s *Store) Put(tenantID, id uuid.UUID, r io.Reader, limit int64) (Stored, error) {
	if tenantID == uuid.Nil || id == uuid.Nil {
		return Stored{}, errors.New("filestore: nil tenant or document ID")
	}
	final := s.Path(tenantID, id)
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return Stored{}, err
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return Stored{}, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	head := &prefix{max: sniffLen}
	n, err := io.Copy(io.MultiWriter(tmp, h, head), io.LimitReader(r, limit+1))
	if err != nil {
		return Stored{}, err
	}
	if n > limit {
		return Stored{}, &TooLargeError{Limit: limit}
	}
	if err := tmp.Chmod(fileMode); err != nil {
		return Stored{}, err
	}
	if err := tmp.Sync(); err != nil {
		return Stored{}, err
	}
	if err := tmp.Close(); err != nil {
		return Stored{}, err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Stored{}, err
	}
	done = true
	// The rename is durable only once the directory is synced too.
	if err := syncDir(dir); err != nil {
		os.Remove(final)
		return Stored{}, err
	}
	return Stored{Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), ContentType: http.DetectContentType(head.b)}, nil
}

// Open opens the file of document id for reading; a missing file gives an
// error that matches fs.ErrNotExist.
func (s *Store) Open(tenantID, id uuid.UUID) (*os.File, error) {
	return os.Open(s.Path(tenantID, id))
}

// Remove deletes the file of document id. A file that is already gone is no
// error, so that a purge can be repeated after a partial failure.
func (s *Store) Remove(tenantID, id uuid.UUID) error {
	err := os.Remove(s.Path(tenantID, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// prefix keeps the first max bytes written to it.
type prefix struct {
	b   []byte
	max int
}

func (p *prefix) Write(b []byte) (int, error) {
	if room := p.max - len(p.b); room > 0 {
		p.b = append(p.b, b[:min(room, len(b))]...)
	}
	return len(b), nil
}
