package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// File modes: a backup holds every tenant's data, so only its owner reads it.
const (
	backupFileMode = 0o600
	backupDirMode  = 0o700
	// Restored uploads get the modes filestore gives them.
	uploadFileMode = 0o640
	uploadDirMode  = 0o750
)

// partialSuffix marks a file still being written. Together with the leading
// dot it keeps a half-written file from ever carrying a final name.
const partialSuffix = ".partial"

// atomicFile is a file written under a temporary name in its final
// directory and renamed into place only once it is complete and synced.
type atomicFile struct {
	f     *os.File
	final string
	h     io.Writer
	sum   func() string
	n     int64
}

func createAtomic(final string) (*atomicFile, error) {
	dir, base := filepath.Split(final)
	f, err := os.OpenFile(filepath.Join(dir, "."+base+partialSuffix), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, backupFileMode)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	return &atomicFile{f: f, final: final, h: h, sum: func() string { return hex.EncodeToString(h.Sum(nil)) }}, nil
}

func (a *atomicFile) Write(p []byte) (int, error) {
	n, err := a.f.Write(p)
	a.h.Write(p[:n])
	a.n += int64(n)
	return n, err
}

// commit syncs the file, renames it to its final name and syncs the directory.
func (a *atomicFile) commit() error {
	if err := a.f.Sync(); err != nil {
		a.abort()
		return err
	}
	if err := a.f.Close(); err != nil {
		os.Remove(a.f.Name())
		return err
	}
	if err := os.Rename(a.f.Name(), a.final); err != nil {
		os.Remove(a.f.Name())
		return err
	}
	return syncDir(filepath.Dir(a.final))
}

// abort removes the temporary file; after commit it does nothing.
func (a *atomicFile) abort() {
	a.f.Close()
	os.Remove(a.f.Name())
}

// writeFileAtomic writes data to path through a synced temporary file.
func writeFileAtomic(path string, data []byte) error {
	a, err := createAtomic(path)
	if err != nil {
		return err
	}
	if _, err := a.Write(data); err != nil {
		a.abort()
		return err
	}
	return a.commit()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// fileSum returns the size and SHA-256 of a file.
func fileSum(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// writeUploads archives every file under root (the uploads directory) into
// w as a gzip-compressed tar, with paths relative to root. Files still being
// uploaded (filestore's ".upload-*" temporaries) are left out. A missing
// root gives an empty archive. It returns the number of files.
func writeUploads(w io.Writer, root string) (int, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return 0, err
	}
	tw := tar.NewWriter(zw)
	files := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if p == root || strings.HasPrefix(d.Name(), ".upload-") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: filepath.ToSlash(rel) + "/",
				Mode: uploadDirMode, ModTime: info.ModTime()})
		case info.Mode().IsRegular():
		default:
			return fmt.Errorf("uploads: %s is neither a file nor a directory", p)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: filepath.ToSlash(rel), Mode: uploadFileMode,
			Size: info.Size(), ModTime: info.ModTime()}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		// Uploaded files never change once stored; a size that moves
		// under us means something else is writing there.
		if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
			return fmt.Errorf("uploads: read %s: %w", p, err)
		}
		files++
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	return files, zw.Close()
}

// readUploads walks the archive and calls fn for every regular file with its
// cleaned relative path. Anything that could write outside the target —
// absolute paths, "..", links, devices — is refused.
func readUploads(r io.Reader, fn func(rel string, hdr *tar.Header, content io.Reader) error) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("uploads archive: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("uploads archive: %w", err)
		}
		name := path.Clean(hdr.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || name == "." {
			return fmt.Errorf("uploads archive: unsafe path %q", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
			if err := fn(name, hdr, tr); err != nil {
				return err
			}
		default:
			return fmt.Errorf("uploads archive: %q is not a regular file", hdr.Name)
		}
	}
}

// writeUploadFile creates dir/rel with content, creating parents, synced.
func writeUploadFile(dir, rel string, content io.Reader) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), uploadDirMode); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, uploadFileMode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dirEmpty reports whether dir is missing or has no entries.
func dirEmpty(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(entries) == 0, nil
}
