// Package openapidoc builds RP CRM's OpenAPI 3.1 document, which
// httpapi serves from its embedded copy (httpapi/openapi.json). Run
// `go generate ./httpapi` after changing it; a test fails while the
// embedded copy is stale and while a route is missing from the document.
//
// The document is declared here rather than derived from httpapi.Routes:
// the test compares the two, so a route added without documentation (or
// with a different permission) is caught.
package openapidoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

type obj map[string]any

// with returns o with k set to v.
func (o obj) with(k string, v any) obj {
	o[k] = v
	return o
}

// without returns o without k.
func (o obj) without(k string) obj {
	delete(o, k)
	return o
}

// Access values of the x-access extension.
const (
	public        = "public"
	authenticated = "authenticated"
)

// op is one operation. Access is "public", "authenticated" or a permission
// name such as "contacts:read".
type op struct {
	Method, Path, ID, Summary, Desc, Access string
	Query                                   []obj    // query parameters
	Body                                    obj      // request body (content), nil for none
	OK                                      int      // success status
	Result                                  any      // schema name (string) or full response object (obj); nil for no content
	Errors                                  []int    // problem responses beyond those implied
	Headers                                 []string // request headers: "If-Match"
	Tag                                     string
	NoETag                                  bool // the answer carries no ETag
	More                                    obj  // further responses by status
}

// JSON returns the document, indented, as httpapi/openapi.json holds it.
func JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Document()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Document builds the OpenAPI document.
func Document() map[string]any {
	paths := obj{}
	for _, o := range operations() {
		item, _ := paths[o.Path].(obj)
		if item == nil {
			item = obj{}
			paths[o.Path] = item
		}
		item[strings.ToLower(o.Method)] = o.build()
	}
	return obj{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": obj{
			"title":   "RP CRM API",
			"version": "1",
			"description": "JSON API of RP CRM. The host name selects the tenant. Requests and responses are JSON in snake_case; " +
				"timestamps are RFC 3339, money is a decimal string with a currency. Errors are RFC 9457 problem documents. " +
				"Lists use cursor (keyset) pagination: pass next_cursor as cursor. Records carry a version; send it as If-Match " +
				"(or \"version\" in the body) when changing them. Each operation names what it requires in x-access " +
				"(public, authenticated or permission) and x-permission. A scoped permission granted as \":own\" limits " +
				"the operation to records the user owns; other records answer 404.",
		},
		"servers":  []obj{{"url": "/", "description": "The tenant's host."}},
		"security": []obj{{"bearerAuth": []string{}}},
		"tags":     tags(),
		"paths":    paths,
		"components": obj{
			"securitySchemes": obj{"bearerAuth": obj{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "Access token from POST /api/v1/auth/login or /api/v1/auth/refresh."}},
			"schemas":    schemas(),
			"responses":  problemResponses(),
			"parameters": parameters(),
			"headers": obj{
				"ETag":     obj{"description": `The record's version, e.g. "3".`, "schema": obj{"type": "string"}},
				"Location": obj{"description": "Path of the new record.", "schema": obj{"type": "string"}},
			},
		},
	}
}

var problemStatus = map[int]struct{ name, desc string }{
	401: {"Unauthorized", "No, an expired or a foreign access token (WWW-Authenticate: Bearer)."},
	403: {"Forbidden", "Logged in, but the permission is missing."},
	404: {"NotFound", "No such record in this tenant, or not within the caller's scope."},
	409: {"Conflict", "A unique value is taken, or the change would break a rule."},
	412: {"PreconditionFailed", "The record changed since it was read (stale If-Match or version); nothing was changed."},
	413: {"TooLarge", "The upload exceeds the limit; nothing was stored."},
	422: {"Invalid", "Bad input; errors names the fields; nothing was changed."},
	429: {"RateLimited", "Too many attempts; see Retry-After."},
	503: {"Unavailable", "A needed part of the service is not available."},
}

func problemResponses() obj {
	rs := obj{}
	for status, p := range problemStatus {
		r := obj{"description": p.desc, "content": obj{"application/problem+json": obj{"schema": ref("Problem")}}}
		switch status {
		case 401:
			r["headers"] = obj{"WWW-Authenticate": obj{"schema": obj{"type": "string"}, "description": `Bearer realm="rpcrm"`}}
		case 429:
			r["headers"] = obj{"Retry-After": obj{"schema": obj{"type": "integer"}, "description": "Seconds to wait."}}
		}
		rs[p.name] = r
	}
	rs["Error"] = obj{"description": "A fault on the server's side; the log has the detail under request_id.",
		"content": obj{"application/problem+json": obj{"schema": ref("Problem")}}}
	return rs
}

func parameters() obj {
	q := func(name, desc string, schema obj) obj {
		return obj{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
	}
	return obj{
		"id":       obj{"name": "id", "in": "path", "required": true, "description": "The record's ID.", "schema": uuidS},
		"stage_id": obj{"name": "stage_id", "in": "path", "required": true, "description": "The stage's ID.", "schema": uuidS},
		"IfMatch": obj{"name": "If-Match", "in": "header", "required": false,
			"description": `The version last read, as returned in ETag ("3" or W/"3"); stale answers 412.`, "schema": obj{"type": "string"}},
		"q":             q("q", "Search text (German-aware, typo-tolerant), at most 200 characters.", obj{"type": "string", "maxLength": 200}),
		"limit":         q("limit", "Page size.", obj{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
		"cursor":        q("cursor", "next_cursor of the previous page; valid only with the same sort.", obj{"type": "string"}),
		"owner_id":      q("owner_id", "Only records of this owner.", uuidS),
		"tag":           q("tag", "Only records with this tag.", obj{"type": "string"}),
		"updated_since": q("updated_since", "Only records changed at or after this time (RFC 3339).", timeS),
	}
}

// listParams are the query parameters every record list takes, with the
// sortable fields of the resource.
func listParams(sortable []string, def string) []obj {
	var sorts []string
	for _, s := range sortable {
		sorts = append(sorts, s, "-"+s)
	}
	return []obj{
		paramRef("q"),
		{"name": "sort", "in": "query", "required": false, "description": `Sort field; "-field" sorts descending.`,
			"schema": obj{"type": "string", "enum": sorts, "default": def}},
		paramRef("limit"), paramRef("cursor"), paramRef("owner_id"), paramRef("tag"), paramRef("updated_since"),
	}
}

func paramRef(name string) obj { return obj{"$ref": "#/components/parameters/" + name} }

func query(name, desc string, schema obj) obj {
	return obj{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
}

func jsonBody(schema string) obj {
	return obj{"required": true, "content": obj{"application/json": obj{"schema": ref(schema)}}}
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func (o op) build() obj {
	out := obj{"operationId": o.ID, "summary": o.Summary, "tags": []string{o.Tag}}
	desc := o.Desc
	switch o.Access {
	case public:
		out["security"] = []obj{}
		out["x-access"] = public
		desc = strings.TrimSpace(desc + "\n\nAccess: public (no token).")
	case authenticated:
		out["x-access"] = authenticated
		desc = strings.TrimSpace(desc + "\n\nAccess: any logged-in user.")
	default:
		out["x-access"] = "permission"
		out["x-permission"] = o.Access
		desc = strings.TrimSpace(desc + fmt.Sprintf("\n\nRequires permission `%s`.", o.Access))
	}
	out["description"] = desc

	var params []obj
	for _, m := range pathParam.FindAllStringSubmatch(o.Path, -1) {
		params = append(params, paramRef(m[1]))
	}
	for _, h := range o.Headers {
		if h == "If-Match" {
			params = append(params, paramRef("IfMatch"))
		}
	}
	params = append(params, o.Query...)
	if len(params) > 0 {
		out["parameters"] = params
	}
	if o.Body != nil {
		out["requestBody"] = o.Body
	}

	responses := obj{}
	ok := o.OK
	if ok == 0 {
		ok = 200
	}
	switch r := o.Result.(type) {
	case nil:
		responses[fmt.Sprint(ok)] = obj{"description": "Done; no content."}
	case string:
		resp := obj{"description": "OK.", "content": obj{"application/json": obj{"schema": ref(r)}}}
		h := obj{}
		if versioned[r] && !o.NoETag {
			h["ETag"] = obj{"$ref": "#/components/headers/ETag"}
		}
		if ok == 201 {
			resp["description"] = "Created."
			if o.Method == "POST" && !strings.Contains(o.Path, "{") {
				h["Location"] = obj{"$ref": "#/components/headers/Location"}
			}
		}
		if len(h) > 0 {
			resp["headers"] = h
		}
		responses[fmt.Sprint(ok)] = resp
	case obj:
		responses[fmt.Sprint(ok)] = r
	}
	for status, r := range o.More {
		responses[status] = r
	}
	errs := map[int]bool{}
	for _, e := range o.Errors {
		errs[e] = true
	}
	if o.Access != public {
		errs[401] = true
	}
	if o.Access != public && o.Access != authenticated {
		errs[403] = true
	}
	if strings.Contains(o.Path, "{") {
		errs[404] = true
	}
	if o.Body != nil || len(o.Query) > 0 {
		errs[422] = true
	}
	if len(o.Headers) > 0 {
		errs[412] = true
		errs[422] = true
	}
	for status := range errs {
		responses[fmt.Sprint(status)] = obj{"$ref": "#/components/responses/" + problemStatus[status].name}
	}
	responses["default"] = obj{"$ref": "#/components/responses/Error"}
	out["responses"] = responses
	return out
}

// versioned are the schemas whose GET/PATCH answers carry an ETag.
var versioned = map[string]bool{"Company": true, "Contact": true, "Deal": true, "Activity": true, "Document": true,
	"Pipeline": true, "Tag": true, "CustomField": true, "User": true, "Role": true}
