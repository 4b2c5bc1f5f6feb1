package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpapi"
	"github.com/rpcrm/rpcrm/httpapi/internal/openapidoc"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/internal/testfix"
)

// openapiDoc parses the embedded document.
func openapiDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPIUpToDate fails when openapi.json was not regenerated after a
// change in internal/openapidoc.
func TestOpenAPIUpToDate(t *testing.T) {
	want, err := openapidoc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(httpapi.OpenAPI, want) {
		t.Error("httpapi/openapi.json is stale: run `go generate ./httpapi`")
	}
}

// TestOpenAPIMatchesRoutes checks the document against Routes both ways:
// every route is documented with its access, and nothing else is.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := openapiDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("no paths")
	}
	documented := map[string]map[string]any{} // "GET /api/v1/x" -> operation
	for path, item := range paths {
		for method, o := range item.(map[string]any) {
			if slices.Contains(httpMethods, method) {
				documented[strings.ToUpper(method)+" "+path] = o.(map[string]any)
			}
		}
	}

	routes := (&httpapi.API{}).Routes()
	registered := map[string]bool{}
	for _, rt := range routes {
		// Go patterns and OpenAPI templates both write {name}; a Go
		// wildcard {name...} has no OpenAPI equivalent.
		if strings.Contains(rt.Path, "...}") {
			t.Errorf("%s %s: {name...} wildcards cannot be described in OpenAPI", rt.Method, rt.Path)
		}
		key := rt.Method + " " + rt.Path
		registered[key] = true
		o, ok := documented[key]
		if !ok {
			t.Errorf("%s is not in openapi.json (add it in httpapi/internal/openapidoc and run go generate ./httpapi)", key)
			continue
		}
		access, _ := o["x-access"].(string)
		permission, hasPerm := o["x-permission"].(string)
		_, hasSecurity := o["security"]
		switch rt.Access {
		case httpapi.Public:
			if access != "public" || hasPerm {
				t.Errorf("%s is public, documented as x-access %q x-permission %q", key, access, permission)
			}
			if sec, _ := o["security"].([]any); !hasSecurity || len(sec) != 0 {
				t.Errorf("%s is public but the document asks for a token (security: %v)", key, o["security"])
			}
		case httpapi.Authenticated:
			if access != "authenticated" || hasPerm || hasSecurity {
				t.Errorf("%s is open to any logged-in user, documented as x-access %q x-permission %q security %v", key, access, permission, o["security"])
			}
		case httpapi.Permitted:
			if access != "permission" || permission != string(rt.Permission) || hasSecurity {
				t.Errorf("%s needs %s, documented as x-access %q x-permission %q security %v", key, rt.Permission, access, permission, o["security"])
			}
			if d, _ := o["description"].(string); !strings.Contains(d, string(rt.Permission)) {
				t.Errorf("%s: the description does not name the permission %s", key, rt.Permission)
			}
		}
		resp, _ := o["responses"].(map[string]any)
		if rt.Access != httpapi.Public && resp["401"] == nil {
			t.Errorf("%s: 401 not documented", key)
		}
		if rt.Access == httpapi.Permitted && resp["403"] == nil {
			t.Errorf("%s: 403 not documented", key)
		}
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("openapi.json documents %s, which is no route", key)
		}
	}
	if len(documented) != len(routes) {
		t.Errorf("%d operations documented, %d routes registered", len(documented), len(routes))
	}
}

// TestOpenAPIStructure checks what a client generator relies on: required
// fields, declared path parameters, unique operation IDs and references
// that resolve.
func TestOpenAPIStructure(t *testing.T) {
	doc := openapiDoc(t)
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "RP CRM API" || info["version"] == nil {
		t.Errorf("info = %v", info)
	}
	schemes, _ := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if b, _ := schemes["bearerAuth"].(map[string]any); b["type"] != "http" || b["scheme"] != "bearer" {
		t.Errorf("securitySchemes.bearerAuth = %v", schemes["bearerAuth"])
	}

	// Every $ref resolves.
	var refs int
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				refs++
				if resolve(doc, r) == nil {
					t.Errorf("%s: $ref %q does not resolve", at, r)
				}
			}
			for k, x := range v {
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(doc, "#")
	if refs < 100 {
		t.Errorf("only %d $refs: is the walk broken?", refs)
	}

	template := regexp.MustCompile(`\{([^}]+)\}`)
	ids := map[string]string{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, v := range item.(map[string]any) {
			key := strings.ToUpper(method) + " " + path
			if !slices.Contains(httpMethods, method) {
				t.Errorf("%s: %q is no HTTP method", path, method)
				continue
			}
			o := v.(map[string]any)
			id, _ := o["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", key)
			} else if other, dup := ids[id]; dup {
				t.Errorf("operationId %s used by %s and %s", id, other, key)
			}
			ids[id] = key
			if s, _ := o["summary"].(string); s == "" {
				t.Errorf("%s has no summary", key)
			}

			// Parameters: well-formed, path ones required, every template
			// variable declared and nothing declared that isn't in the path.
			inPath := map[string]bool{}
			seen := map[string]bool{}
			params, _ := o["parameters"].([]any)
			for _, p := range params {
				p := deref(doc, p)
				name, _ := p["name"].(string)
				in, _ := p["in"].(string)
				if name == "" || !slices.Contains([]string{"path", "query", "header", "cookie"}, in) || p["schema"] == nil {
					t.Errorf("%s: malformed parameter %v", key, p)
				}
				if seen[in+" "+name] {
					t.Errorf("%s: parameter %s declared twice", key, name)
				}
				seen[in+" "+name] = true
				if in == "path" {
					inPath[name] = true
					if p["required"] != true {
						t.Errorf("%s: path parameter %s must be required", key, name)
					}
					if !strings.Contains(path, "{"+name+"}") {
						t.Errorf("%s: path parameter %s is not in the path", key, name)
					}
				}
			}
			for _, m := range template.FindAllStringSubmatch(path, -1) {
				if !inPath[m[1]] {
					t.Errorf("%s: path parameter {%s} is not declared", key, m[1])
				}
			}

			responses, _ := o["responses"].(map[string]any)
			var success bool
			for status, r := range responses {
				if strings.HasPrefix(status, "2") {
					success = true
				}
				if d, _ := deref(doc, r)["description"].(string); d == "" {
					t.Errorf("%s: response %s has no description", key, status)
				}
			}
			if !success {
				t.Errorf("%s documents no success response", key)
			}
			if rb, ok := o["requestBody"]; ok {
				if c, _ := deref(doc, rb)["content"].(map[string]any); len(c) == 0 {
					t.Errorf("%s: request body without content", key)
				}
			}
		}
	}

	// The problem responses carry the RFC 9457 shape.
	problem, _ := resolve(doc, "#/components/schemas/Problem").(map[string]any)
	props, _ := problem["properties"].(map[string]any)
	for _, f := range []string{"type", "title", "status", "detail", "instance", "code", "request_id", "errors"} {
		if props[f] == nil {
			t.Errorf("Problem schema lacks %s", f)
		}
	}
	for _, status := range []string{"Unauthorized", "Forbidden", "NotFound", "Conflict", "PreconditionFailed", "TooLarge", "Invalid", "RateLimited"} {
		r, _ := resolve(doc, "#/components/responses/"+status).(map[string]any)
		c, _ := r["content"].(map[string]any)
		if c["application/problem+json"] == nil {
			t.Errorf("response %s is not a problem document", status)
		}
	}
}

// resolve follows a local JSON pointer reference; nil if it leads nowhere.
func resolve(doc map[string]any, ref string) any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[tok]; !ok {
			return nil
		}
	}
	return cur
}

// deref returns v, or what its $ref points at.
func deref(doc map[string]any, v any) map[string]any {
	m, _ := v.(map[string]any)
	if r, ok := m["$ref"].(string); ok {
		m, _ = resolve(doc, r).(map[string]any)
	}
	return m
}

// TestOpenAPIServed fetches the document like a client generator: without
// a token, cacheable, revalidated with its ETag.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := newServer(t, e, serverOptions{})

	res := s.do(t, request{Path: "/api/v1/openapi.json"})
	if res.Status != http.StatusOK {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") || strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control = %q, want cacheable", cc)
	}
	if !bytes.Equal(res.Body, httpapi.OpenAPI) {
		t.Error("served document differs from the embedded one")
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res = s.do(t, request{Path: "/api/v1/openapi.json", Header: map[string]string{"If-None-Match": etag}})
	if res.Status != http.StatusNotModified || len(res.Body) != 0 {
		t.Errorf("revalidation: status %d, %d bytes; want 304 without body", res.Status, len(res.Body))
	}
	// Only GET (and HEAD) are served; the API answers other methods as
	// unknown addresses.
	res = s.do(t, request{Method: "POST", Path: "/api/v1/openapi.json", Body: "{}"})
	if res.Status != http.StatusNotFound {
		t.Errorf("POST: status %d, want 404", res.Status)
	}
}

// TestOpenAPISchemasMatchTypes compares the schemas with the Go types the
// API encodes and decodes: same JSON field names, and for answers the
// fields always present (no omitempty) are the required ones. A field
// added to a type without documenting it fails here.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc := openapiDoc(t)
	answers := map[string]any{
		"Company": crm.Company{}, "Contact": crm.Contact{}, "Consent": crm.Consent{}, "Deal": crm.Deal{},
		"Pipeline": crm.Pipeline{}, "Stage": crm.Stage{}, "Board": crm.Board{}, "BoardStage": crm.BoardStage{},
		"MoneyAmount": crm.MoneyAmount{}, "Activity": crm.Activity{}, "TimelineItem": crm.TimelineItem{},
		"Document": crm.Document{}, "Tag": crm.Tag{}, "CustomField": crm.CustomField{},
		"SearchHit": crm.SearchHit{}, "SearchResults": crm.SearchResults{}, "Address": crm.Address{},
		"ImportResult": crm.ImportResult{}, "ImportError": crm.ImportError{},
		"CompanyPage": crm.Page[*crm.Company]{}, "AuditChange": audit.Change{}, "AuditEntry": audit.Entry{},
		"User": auth.User{}, "RoleRef": auth.RoleRef{}, "Role": auth.Role{}, "PermissionInfo": auth.PermissionInfo{},
		"TokenPair": auth.TokenPair{}, "Problem": httpserver.Problem{}, "FieldError": httpserver.FieldError{},
	}
	inputs := map[string]any{
		"CompanyInput": crm.CompanyInput{}, "ContactInput": crm.ContactInput{}, "ConsentInput": crm.ConsentInput{},
		"DealInput": crm.DealInput{}, "PipelineInput": crm.PipelineInput{}, "StageInput": crm.StageInput{},
		"StageOrder": crm.StageOrder{}, "ActivityInput": crm.ActivityInput{}, "TagInput": crm.TagInput{},
		"CustomFieldInput": crm.CustomFieldInput{}, "NewUser": auth.NewUser{}, "UserPatch": auth.UserPatch{},
		"RoleInput": auth.RoleInput{}, "RolePatch": auth.RolePatch{}, "AddressInput": crm.Address{},
	}
	check := func(name string, v any, answer bool) {
		props, required := schemaFields(t, doc, name)
		fields, always := jsonFields(reflect.TypeOf(v))
		if !slices.Equal(props, fields) {
			t.Errorf("schema %s has properties %v, Go type %T has JSON fields %v", name, props, v, fields)
		}
		if answer && !slices.Equal(required, always) {
			t.Errorf("schema %s requires %v, but %T always sends %v", name, required, v, always)
		}
	}
	for name, v := range answers {
		check(name, v, true)
	}
	for name, v := range inputs {
		check(name, v, false)
	}
}

// schemaFields returns a schema's property names and required ones, sorted,
// following allOf.
func schemaFields(t *testing.T, doc map[string]any, name string) (props, required []string) {
	t.Helper()
	s := deref(doc, map[string]any{"$ref": "#/components/schemas/" + name})
	if s == nil {
		t.Fatalf("no schema %s", name)
	}
	var collect func(s map[string]any)
	collect = func(s map[string]any) {
		for _, part := range asSlice(s["allOf"]) {
			collect(deref(doc, part))
		}
		for p := range asMap(s["properties"]) {
			props = append(props, p)
		}
		for _, r := range asSlice(s["required"]) {
			required = append(required, r.(string))
		}
	}
	collect(s)
	slices.Sort(props)
	slices.Sort(required)
	return props, required
}

func asSlice(v any) []any        { s, _ := v.([]any); return s }
func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// jsonFields returns the JSON names of a struct's fields (embedded structs
// flattened, "-" left out) and those without omitempty/omitzero, sorted.
func jsonFields(typ reflect.Type) (all, always []string) {
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			a, b := jsonFields(f.Type)
			all, always = append(all, a...), append(always, b...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			always = append(always, name)
		}
	}
	slices.Sort(all)
	slices.Sort(always)
	return all, always
}
