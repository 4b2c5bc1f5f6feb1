package openapidoc

import "slices"

// To document a new route: add an op to operations (or a resource to
// records for a type shaped like companies), with Access set to the route's
// permission ("import:run"), "authenticated" or "public"; add the schemas
// of its bodies to schemas.go (and their Go types to
// TestOpenAPISchemasMatchTypes); then run `go generate ./httpapi`. Path
// parameters ({id}, {stage_id}, ...) are declared from the path; a new name
// needs an entry in parameters(). The tests in httpapi fail until every
// route in API.Routes is documented with its permission.

func tags() []obj {
	return []obj{
		{"name": "auth", "description": "Login, tokens and the caller."},
		{"name": "users", "description": "Users of the tenant."},
		{"name": "roles", "description": "Roles and permissions."},
		{"name": "audit", "description": "The audit log."},
		{"name": "companies", "description": "Companies (Firmen)."},
		{"name": "contacts", "description": "Contacts (Personen)."},
		{"name": "deals", "description": "Deals and pipelines."},
		{"name": "activities", "description": "Activities, tasks and timelines."},
		{"name": "documents", "description": "Documents attached to records."},
		{"name": "settings", "description": "Tags and custom fields."},
		{"name": "search", "description": "Search across record types."},
		{"name": "imports", "description": "Importing records from files."},
		{"name": "exports", "description": "Exporting records to files."},
		{"name": "meta", "description": "This document."},
	}
}

// resource describes a CRM record type served like companies: list, create,
// get, patch, delete to trash, trash list, restore, purge.
type resource struct {
	path, tag     string // "/api/v1/companies", "companies"
	one, many     string // "Company", "Companies" (operation IDs, summaries)
	schema, input string // "Company", "CompanyInput" (input "" for no create/patch)
	noun          string // "company" in summaries
	sortable      []string
	defaultSort   string
	filters       []obj
	noTags        bool // the records carry no tags: no tag filter
}

// records returns the standard operations of r; create and update are left
// out when r.input is empty (documents are uploaded).
func records(r resource) []op {
	read, write, del := r.tag+":read", r.tag+":write", r.tag+":delete"
	lp := listParams(r.sortable, r.defaultSort)
	if r.noTags {
		lp = slices.DeleteFunc(lp, func(p obj) bool { return p["$ref"] == "#/components/parameters/tag" })
	}
	lp = append(lp, r.filters...)
	ops := []op{
		{Method: "GET", Path: r.path, ID: "list" + r.many, Summary: "List " + r.tag, Access: read, Query: lp, Result: r.schema + "Page",
			Desc: "Live " + r.tag + ", one page at a time. With scope own, only the caller's."},
		{Method: "GET", Path: r.path + "/trash", ID: "list" + r.one + "Trash", Summary: "List " + r.tag + " in the trash", Access: del, Query: lp, Result: r.schema + "Page",
			Desc: "Deleted " + r.tag + " that can still be restored or purged."},
		{Method: "DELETE", Path: r.path + "/trash/{id}", ID: "purge" + r.one, Summary: "Purge a " + r.noun + " from the trash", Access: del, OK: 204,
			Desc: "Deletes a " + r.noun + " in the trash for good (audited). A live " + r.noun + " answers 404."},
		{Method: "GET", Path: r.path + "/{id}", ID: "get" + r.one, Summary: "Get a " + r.noun, Access: read, Result: r.schema},
		{Method: "DELETE", Path: r.path + "/{id}", ID: "delete" + r.one, Summary: "Move a " + r.noun + " to the trash", Access: del, OK: 204},
		{Method: "POST", Path: r.path + "/{id}/restore", ID: "restore" + r.one, Summary: "Restore a " + r.noun + " from the trash", Access: del, Result: r.schema},
	}
	if r.input != "" {
		create := op{Method: "POST", Path: r.path, ID: "create" + r.one, Summary: "Create a " + r.noun, Access: write,
			Body: jsonBody(r.input), OK: 201, Result: r.schema, Errors: []int{409},
			Desc: "The whole record is validated; bad fields answer 422 and nothing is stored. A unique value already taken answers 409."}
		update := op{Method: "PATCH", Path: r.path + "/{id}", ID: "update" + r.one, Summary: "Change a " + r.noun, Access: write,
			Body: jsonBody(r.input), Headers: []string{"If-Match"}, Result: r.schema, Errors: create.Errors,
			Desc: "Partial update: absent fields stay as they are; the resulting record is validated as a whole. " +
				"Pass the version as If-Match or \"version\"; a stale one answers 412."}
		ops = append(ops, create, update)
	}
	for i := range ops {
		ops[i].Tag = r.tag
	}
	return ops
}

func idFilter(name, what string) obj {
	return query(name, "Only "+what+".", uuidS)
}

func operations() []op {
	ops := []op{
		{Tag: "meta", Method: "GET", Path: "/api/v1/openapi.json", ID: "getOpenAPI", Summary: "This OpenAPI document", Access: public,
			Result: obj{"description": "The OpenAPI 3.1 document; cacheable, with an ETag.", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}},
			More:   obj{"304": obj{"description": "Not modified (If-None-Match)."}}},

		{Tag: "auth", Method: "POST", Path: "/api/v1/auth/login", ID: "login", Summary: "Log in", Access: public,
			Body: jsonBody("LoginRequest"), Result: "TokenPair", Errors: []int{401, 429},
			Desc: "Wrong e-mail, wrong password and a disabled account all answer the same 401. Limited per client address and per account (429 with Retry-After)."},
		{Tag: "auth", Method: "POST", Path: "/api/v1/auth/refresh", ID: "refreshToken", Summary: "Exchange a refresh token", Access: public,
			Body: jsonBody("RefreshRequest"), Result: "TokenPair", Errors: []int{401},
			Desc: "Each refresh token works once (a repeat within 30 seconds is tolerated); a later reuse ends the whole session."},
		{Tag: "auth", Method: "POST", Path: "/api/v1/auth/logout", ID: "logout", Summary: "Log out", Access: authenticated, OK: 204,
			Desc: "Ends the session of the access token; its tokens stop working at once."},
		{Tag: "auth", Method: "GET", Path: "/api/v1/me", ID: "getMe", Summary: "The logged-in user", Access: authenticated, Result: "Me"},
		{Tag: "roles", Method: "GET", Path: "/api/v1/permissions", ID: "listPermissions", Summary: "The permission catalogue", Access: authenticated, Result: "PermissionCatalogue"},

		{Tag: "users", Method: "GET", Path: "/api/v1/users", ID: "listUsers", Summary: "List users", Access: "users:manage", Result: "UserList"},
		{Tag: "users", Method: "POST", Path: "/api/v1/users", ID: "createUser", Summary: "Create a user", Access: "users:manage",
			Body: jsonBody("NewUser"), OK: 201, Result: "User", Errors: []int{409},
			Desc: "E-mail addresses are unique per tenant (409). Only roles whose permissions the caller holds can be assigned."},
		{Tag: "users", Method: "GET", Path: "/api/v1/users/{id}", ID: "getUser", Summary: "Get a user", Access: "users:manage", Result: "User"},
		{Tag: "users", Method: "PATCH", Path: "/api/v1/users/{id}", ID: "updateUser", Summary: "Change a user", Access: "users:manage",
			Body: jsonBody("UserPatch"), Headers: []string{"If-Match"}, Result: "User", Errors: []int{409},
			Desc: "The last enabled administrator can neither be disabled nor lose the Administrator role (409)."},
		{Tag: "users", Method: "POST", Path: "/api/v1/users/{id}/disable", ID: "disableUser", Summary: "Disable a user", Access: "users:manage",
			Headers: []string{"If-Match"}, Result: "User", Errors: []int{409}, Desc: "Ends all the user's sessions."},
		{Tag: "users", Method: "POST", Path: "/api/v1/users/{id}/enable", ID: "enableUser", Summary: "Enable a user", Access: "users:manage",
			Headers: []string{"If-Match"}, Result: "User"},
		{Tag: "users", Method: "PUT", Path: "/api/v1/users/{id}/password", ID: "setUserPassword", Summary: "Set a user's password", Access: "users:manage",
			Body: jsonBody("PasswordInput"), OK: 204, Desc: "At least 10 characters, not a common password. Ends all the user's sessions."},

		{Tag: "roles", Method: "GET", Path: "/api/v1/roles", ID: "listRoles", Summary: "List roles", Access: "roles:manage", Result: "RoleList"},
		{Tag: "roles", Method: "POST", Path: "/api/v1/roles", ID: "createRole", Summary: "Create a role", Access: "roles:manage",
			Body: jsonBody("RoleInput"), OK: 201, Result: "Role", Errors: []int{409}},
		{Tag: "roles", Method: "GET", Path: "/api/v1/roles/{id}", ID: "getRole", Summary: "Get a role", Access: "roles:manage", Result: "Role"},
		{Tag: "roles", Method: "PATCH", Path: "/api/v1/roles/{id}", ID: "updateRole", Summary: "Change a role", Access: "roles:manage",
			Body: jsonBody("RolePatch"), Headers: []string{"If-Match"}, Result: "Role", Errors: []int{409},
			Desc: "Built-in roles cannot be changed (409)."},
		{Tag: "roles", Method: "DELETE", Path: "/api/v1/roles/{id}", ID: "deleteRole", Summary: "Delete a role", Access: "roles:manage", OK: 204, Errors: []int{409},
			Desc: "Built-in roles and roles still held by users cannot be deleted (409)."},

		{Tag: "audit", Method: "GET", Path: "/api/v1/audit-log", ID: "listAuditLog", Summary: "Read the audit log", Access: "audit:read", Result: "AuditPage",
			Query: []obj{
				query("action", `Only this action, e.g. "auth.login_failed".`, obj{"type": "string"}),
				query("entity_type", `Only entries about this entity type, e.g. "user".`, obj{"type": "string"}),
				idFilter("entity_id", "entries about this record"),
				idFilter("actor_id", "entries by this user"),
				query("limit", "Page size.", obj{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
				paramRef("cursor"),
			}, Desc: "Newest first."},
	}

	ops = append(ops, records(resource{path: "/api/v1/companies", tag: "companies", one: "Company", many: "Companies",
		schema: "Company", input: "CompanyInput", noun: "company", sortable: []string{"name", "created_at", "updated_at", "city"}, defaultSort: "name",
		filters: []obj{
			query("city", "Only companies in this city.", obj{"type": "string"}),
			query("canton", "Only companies in this canton (e.g. ZH).", obj{"type": "string"}),
			query("industry", "Only companies of this industry.", obj{"type": "string"}),
		}})...)
	ops = append(ops, records(resource{path: "/api/v1/contacts", tag: "contacts", one: "Contact", many: "Contacts",
		schema: "Contact", input: "ContactInput", noun: "contact", sortable: []string{"last_name", "first_name", "created_at", "updated_at", "birthday"}, defaultSort: "last_name",
		filters: []obj{
			idFilter("company_id", "contacts of this company"),
			query("language", "Only contacts with this correspondence language.", languageS),
		}})...)
	ops = append(ops, records(resource{path: "/api/v1/deals", tag: "deals", one: "Deal", many: "Deals",
		schema: "Deal", input: "DealInput", noun: "deal", sortable: []string{"title", "amount", "expected_close", "created_at", "updated_at"}, defaultSort: "updated_at",
		filters: []obj{
			idFilter("pipeline_id", "deals in this pipeline"),
			idFilter("stage_id", "deals in this stage"),
			idFilter("company_id", "deals of this company"),
			idFilter("contact_id", "deals of this contact"),
			query("status", "Only deals with this status.", obj{"type": "string", "enum": []string{"open", "won", "lost"}}),
			query("expected_close_from", "Only deals expected to close on or after this date.", obj{"type": "string", "format": "date"}),
			query("expected_close_to", "Only deals expected to close on or before this date.", obj{"type": "string", "format": "date"}),
		}})...)
	ops = append(ops, records(resource{path: "/api/v1/activities", tag: "activities", one: "Activity", many: "Activities",
		schema: "Activity", input: "ActivityInput", noun: "activity", sortable: []string{"created_at", "updated_at", "due_at", "subject", "done_at"}, defaultSort: "-created_at", noTags: true,
		filters: []obj{
			query("kind", "Only activities of this kind.", obj{"type": "string", "enum": []string{"note", "call", "meeting", "task", "email"}}),
			idFilter("assignee_id", "activities assigned to this user"),
			idFilter("company_id", "activities linked to this company"),
			idFilter("contact_id", "activities linked to this contact"),
			idFilter("deal_id", "activities linked to this deal"),
			query("open", "true: only open activities; false: only done ones.", boolS),
			query("due_before", "Only activities due before this time (RFC 3339).", timeS),
			query("due_after", "Only activities due after this time (RFC 3339).", timeS),
		}})...)
	ops = append(ops, records(resource{path: "/api/v1/documents", tag: "documents", one: "Document", many: "Documents",
		schema: "Document", noun: "document", sortable: []string{"created_at", "file_name", "size"}, defaultSort: "-created_at", noTags: true,
		filters: []obj{
			idFilter("company_id", "documents of this company"),
			idFilter("contact_id", "documents of this contact"),
			idFilter("deal_id", "documents of this deal"),
		}})...)

	timeline := func(path, tag, one, perm string) op {
		return op{Tag: tag, Method: "GET", Path: path + "/{id}/timeline", ID: "get" + one + "Timeline", Summary: "Timeline of a " + lower(one),
			Access: perm, Query: []obj{paramRef("limit"), paramRef("cursor")}, Result: "TimelinePage",
			Desc: "Activities linked to the record, documents attached to it and changes to it, newest first."}
	}
	ops = append(ops,
		op{Tag: "documents", Method: "POST", Path: "/api/v1/documents", ID: "uploadDocument", Summary: "Upload a document", Access: "documents:write",
			Body: obj{"required": true, "content": obj{"multipart/form-data": obj{"schema": ref("DocumentUpload")}}},
			OK:   201, Result: "Document", Errors: []int{413, 503},
			Desc: "multipart/form-data with the part \"file\" and one of company_id, contact_id or deal_id. The content type is sniffed; at most RPCRM_MAX_UPLOAD_BYTES (default 25 MiB)."},
		op{Tag: "documents", Method: "GET", Path: "/api/v1/documents/{id}/content", ID: "downloadDocument", Summary: "Download a document's content", Access: "documents:read",
			Result: obj{"description": "The file, as an attachment with the sniffed content type; ETag is the SHA-256; Range requests are supported.",
				"content": obj{"*/*": obj{"schema": obj{"type": "string", "contentMediaType": "application/octet-stream"}}}},
			More: obj{
				"206": obj{"description": "The requested range of the file."},
				"304": obj{"description": "Not modified (If-None-Match)."},
			},
			Errors: []int{503}},

		op{Tag: "imports", Method: "POST", Path: "/api/v1/imports/companies", ID: "importCompanies", Summary: "Import companies from a CSV file", Access: "import:run",
			Body:   obj{"required": true, "content": obj{"multipart/form-data": obj{"schema": ref("ImportUpload")}}},
			Result: "ImportResult", Errors: []int{413},
			Desc: "Also needs companies:write. UTF-8 (with or without BOM) or Windows-1252, ';' or ',' are detected; Swiss dates and numbers are read. A dry run or a failed all-or-nothing import changes nothing (422 with the report)."},
		op{Tag: "imports", Method: "POST", Path: "/api/v1/imports/contacts", ID: "importContacts", Summary: "Import contacts from a CSV file", Access: "import:run",
			Body:   obj{"required": true, "content": obj{"multipart/form-data": obj{"schema": ref("ImportUpload")}}},
			Result: "ImportResult", Errors: []int{413},
			Desc: "Also needs contacts:write. Duplicates are found by e-mail address; a company column links to a company of the tenant by name."},
		op{Tag: "exports", Method: "GET", Path: "/api/v1/exports/companies.csv", ID: "exportCompaniesCSV", Summary: "Export companies as CSV", Access: "export:run",
			Query: exportParams(), Result: csvResult(), Desc: "Also needs companies:read (its scope applies). Takes the filters of the company list."},
		op{Tag: "exports", Method: "GET", Path: "/api/v1/exports/contacts.csv", ID: "exportContactsCSV", Summary: "Export contacts as CSV", Access: "export:run",
			Query: exportParams(), Result: csvResult(), Desc: "Also needs contacts:read (its scope applies). Takes the filters of the contact list."},
		op{Tag: "exports", Method: "GET", Path: "/api/v1/exports/deals.csv", ID: "exportDealsCSV", Summary: "Export deals as CSV", Access: "export:run",
			Query: exportParams(), Result: csvResult(), Desc: "Also needs deals:read (its scope applies). Takes the filters of the deal list."},
		op{Tag: "exports", Method: "GET", Path: "/api/v1/exports/contacts.vcf", ID: "exportContactsVCard", Summary: "Export contacts as vCard 4.0", Access: "export:run",
			Query: exportParams(), Result: vcardResult(), Desc: "Also needs contacts:read (its scope applies). Takes the filters of the contact list."},
		op{Tag: "contacts", Method: "GET", Path: "/api/v1/contacts/{id}/vcard", ID: "getContactVCard", Summary: "One contact as vCard 4.0", Access: "contacts:read",
			Result: vcardResult()},

		op{Tag: "activities", Method: "POST", Path: "/api/v1/activities/{id}/done", ID: "markActivityDone", Summary: "Mark an activity done", Access: "activities:write",
			Headers: []string{"If-Match"}, Result: "Activity", Desc: `Shortcut for PATCH {"done": true}.`},
		op{Tag: "activities", Method: "POST", Path: "/api/v1/activities/{id}/undone", ID: "markActivityOpen", Summary: "Mark an activity open again", Access: "activities:write",
			Headers: []string{"If-Match"}, Result: "Activity", Desc: `Shortcut for PATCH {"done": false}.`},
		op{Tag: "activities", Method: "GET", Path: "/api/v1/tasks/mine", ID: "listMyTasks", Summary: "The caller's open tasks", Access: "activities:read",
			Query: []obj{paramRef("limit"), paramRef("cursor")}, Result: "ActivityPage",
			Desc: "Overdue first, then upcoming, each by due date, then those without a due date."},
		timeline("/api/v1/companies", "companies", "Company", "companies:read"),
		timeline("/api/v1/contacts", "contacts", "Contact", "contacts:read"),
		timeline("/api/v1/deals", "deals", "Deal", "deals:read"),

		op{Tag: "deals", Method: "GET", Path: "/api/v1/pipelines", ID: "listPipelines", Summary: "List pipelines", Access: "deals:read", Result: "PipelineList"},
		op{Tag: "deals", Method: "POST", Path: "/api/v1/pipelines", ID: "createPipeline", Summary: "Create a pipeline", Access: "pipelines:manage",
			Body: jsonBody("PipelineInput"), OK: 201, Result: "Pipeline", Errors: []int{409}},
		op{Tag: "deals", Method: "GET", Path: "/api/v1/pipelines/{id}", ID: "getPipeline", Summary: "Get a pipeline", Access: "deals:read", Result: "Pipeline"},
		op{Tag: "deals", Method: "PATCH", Path: "/api/v1/pipelines/{id}", ID: "updatePipeline", Summary: "Change a pipeline", Access: "pipelines:manage",
			Body: jsonBody("PipelineInput"), Headers: []string{"If-Match"}, Result: "Pipeline", Errors: []int{409}},
		op{Tag: "deals", Method: "DELETE", Path: "/api/v1/pipelines/{id}", ID: "deletePipeline", Summary: "Delete a pipeline", Access: "pipelines:manage", OK: 204, Errors: []int{409},
			Desc: "A pipeline that still has deals, or the last one, cannot be deleted (409)."},
		op{Tag: "deals", Method: "GET", Path: "/api/v1/pipelines/{id}/board", ID: "getPipelineBoard", Summary: "A pipeline's board", Access: "deals:read",
			Query: []obj{query("limit", "Deals per stage.", obj{"type": "integer", "minimum": 0, "maximum": 100, "default": 20})}, Result: "Board",
			Desc: "Each stage with its number of live deals, their totals per currency and the first deals."},
		op{Tag: "deals", Method: "POST", Path: "/api/v1/pipelines/{id}/stages", ID: "createStage", Summary: "Add a stage", Access: "pipelines:manage",
			Body: jsonBody("StageInput"), Headers: []string{"If-Match"}, OK: 201, Result: "Pipeline", Errors: []int{409},
			Desc: "Answers the whole pipeline. If-Match carries the pipeline's version."},
		op{Tag: "deals", Method: "PUT", Path: "/api/v1/pipelines/{id}/stages/order", ID: "reorderStages", Summary: "Reorder the stages", Access: "pipelines:manage",
			Body: jsonBody("StageOrder"), Headers: []string{"If-Match"}, Result: "Pipeline",
			Desc: "stage_ids must list every stage of the pipeline once. If-Match carries the pipeline's version."},
		op{Tag: "deals", Method: "PATCH", Path: "/api/v1/pipelines/{id}/stages/{stage_id}", ID: "updateStage", Summary: "Change a stage", Access: "pipelines:manage",
			Body: jsonBody("StageInput"), Headers: []string{"If-Match"}, Result: "Pipeline", Errors: []int{409}, NoETag: true,
			Desc: "Answers the whole pipeline, since moving a stage moves others. If-Match carries the stage's version."},
		op{Tag: "deals", Method: "DELETE", Path: "/api/v1/pipelines/{id}/stages/{stage_id}", ID: "deleteStage", Summary: "Delete a stage", Access: "pipelines:manage",
			Query: []obj{idFilter("move_to", "with deals: the stage of the same pipeline to move them to")}, Result: "Pipeline", Errors: []int{409},
			Desc: "A stage with deals needs move_to; the last stage cannot be deleted (409). Answers the whole pipeline."},

		op{Tag: "settings", Method: "GET", Path: "/api/v1/tags", ID: "listTags", Summary: "List tags", Access: authenticated, Result: "TagList",
			Desc: "Every record form offers the tags, so every logged-in user may read them."},
		op{Tag: "settings", Method: "POST", Path: "/api/v1/tags", ID: "createTag", Summary: "Create a tag", Access: "tags:manage",
			Body: jsonBody("TagInput"), OK: 201, Result: "Tag", Errors: []int{409}},
		op{Tag: "settings", Method: "PATCH", Path: "/api/v1/tags/{id}", ID: "updateTag", Summary: "Change a tag", Access: "tags:manage",
			Body: jsonBody("TagInput"), Headers: []string{"If-Match"}, Result: "Tag", Errors: []int{409},
			Desc: "Renaming a tag renames it on every record."},
		op{Tag: "settings", Method: "DELETE", Path: "/api/v1/tags/{id}", ID: "deleteTag", Summary: "Delete a tag", Access: "tags:manage", OK: 204,
			Desc: "Removes the tag from every record."},
		op{Tag: "settings", Method: "GET", Path: "/api/v1/custom-fields", ID: "listCustomFields", Summary: "List custom fields", Access: authenticated,
			Query: []obj{query("entity", "Only the fields of this record type.", entityS)}, Result: "CustomFieldList"},
		op{Tag: "settings", Method: "POST", Path: "/api/v1/custom-fields", ID: "createCustomField", Summary: "Define a custom field", Access: "settings:manage",
			Body: jsonBody("CustomFieldInput"), OK: 201, Result: "CustomField", Errors: []int{409}},
		op{Tag: "settings", Method: "PATCH", Path: "/api/v1/custom-fields/{id}", ID: "updateCustomField", Summary: "Change a custom field", Access: "settings:manage",
			Body: jsonBody("CustomFieldInput"), Headers: []string{"If-Match"}, Result: "CustomField", Errors: []int{409}},
		op{Tag: "settings", Method: "DELETE", Path: "/api/v1/custom-fields/{id}", ID: "deleteCustomField", Summary: "Delete a custom field", Access: "settings:manage", OK: 204},

		op{Tag: "search", Method: "GET", Path: "/api/v1/search", ID: "search", Summary: "Search companies, contacts and deals", Access: authenticated,
			Query: []obj{
				obj{"name": "q", "in": "query", "required": true, "description": "Search text, at most 200 characters.", "schema": obj{"type": "string", "minLength": 1, "maxLength": 200}},
				obj{"name": "types", "in": "query", "required": false, "description": "Record types to search, comma-separated or repeated (default: all).",
					"schema": obj{"type": "array", "items": entityS}, "style": "form", "explode": false},
				query("limit", "Hits per type.", obj{"type": "integer", "minimum": 1, "maximum": 50, "default": 10}),
			}, Result: "SearchResults",
			Desc: "Types the caller may not read are left out of the answer; with scope own only the caller's records are found."},
	)
	return ops
}

func lower(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// exportParams are the query parameters of the exports: the list filters
// (q, owner_id, tag, updated_since and the type's own) and the delimiter.
func exportParams() []obj {
	return []obj{paramRef("q"), paramRef("owner_id"), paramRef("tag"), paramRef("updated_since"),
		query("delimiter", "semicolon (default, for Excel) or comma.", obj{"type": "string", "enum": []string{"semicolon", "comma"}})}
}

func csvResult() obj {
	return obj{"description": "UTF-8 CSV with BOM, as an attachment; cells beginning with = + - @ are neutralised.",
		"content": obj{"text/csv": obj{"schema": obj{"type": "string"}}}}
}

func vcardResult() obj {
	return obj{"description": "vCard 4.0 (RFC 6350).", "content": obj{"text/vcard": obj{"schema": obj{"type": "string"}}}}
}
