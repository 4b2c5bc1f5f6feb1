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
	st, err := s.Stage(tenantID, id, r, limit)
	if err != nil {
		return Stored{}, err
	}
	if err := st.Commit(); err != nil {
		st.Discard()
		return Stored{}, err
	}
	return st.Stored, nil
}

// Staged is content written and synced to a temporary file next to the
// final place of document id, not yet under its name: Commit gives it the
// name, Discard removes it again.
type Staged struct {
	Stored
	tmp, final string
	committed  bool
}

// Stage streams r, at most limit bytes, into a temporary file beside the
// file of document id. Longer content yields a *TooLargeError; on any
// failure nothing is left behind.
func (s *Store) Stage(tenantID, id uuid.UUID, r io.Reader, limit int64) (*Staged, error) {
	if tenantID == uuid.Nil || id == uuid.Nil {
		return nil, errors.New("filestore: nil tenant or document ID")
	}
	final := s.Path(tenantID, id)
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return nil, err
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
		return nil, err
	}
	if n > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	if err := tmp.Chmod(fileMode); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	done = true
	return &Staged{
		Stored: Stored{Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), ContentType: http.DetectContentType(head.b)},
		tmp:    tmp.Name(), final: final,
	}, nil
}

// Commit moves the staged content under its final name, durably.
func (st *Staged) Commit() error {
	if err := os.Rename(st.tmp, st.final); err != nil {
		return err
	}
	st.committed = true
	// The rename is durable only once the directory is synced too.
	return syncDir(filepath.Dir(st.final))
}

// Discard removes the staged content, under its final name if it was
// committed. It is safe to call more than once.
func (st *Staged) Discard() error {
	name := st.tmp
	if st.committed {
		name = st.final
	}
	err := os.Remove(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
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
