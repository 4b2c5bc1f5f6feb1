package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

// assets serves the embedded static files. URLs carry a content hash
// (/static/app.css?v=1a2b3c4d), so that browsers may keep them for a year
// and still never run an old script after an update.
type assets struct {
	fsys    fs.FS
	version map[string]string // file → hash prefix
}

func newAssets(fsys fs.FS) *assets {
	a := &assets{fsys: fsys, version: map[string]string{}}
	_ = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.version[path] = hex.EncodeToString(sum[:4])
		return nil
	})
	return a
}

// url returns the versioned URL of a static file, or "" when the file is
// not embedded (the front-end libraries are missing from a build made
// without `make assets`; the UI then works without JavaScript).
func (a *assets) url(name string) string {
	v, ok := a.version[name]
	if !ok {
		return ""
	}
	return "/static/" + name + "?v=" + v
}

// has reports whether a static file is embedded.
func (a *assets) has(name string) bool { _, ok := a.version[name]; return ok }

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if _, ok := a.version[name]; !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == a.version[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	http.ServeFileFS(w, r, a.fsys, name)
}
