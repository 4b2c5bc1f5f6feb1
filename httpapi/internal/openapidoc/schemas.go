package openapidoc

// Schemas for the API's JSON bodies. They follow the Go types in crm, auth,
// audit and httpapi field by field; "nullable" fields are ["T", "null"].

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func str(desc string) obj {
	o := obj{"type": "string"}
	if desc != "" {
		o["description"] = desc
	}
	return o
}

func nullable(typ string, extra obj) obj {
	o := obj{"type": []string{typ, "null"}}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

var (
	uuidS      = obj{"type": "string", "format": "uuid"}
	uuidNull   = nullable("string", obj{"format": "uuid"})
	timeS      = obj{"type": "string", "format": "date-time"}
	timeNull   = nullable("string", obj{"format": "date-time"})
	dateNull   = nullable("string", obj{"format": "date", "description": "Date, YYYY-MM-DD."})
	intS       = obj{"type": "integer"}
	boolS      = obj{"type": "boolean"}
	strList    = obj{"type": "array", "items": obj{"type": "string"}}
	uuidList   = obj{"type": "array", "items": uuidS}
	versionS   = obj{"type": "integer", "minimum": 1, "description": "Optimistic-concurrency version; sent back as ETag."}
	versionIn  = obj{"type": "integer", "minimum": 0, "description": "The version last read; a stale one answers 412. 0 or absent: not checked (If-Match is the alternative)."}
	decimalS   = nullable("string", obj{"pattern": `^-?[0-9]+\.[0-9]{2}$`, "description": `Exact decimal with two places, e.g. "12500.00"; never a float.`})
	currencyS  = obj{"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code, e.g. CHF."}
	languageS  = obj{"type": "string", "enum": []string{"de", "fr", "it", "en"}}
	entityS    = obj{"type": "string", "enum": []string{"company", "contact", "deal"}}
	clearableS = func(format, desc string) obj {
		return nullable("string", obj{"format": format, "description": desc + " Absent leaves it, null clears it."})
	}
)

// object builds an object schema; required lists the fields always present.
func object(desc string, props obj, required ...string) obj {
	o := obj{"type": "object", "properties": props, "additionalProperties": false}
	if desc != "" {
		o["description"] = desc
	}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// input builds a request body schema: every field optional (PATCH
// semantics: absent fields stay as they are; create checks what's required).
func input(desc string, props obj) obj {
	return obj{"type": "object", "description": desc, "properties": props, "additionalProperties": false}
}

// record extends RecordMeta (id, owner, tags, custom fields, timestamps,
// version) with a resource's own fields.
func record(desc string, props obj, required ...string) obj {
	return obj{"description": desc, "allOf": []obj{ref("RecordMeta"), {"type": "object", "properties": props, "required": required}},
		"unevaluatedProperties": false}
}

func page(item, desc string) obj {
	return object(desc, obj{
		"items":       obj{"type": "array", "items": ref(item)},
		"next_cursor": str("Pass as cursor for the next page; absent on the last page."),
	}, "items")
}

func list(item, desc string) obj {
	return object(desc, obj{"items": obj{"type": "array", "items": ref(item)}}, "items")
}

func schemas() obj {
	return obj{
		"Problem": object("RFC 9457 problem document (media type application/problem+json).", obj{
			"type":       obj{"type": "string", "format": "uri", "description": "https://rpcrm.ch/problems/<code>"},
			"title":      str("Short German title of the problem type."),
			"status":     intS,
			"detail":     str("German explanation for the user."),
			"instance":   str("The request path."),
			"code":       obj{"type": "string", "enum": []string{"invalid", "unauthorized", "forbidden", "not_found", "conflict", "precondition", "too_large", "rate_limited", "unavailable", "internal"}},
			"request_id": str("Quote it to support; the server log has the details under it."),
			"errors":     obj{"type": "array", "items": ref("FieldError"), "description": "The bad input fields (code invalid)."},
		}, "type", "title", "status"),
		"FieldError": object("One bad input field.", obj{
			"field":   str(`Field name as sent; nested as "address.city".`),
			"pointer": str(`JSON pointer into the request body, e.g. "#/address/city".`),
			"detail":  str("German message."),
		}, "field", "pointer", "detail"),

		"RecordMeta": object("Fields every CRM record carries.", obj{
			"id":            uuidS,
			"owner_id":      uuidNull,
			"tags":          strList,
			"custom_fields": ref("CustomFieldValues"),
			"created_at":    timeS,
			"updated_at":    timeS,
			"deleted_at":    obj{"type": "string", "format": "date-time", "description": "Set for records in the trash."},
			"version":       versionS,
		}, "id", "owner_id", "tags", "custom_fields", "created_at", "updated_at", "version").without("additionalProperties"), // records extend it (allOf)
		"CustomFieldValues": obj{"type": "object", "description": "Custom field values by field key (see /api/v1/custom-fields).",
			"additionalProperties": obj{"type": []string{"string", "number", "boolean", "array", "null"}, "items": obj{"type": "string"}}},
		"Address":      object("Postal address (Swiss conventions).", addressProps(), "street", "postal_code", "city", "canton", "country"),
		"AddressInput": input("Replaces the whole address; absent parts become empty.", addressProps()),

		"Company": record("A company (Firma).", obj{
			"name": obj{"type": "string"}, "uid": nullable("string", obj{"description": "Swiss UID, CHE-123.456.789."}),
			"website": obj{"type": "string"}, "email": obj{"type": "string"}, "phone": str("E.164."),
			"address": ref("Address"), "industry": obj{"type": "string"},
		}, "name", "uid", "website", "email", "phone", "address", "industry"),
		"CompanyInput": input("Creates or changes a company; absent fields stay as they are.", obj{
			"name": obj{"type": "string", "maxLength": 200}, "uid": str("Swiss UID; empty clears it."),
			"website": obj{"type": "string"}, "email": obj{"type": "string", "format": "email"}, "phone": obj{"type": "string"},
			"address": ref("AddressInput"), "industry": obj{"type": "string", "maxLength": 100},
			"tags": strList, "owner_id": uuidS, "custom_fields": ref("CustomFieldValues"), "version": versionIn,
		}),

		"Consent": object("Marketing consent.", obj{"given": boolS, "at": timeNull, "source": obj{"type": "string"}}, "given", "at", "source"),
		"ConsentInput": input("Changes the marketing consent; absent fields stay as they are.", obj{
			"given": boolS, "at": obj{"type": "string", "format": "date-time", "description": "Default: now, when consent is given."}, "source": obj{"type": "string"},
		}),
		"Contact": record("A person (Person).", obj{
			"salutation": obj{"type": "string"}, "first_name": obj{"type": "string"}, "last_name": obj{"type": "string"},
			"name": str(`"First Last", computed.`), "emails": strList, "phones": obj{"type": "array", "items": str("E.164.")},
			"job_title": obj{"type": "string"}, "company_id": uuidNull, "address": ref("Address"), "language": languageS,
			"birthday": dateNull, "marketing_consent": ref("Consent"),
		}, "salutation", "first_name", "last_name", "name", "emails", "phones", "job_title", "company_id", "address", "language", "birthday", "marketing_consent"),
		"ContactInput": input("Creates or changes a contact; absent fields stay as they are.", obj{
			"salutation": obj{"type": "string"}, "first_name": obj{"type": "string"}, "last_name": obj{"type": "string"},
			"emails": strList, "phones": strList, "job_title": obj{"type": "string"},
			"company_id": nullable("string", obj{"format": "uuid", "description": "null clears it."}),
			"address":    ref("AddressInput"), "language": languageS, "birthday": dateNull,
			"tags": strList, "owner_id": uuidS, "marketing_consent": ref("ConsentInput"),
			"custom_fields": ref("CustomFieldValues"), "version": versionIn,
		}),

		"Deal": record("A sales opportunity (Verkaufschance).", obj{
			"title": obj{"type": "string"}, "amount": decimalS, "currency": currencyS,
			"pipeline_id": uuidS, "stage_id": uuidS, "company_id": uuidNull, "contact_id": uuidNull,
			"expected_close": dateNull, "probability": obj{"type": "integer", "minimum": 0, "maximum": 100},
			"status": obj{"type": "string", "enum": []string{"open", "won", "lost"}, "description": "Follows the stage's kind."},
			"won_at": timeNull, "lost_at": timeNull, "lost_reason": obj{"type": "string"}, "stage_changed_at": timeS,
		}, "title", "amount", "currency", "pipeline_id", "stage_id", "company_id", "contact_id", "expected_close", "probability", "status", "won_at", "lost_at", "lost_reason", "stage_changed_at"),
		"DealInput": input("Creates or changes a deal; absent fields stay as they are.", obj{
			"title":       obj{"type": "string"},
			"amount":      obj{"type": []string{"string", "number", "null"}, "description": `Decimal, preferably as a string ("12500.50"); "" or null clears it.`},
			"currency":    obj{"type": "string", "description": "Default on create: the tenant's currency."},
			"pipeline_id": uuidS, "stage_id": uuidS,
			"company_id": nullable("string", obj{"format": "uuid", "description": "null clears it."}),
			"contact_id": nullable("string", obj{"format": "uuid", "description": "null clears it."}),
			"owner_id":   uuidS, "expected_close": dateNull, "probability": obj{"type": "integer", "minimum": 0, "maximum": 100},
			"lost_reason": obj{"type": "string"}, "tags": strList, "custom_fields": ref("CustomFieldValues"), "version": versionIn,
		}),

		"Stage": object("One step (Phase) of a pipeline.", obj{
			"id": uuidS, "pipeline_id": uuidS, "name": obj{"type": "string"}, "position": intS,
			"kind": obj{"type": "string", "enum": []string{"open", "won", "lost"}}, "probability": intS,
			"created_at": timeS, "updated_at": timeS, "version": versionS,
		}, "id", "pipeline_id", "name", "position", "kind", "probability", "created_at", "updated_at", "version"),
		"StageInput": input("Creates or changes a stage; absent fields stay as they are.", obj{
			"name": obj{"type": "string"}, "kind": obj{"type": "string", "enum": []string{"open", "won", "lost"}},
			"probability": obj{"type": "integer", "minimum": 0, "maximum": 100, "description": "Default: 100 for won, else 0."},
			"position":    intS, "version": versionIn,
		}),
		"StageOrder": object("All stages of a pipeline in their new order.", obj{"stage_ids": uuidList, "version": versionIn}, "stage_ids"),
		"Pipeline": object("A sales process with its stages in order.", obj{
			"id": uuidS, "name": obj{"type": "string"}, "position": intS,
			"stages":     obj{"type": "array", "items": ref("Stage")},
			"created_at": timeS, "updated_at": timeS, "version": versionS,
		}, "id", "name", "position", "stages", "created_at", "updated_at", "version"),
		"PipelineInput": input("Creates or changes a pipeline; absent fields stay as they are.", obj{
			"name": obj{"type": "string"}, "position": intS,
			"stages":  obj{"type": "array", "items": ref("StageInput"), "description": "Only on create (default stages otherwise); stages have their own endpoints."},
			"version": versionIn,
		}),
		"MoneyAmount": object("A sum in one currency.", obj{"currency": currencyS, "amount": obj{"type": "string"}}, "currency", "amount"),
		"BoardStage": object("One column of a board.", obj{
			"stage": ref("Stage"), "count": intS, "totals": obj{"type": "array", "items": ref("MoneyAmount")},
			"deals": obj{"type": "array", "items": ref("Deal")},
		}, "stage", "count", "totals", "deals"),
		"Board": object("A pipeline with the deals of each stage.", obj{
			"pipeline": ref("Pipeline"), "stages": obj{"type": "array", "items": ref("BoardStage")},
		}, "pipeline", "stages"),

		"Activity": object("A note, call, meeting, task or logged e-mail.", obj{
			"id": uuidS, "kind": obj{"type": "string", "enum": []string{"note", "call", "meeting", "task", "email"}},
			"subject": obj{"type": "string"}, "body": obj{"type": "string"},
			"body_format": obj{"type": "string", "enum": []string{"text", "markdown"}},
			"body_html":   str("The body rendered as safe HTML."),
			"due_at":      timeNull, "done_at": timeNull, "done": boolS, "overdue": str("Open and due in the past.").with("type", "boolean"),
			"assignee_id": uuidNull, "company_id": uuidNull, "contact_id": uuidNull, "deal_id": uuidNull, "owner_id": uuidNull,
			"created_at": timeS, "updated_at": timeS,
			"deleted_at": obj{"type": "string", "format": "date-time", "description": "Set for activities in the trash."},
			"version":    versionS,
		}, "id", "kind", "subject", "body", "body_format", "body_html", "due_at", "done_at", "done", "overdue", "assignee_id", "company_id", "contact_id", "deal_id", "owner_id", "created_at", "updated_at", "version"),
		"ActivityInput": input("Creates or changes an activity; absent fields stay as they are.", obj{
			"kind":    obj{"type": "string", "enum": []string{"note", "call", "meeting", "task", "email"}},
			"subject": obj{"type": "string"}, "body": obj{"type": "string"},
			"body_format": obj{"type": "string", "enum": []string{"text", "markdown"}},
			"due_at":      clearableS("date-time", "RFC 3339."), "done": str("Marks it done (now) or open again.").with("type", "boolean"),
			"assignee_id": clearableS("uuid", ""), "company_id": clearableS("uuid", ""),
			"contact_id": clearableS("uuid", ""), "deal_id": clearableS("uuid", ""), "version": versionIn,
		}),
		"AuditChange": object("A changed field.", obj{"before": obj{}, "after": obj{}}, "before", "after"),
		"TimelineItem": object("An entry of a record's timeline: an activity, a document or a change; only the fields of its type are present.", obj{
			"type": obj{"type": "string", "enum": []string{"activity", "document", "change"}}, "at": timeS, "id": uuidS,
			"kind": obj{"type": "string"}, "subject": obj{"type": "string"}, "body_html": obj{"type": "string"},
			"due_at": timeS, "done_at": timeS, "assignee_id": uuidS, "owner_id": uuidS,
			"file_name": obj{"type": "string"}, "size": intS, "created_by": uuidS,
			"action": obj{"type": "string"}, "actor": obj{"type": "string"}, "actor_id": uuidS,
			"changes": obj{"type": "object", "additionalProperties": ref("AuditChange")},
		}, "type", "at", "id"),

		"Document": object("A file attached to a company, a contact or a deal.", obj{
			"id": uuidS, "file_name": obj{"type": "string"}, "content_type": str("Sniffed from the content."),
			"size": intS, "sha256": obj{"type": "string", "pattern": "^[0-9a-f]{64}$"},
			"company_id": uuidNull, "contact_id": uuidNull, "deal_id": uuidNull, "owner_id": uuidNull,
			"created_at": timeS, "updated_at": timeS,
			"deleted_at": obj{"type": "string", "format": "date-time", "description": "Set for documents in the trash."},
			"version":    versionS,
		}, "id", "file_name", "content_type", "size", "sha256", "company_id", "contact_id", "deal_id", "owner_id", "created_at", "updated_at", "version"),
		"DocumentUpload": obj{"type": "object", "description": `multipart/form-data: the part "file" and one of company_id, contact_id or deal_id.`,
			"properties": obj{"file": obj{"type": "string", "contentMediaType": "application/octet-stream"},
				"company_id": uuidS, "contact_id": uuidS, "deal_id": uuidS}, "required": []string{"file"}},

		"ImportUpload": obj{"type": "object", "description": "multipart/form-data for an import.",
			"properties": obj{"file": obj{"type": "string", "contentMediaType": "text/csv"},
				"mapping":    obj{"type": "string", "description": `JSON object: CSV column → record field, e.g. {"PLZ": "address.postal_code"}; without it, common German, French and English column names are recognised.`},
				"dry_run":    obj{"type": "string", "enum": []string{"true", "false"}, "description": "Check every row and report, change nothing."},
				"mode":       obj{"type": "string", "enum": []string{"all_or_nothing", "skip_bad_rows"}, "default": "all_or_nothing"},
				"duplicates": obj{"type": "string", "enum": []string{"skip", "update", "create"}, "default": "skip"}},
			"required": []string{"file"}},
		"ImportError": object("One bad row of an import.", obj{
			"line":  obj{"type": "integer", "description": "Physical line in the file (1 is the header)."},
			"field": obj{"type": "string"}, "column": obj{"type": "string"}, "message": obj{"type": "string"},
		}, "line", "field", "message"),
		"ImportResult": object("The report of an import or a dry run.", obj{
			"dry_run": obj{"type": "boolean"}, "created": obj{"type": "integer"}, "updated": obj{"type": "integer"},
			"skipped": obj{"type": "integer"}, "errors": obj{"type": "array", "items": ref("ImportError")},
			"truncated": obj{"type": "boolean"}, "bad_rows": obj{"type": "integer"}, "encoding": obj{"type": "string"},
			"delimiter": obj{"type": "string"}, "rolled_back": obj{"type": "boolean"},
		}, "dry_run", "created", "updated", "skipped", "errors", "truncated", "bad_rows", "encoding", "delimiter"),

		"Tag": object("A tag (Schlagwort).", obj{
			"id": uuidS, "name": obj{"type": "string"}, "color": obj{"type": "string", "description": "#rrggbb or empty."},
			"usage":      str("How many records carry it.").with("type", "integer"),
			"created_at": timeS, "updated_at": timeS, "version": versionS,
		}, "id", "name", "color", "usage", "created_at", "updated_at", "version"),
		"TagInput": input("Creates or changes a tag; absent fields stay as they are.", obj{
			"name": obj{"type": "string", "maxLength": 50}, "color": obj{"type": "string", "pattern": "^(#[0-9a-fA-F]{6})?$"}, "version": versionIn,
		}),
		"CustomField": object("The definition of an extra field of one record type.", obj{
			"id": uuidS, "entity": entityS, "key": obj{"type": "string"}, "label": obj{"type": "string"},
			"type":     obj{"type": "string", "enum": []string{"text", "number", "date", "bool", "choice", "multi"}},
			"required": boolS, "options": strList, "position": intS, "created_at": timeS, "updated_at": timeS, "version": versionS,
		}, "id", "entity", "key", "label", "type", "required", "options", "position", "created_at", "updated_at", "version"),
		"CustomFieldInput": input("Creates or changes a custom field; entity, key and type cannot change after creation.", obj{
			"entity": entityS, "key": obj{"type": "string"}, "label": obj{"type": "string"},
			"type":     obj{"type": "string", "enum": []string{"text", "number", "date", "bool", "choice", "multi"}},
			"required": boolS, "options": strList, "position": intS, "version": versionIn,
		}),

		"SearchHit": object("One record found.", obj{
			"id": uuidS, "type": entityS, "title": obj{"type": "string"}, "subtitle": obj{"type": "string"},
			"score": obj{"type": "number", "description": "Higher is better: 4 exact name, 3 whole word, 1-2 word start, below 1 inside a word or typo."},
		}, "id", "type", "title", "subtitle", "score"),
		"SearchResults": object("Hits per record type, best first; a type not searched (not asked for or not readable) is absent.", obj{
			"companies": obj{"type": "array", "items": ref("SearchHit")},
			"contacts":  obj{"type": "array", "items": ref("SearchHit")},
			"deals":     obj{"type": "array", "items": ref("SearchHit")},
		}),

		"LoginRequest":   object("", obj{"email": obj{"type": "string", "maxLength": 254}, "password": obj{"type": "string", "maxLength": 1024}}, "email", "password"),
		"RefreshRequest": object("", obj{"refresh_token": obj{"type": "string"}}, "refresh_token"),
		"TokenPair": object("A new access token and a single-use refresh token.", obj{
			"access_token": str("JWT; send as Authorization: Bearer."), "refresh_token": obj{"type": "string"},
			"token_type": obj{"type": "string", "const": "Bearer"}, "expires_in": str("Seconds until the access token expires.").with("type", "integer"),
		}, "access_token", "refresh_token", "token_type", "expires_in"),
		"Tenant": object("", obj{"id": str("The tenant's slug."), "name": obj{"type": "string"}, "locale": obj{"type": "string"},
			"currency": currencyS, "timezone": obj{"type": "string"}}, "id", "name", "locale", "currency", "timezone"),
		"Me": object("The logged-in user.", obj{
			"id": uuidS, "email": obj{"type": "string"}, "name": obj{"type": "string"}, "locale": obj{"type": "string"},
			"tenant": ref("Tenant"), "roles": obj{"type": "array", "items": ref("RoleRef")},
			"permissions": obj{"type": "array", "items": str(`Granted permission, with ":own" when limited to own records.`)},
		}, "id", "email", "name", "locale", "tenant", "roles", "permissions"),
		"PermissionInfo": object("A permission of the catalogue.", obj{
			"name": obj{"type": "string"}, "label_de": obj{"type": "string"}, "label_en": obj{"type": "string"},
			"scoped": str(`Whether it can be granted for own records only (":own").`).with("type", "boolean"),
		}, "name", "label_de", "label_en", "scoped"),
		"PermissionCatalogue": object("", obj{"permissions": obj{"type": "array", "items": ref("PermissionInfo")}}, "permissions"),

		"RoleRef": object("", obj{"id": uuidS, "key": str("Set for built-in roles."), "name": obj{"type": "string"}}, "id", "name"),
		"User": object("A user of the tenant.", obj{
			"id": uuidS, "email": obj{"type": "string"}, "name": obj{"type": "string"}, "locale": obj{"type": "string"},
			"roles": obj{"type": "array", "items": ref("RoleRef")}, "disabled": boolS,
			"pending":       obj{"type": "boolean", "description": "Invited in the web UI and not yet accepted: no password set, disabled until then."},
			"last_login_at": timeS, "created_at": timeS, "updated_at": timeS, "version": versionS,
		}, "id", "email", "name", "roles", "disabled", "created_at", "updated_at", "version"),
		"NewUser": object("", obj{
			"email": obj{"type": "string", "format": "email"}, "name": obj{"type": "string"},
			"password": obj{"type": "string", "minLength": 10}, "locale": obj{"type": "string"}, "role_ids": uuidList,
		}, "email", "name", "password"),
		"UserPatch": input("Changes a user; absent fields stay as they are.", obj{
			"email": obj{"type": "string", "format": "email"}, "name": obj{"type": "string"}, "locale": obj{"type": "string"},
			"role_ids": uuidList, "disabled": boolS, "version": versionIn,
		}),
		"PasswordInput": object("", obj{"password": obj{"type": "string", "minLength": 10}}, "password"),
		"Role": object("A role: a named set of permissions.", obj{
			"id": uuidS, "key": str("Set for built-in roles, which cannot be changed."), "name": obj{"type": "string"},
			"description": obj{"type": "string"}, "builtin": boolS,
			"permissions": obj{"type": "array", "items": str(`e.g. "contacts:read" or "contacts:write:own".`)},
			"users":       str("How many users hold it.").with("type", "integer"),
			"created_at":  timeS, "updated_at": timeS, "version": versionS,
		}, "id", "name", "description", "builtin", "permissions", "users", "created_at", "updated_at", "version"),
		"RoleInput": object("", obj{"name": obj{"type": "string"}, "description": obj{"type": "string"}, "permissions": strList}, "name"),
		"RolePatch": input("Changes a role; absent fields stay as they are.", obj{
			"name": obj{"type": "string"}, "description": obj{"type": "string"}, "permissions": strList, "version": versionIn,
		}),
		"AuditEntry": object("One entry of the audit log.", obj{
			"id": uuidS, "at": timeS, "actor_id": uuidS, "actor": obj{"type": "string"}, "action": str(`"<entity>.<verb>", e.g. contact.update.`),
			"entity_type": obj{"type": "string"}, "entity_id": uuidS,
			"changes": obj{"type": "object", "additionalProperties": ref("AuditChange")},
			"details": obj{"type": "object"}, "ip": obj{"type": "string"}, "request_id": obj{"type": "string"},
		}, "id", "at", "actor", "action"),

		"CompanyPage":     page("Company", "A page of companies."),
		"ContactPage":     page("Contact", "A page of contacts."),
		"DealPage":        page("Deal", "A page of deals."),
		"ActivityPage":    page("Activity", "A page of activities."),
		"DocumentPage":    page("Document", "A page of documents."),
		"TimelinePage":    page("TimelineItem", "A page of timeline entries, newest first."),
		"AuditPage":       page("AuditEntry", "A page of audit entries, newest first."),
		"PipelineList":    list("Pipeline", "All pipelines in order."),
		"TagList":         list("Tag", "All tags."),
		"CustomFieldList": list("CustomField", "All custom field definitions."),
		"UserList":        list("User", "All users."),
		"RoleList":        list("Role", "All roles, built-in first."),
	}
}

func addressProps() obj {
	return obj{
		"street": obj{"type": "string"}, "postal_code": obj{"type": "string"}, "city": obj{"type": "string"},
		"canton": str("Two-letter canton code, e.g. ZH."), "country": str("ISO 3166-1 alpha-2, default CH."),
	}
}
