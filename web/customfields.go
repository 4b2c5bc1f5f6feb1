package web

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/rpcrm/rpcrm/crm"
)

// customInput is one custom field of a form, by the tenant's definition.
// Its form name (and error key) is "custom_fields.<key>".
type customInput struct {
	Def     *crm.CustomField
	Name    string
	Value   string   // text, number, date, choice, bool ("true"/"false"/"")
	Values  []string // multi
	Options []option
}

// Checked reports whether a multi field has an option selected.
func (c customInput) Checked(o string) bool { return slices.Contains(c.Values, o) }

// customInputs prepares the custom fields of a form: from the submitted
// form if there is one, else from the record's values.
func customInputs(v *view, defs []*crm.CustomField, current crm.Custom, form url.Values, posted bool) []customInput {
	out := make([]customInput, 0, len(defs))
	for _, d := range defs {
		ci := customInput{Def: d, Name: "custom_fields." + d.Key}
		switch d.Type {
		case crm.FieldChoice, crm.FieldMulti:
			for _, o := range d.Options {
				ci.Options = append(ci.Options, option{Value: o, Label: o})
			}
		case crm.FieldBool:
			ci.Options = []option{{Value: "true", Label: v.T("record.yes")}, {Value: "false", Label: v.T("record.no")}}
		}
		if posted {
			ci.Value, ci.Values = form.Get(ci.Name), form[ci.Name]
		} else if val, ok := current[d.Key]; ok {
			ci.Value, ci.Values = customText(val), customList(val)
		}
		out = append(out, ci)
	}
	return out
}

// customText is a stored value as a form or page shows it raw.
func customText(val any) string {
	switch x := val.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case []any:
		return strings.Join(customList(x), ", ")
	case []string:
		return strings.Join(x, ", ")
	}
	return ""
}

func customList(val any) []string {
	switch x := val.(type) {
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// customPatch reads the custom fields of a submitted form for the service:
// every defined field is sent, an empty one clears its value. A number that
// does not parse is reported next to its field.
func customPatch(defs []*crm.CustomField, form url.Values, fields map[string]string, v *view) crm.Custom {
	c := crm.Custom{}
	for _, d := range defs {
		name := "custom_fields." + d.Key
		s := strings.TrimSpace(form.Get(name))
		switch d.Type {
		case crm.FieldMulti:
			var list []any
			for _, o := range form[name] {
				if o != "" {
					list = append(list, o)
				}
			}
			if len(list) == 0 {
				c[d.Key] = nil
			} else {
				c[d.Key] = list
			}
		case crm.FieldNumber:
			if s == "" {
				c[d.Key] = nil
				continue
			}
			n, err := strconv.ParseFloat(strings.ReplaceAll(strings.ReplaceAll(s, "'", ""), ",", "."), 64)
			if err != nil {
				fields[name] = v.T("record.form.number")
				continue
			}
			c[d.Key] = n
		case crm.FieldBool:
			switch s {
			case "true":
				c[d.Key] = true
			case "false":
				c[d.Key] = false
			default:
				c[d.Key] = nil
			}
		default:
			if s == "" {
				c[d.Key] = nil
			} else {
				c[d.Key] = s
			}
		}
	}
	return c
}

// customShown is a custom field's value as the detail page shows it.
type customShown struct{ Label, Value string }

// customDisplay formats a record's custom values the Swiss way, in the
// order of the definitions; empty fields are left out.
func customDisplay(v *view, defs []*crm.CustomField, values crm.Custom) []customShown {
	var out []customShown
	for _, d := range defs {
		val, ok := values[d.Key]
		if !ok || val == nil {
			continue
		}
		s := customText(val)
		switch d.Type {
		case crm.FieldBool:
			if b, _ := val.(bool); b {
				s = v.T("record.yes")
			} else {
				s = v.T("record.no")
			}
		case crm.FieldDate:
			s = v.Date(s)
		case crm.FieldNumber:
			if f, ok := val.(float64); ok {
				s = swissNumber(f)
			}
		}
		out = append(out, customShown{Label: d.Label, Value: s})
	}
	return out
}

// swissNumber writes 1234567.5 as 1'234'567.5.
func swissNumber(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	whole, frac, hasFrac := strings.Cut(s, ".")
	out := groupThousands(whole)
	if hasFrac {
		out += "." + frac
	}
	return out
}

// splitLines splits a textarea into its lines (one e-mail address or phone
// number each), keeping empty lines so that an error's index is its line.
func splitLines(s string) []string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if strings.TrimSpace(s) == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

// splitTags splits "VIP, Zürich" into tags.
func splitTags(s string) []string {
	out := []string{}
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// lineErrors moves the service's messages about list entries ("emails.1")
// to the textarea ("emails"), naming the line.
func lineErrors(v *view, field string) {
	var msgs []string
	keys := make([]string, 0)
	for k := range v.Fields {
		if strings.HasPrefix(k, field+".") {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		ia, _ := strconv.Atoi(strings.TrimPrefix(a, field+"."))
		ib, _ := strconv.Atoi(strings.TrimPrefix(b, field+"."))
		return ia - ib
	})
	for _, k := range keys {
		i, err := strconv.Atoi(strings.TrimPrefix(k, field+"."))
		if err != nil {
			continue
		}
		msgs = append(msgs, v.T("record.form.line", i+1)+" "+v.Fields[k])
		delete(v.Fields, k)
	}
	if len(msgs) > 0 {
		if m := v.Fields[field]; m != "" {
			msgs = append(msgs, m)
		}
		v.Fields[field] = strings.Join(msgs, " ")
	}
}
