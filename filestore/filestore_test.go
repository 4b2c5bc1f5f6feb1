package filestore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/uuid"
)

// files lists the regular files and directories under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func TestPutOpenRemove(t *testing.T) {
	dir := t.TempDir()
	s := New(dir)
	tenant, id := uuid.New(), uuid.Must(uuid.NewV7())
	content := []byte("%PDF-1.7\n" + strings.Repeat("x", 5000))
	st, err := s.Put(tenant, id, bytes.NewReader(content), int64(len(content)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if st.Size != int64(len(content)) || st.SHA256 != hex.EncodeToString(sum[:]) || st.ContentType != "application/pdf" {
		t.Errorf("Put = %+v", st)
	}
	want := filepath.Join(tenant.String(), id.String()[:2], id.String())
	if got := files(t, dir); len(got) != 1 || got[0] != want {
		t.Errorf("files = %v, want [%s]", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, want))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("file mode %v", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Join(dir, tenant.String()))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm()&^0o750 != 0 {
		t.Errorf("dir mode %v is wider than 0750", di.Mode().Perm())
	}
	f, err := s.Open(tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read back %d bytes, err %v", len(got), err)
	}
	// The same ID in another tenant is another file.
	if _, err := s.Open(uuid.New(), id); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open in another tenant: %v", err)
	}
	if err := s.Remove(tenant, id); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(tenant, id); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files left after Remove: %v", got)
	}
}

func TestPutTooLargeLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := New(dir)
	_, err := s.Put(uuid.New(), uuid.New(), strings.NewReader(strings.Repeat("a", 1025)), 1024)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 1024 {
		t.Fatalf("Put over the limit: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files left: %v", got)
	}
	// Exactly at the limit is fine.
	if _, err := s.Put(uuid.New(), uuid.New(), strings.NewReader(strings.Repeat("a", 1024)), 1024); err != nil {
		t.Errorf("Put at the limit: %v", err)
	}
}

func TestPutReadErrorLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := New(dir)
	tenant, id := uuid.New(), uuid.New()
	r := io.MultiReader(strings.NewReader("partial content"), iotest.ErrReader(errors.New("connection reset")))
	if _, err := s.Put(tenant, id, r, 1<<20); err == nil {
		t.Fatal("Put succeeded on a failing reader")
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("half-written upload left behind: %v", got)
	}
	if _, err := s.Open(tenant, id); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after failed Put: %v", err)
	}
}

func TestSniffIgnoresName(t *testing.T) {
	s := New(t.TempDir())
	st, err := s.Put(uuid.New(), uuid.New(), strings.NewReader("<!DOCTYPE html><html><script>alert(1)</script>"), 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if st.ContentType != "text/html; charset=utf-8" {
		t.Errorf("ContentType = %q", st.ContentType)
	}
	st, err = s.Put(uuid.New(), uuid.New(), strings.NewReader(""), 1<<10)
	if err != nil || st.Size != 0 || st.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty file: %+v, %v", st, err)
	}
}
