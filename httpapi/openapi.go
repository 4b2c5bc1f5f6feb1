package httpapi

//go:generate go run ./internal/openapidoc/gen openapi.json

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/rpcrm/rpcrm/auth"
)

// OpenAPI is the OpenAPI 3.1 document of the API, generated from
// internal/openapidoc (go generate) and checked against Routes by tests.
//
//go:embed openapi.json
var OpenAPI []byte

// openapiETag is a strong validator of the document: it changes only with
// a new build that changes the API.
var openapiETag = func() string {
	sum := sha256.Sum256(OpenAPI)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// openapiRoutes serves the document. It is public: it describes the API,
// not any tenant's data, and client generators fetch it without a token.
func (a *API) openapiRoutes() []Route {
	return []Route{{Method: "GET", Path: "/api/v1/openapi.json", Access: Public,
		handler: func(w http.ResponseWriter, r *http.Request, _ *auth.Principal) { serveOpenAPI(w, r) }}}
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", openapiETag)
	// ServeContent answers If-None-Match with 304 and supports HEAD.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(OpenAPI))
}
