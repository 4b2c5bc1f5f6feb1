package crm

import "strings"

// ImportFields lists the fields a CSV column can be mapped to for entity
// (EntityCompany or EntityContact), custom fields last as
// "custom_fields.<key>", for mapping editors.
func ImportFields(entity string, custom []CustomField) []string {
	fields := companyImportFields
	if entity == EntityContact {
		fields = contactImportFields
	}
	out := append([]string(nil), fields...)
	for _, d := range custom {
		if d.Entity == entity {
			out = append(out, customFieldPrefix+d.Key)
		}
	}
	return out
}

// SuggestMapping maps a header as an import without a mapping would:
// column name → field, for the columns it recognises.
func SuggestMapping(entity string, header []string, custom []CustomField) map[string]string {
	out := map[string]string{}
	for f, i := range autoMap(entity, header, custom) {
		out[header[i]] = f
	}
	return out
}

// autoMap maps columns by the built-in names (the entity's own first),
// custom fields by label, key or "custom_fields.<key>"; the first column
// for a field wins. It returns field → column index.
func autoMap(entity string, header []string, custom []CustomField) map[string]int {
	specific := companyColumns
	if entity == EntityContact {
		specific = contactColumns
	}
	labels := map[string]string{}
	for _, d := range custom {
		labels[strings.ToLower(d.Label)] = customFieldPrefix + d.Key
		labels[strings.ToLower(d.Key)] = customFieldPrefix + d.Key
		labels[customFieldPrefix+d.Key] = customFieldPrefix + d.Key
	}
	fields := map[string]int{}
	for i, h := range header {
		key := strings.ToLower(h)
		f, ok := specific[key]
		if !ok {
			f, ok = commonColumns[key]
		}
		if !ok {
			f, ok = labels[key]
		}
		if !ok {
			continue
		}
		if _, dup := fields[f]; !dup {
			fields[f] = i
		}
	}
	return fields
}
