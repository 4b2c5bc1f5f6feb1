package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/tenant"
)

// settingsRecordRoutes are settings → pipelines and stages, custom fields,
// tags and the tenant profile.
func (u *UI) settingsRecordRoutes() []route {
	pipeline := settingsRecordPages(u, u.loadPipeline, "settings.pipeline")
	field := settingsRecordPages(u, u.loadField, "settings.field_edit")
	tag := settingsRecordPages(u, u.loadTag, "settings.tag_edit")
	return []route{
		page("GET /settings/pipelines", auth.PermPipelinesManage, u.pipelineList),
		page("POST /settings/pipelines", auth.PermPipelinesManage, u.pipelineCreate),
		page("GET /settings/pipelines/{id}", auth.PermPipelinesManage, pipeline(u.pipelineEdit)),
		page("POST /settings/pipelines/{id}", auth.PermPipelinesManage, pipeline(u.pipelineUpdate)),
		page("POST /settings/pipelines/{id}/delete", auth.PermPipelinesManage, pipeline(u.pipelineDelete)),
		page("POST /settings/pipelines/{id}/stages", auth.PermPipelinesManage, pipeline(u.stageCreate)),
		page("GET /settings/pipelines/{id}/stages/{sid}", auth.PermPipelinesManage, u.stagePage("settings.stage", u.stageEdit)),
		page("POST /settings/pipelines/{id}/stages/{sid}", auth.PermPipelinesManage, u.stagePage("settings.stage", u.stageUpdate)),
		page("POST /settings/pipelines/{id}/stages/{sid}/move", auth.PermPipelinesManage, u.stagePage("settings.pipeline", u.stageMove)),
		page("POST /settings/pipelines/{id}/stages/{sid}/delete", auth.PermPipelinesManage, u.stagePage("settings.stage", u.stageDelete)),
		page("GET /settings/fields", auth.PermSettingsManage, u.fieldList),
		page("GET /settings/fields/new", auth.PermSettingsManage, u.fieldNew),
		page("POST /settings/fields", auth.PermSettingsManage, u.fieldCreate),
		page("GET /settings/fields/{id}", auth.PermSettingsManage, field(u.fieldEdit)),
		page("POST /settings/fields/{id}", auth.PermSettingsManage, field(u.fieldUpdate)),
		page("POST /settings/fields/{id}/delete", auth.PermSettingsManage, field(u.fieldDelete)),
		page("GET /settings/tags", auth.PermTagsManage, u.tagList),
		page("POST /settings/tags", auth.PermTagsManage, u.tagCreate),
		page("GET /settings/tags/{id}", auth.PermTagsManage, tag(u.tagEdit)),
		page("POST /settings/tags/{id}", auth.PermTagsManage, tag(u.tagUpdate)),
		page("POST /settings/tags/{id}/delete", auth.PermTagsManage, tag(u.tagDelete)),
		page("GET /settings/profile", auth.PermSettingsManage, u.profileSettings),
		page("POST /settings/profile", auth.PermSettingsManage, u.profileSettingsSave),
	}
}

// formError renders a settings form again after a refused change, or
// fails the request when the error is not about the input.
func (u *UI) formError(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, err error, render func(status int)) {
	status := adminFormErrors(v, err)
	if status == 0 {
		u.fail(w, r, p, err)
		return
	}
	render(status)
}

func (u *UI) saved(w http.ResponseWriter, r *http.Request, v *view, key, to string) {
	u.setFlash(w, flash{Kind: "ok", Message: v.T(key)})
	redirect(w, r, to)
}

// ---- pipelines and stages ----

type pipelinesView struct {
	Pipelines []*crm.Pipeline
}

func (u *UI) pipelineList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.pipelines")
	u.renderPipelines(w, r, p, v, http.StatusOK)
}

func (u *UI) renderPipelines(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, status int) {
	list, err := u.CRM.ListPipelines(r.Context(), p)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Data = pipelinesView{Pipelines: list}
	u.render(w, r, status, "settings_pipelines", v)
}

func (u *UI) pipelineCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.pipelines")
	v.Form = r.PostForm
	name := r.PostFormValue("name")
	pl, err := u.CRM.CreatePipeline(r.Context(), p, crm.PipelineInput{Name: &name}, meta(r))
	if err != nil {
		u.formError(w, r, p, v, err, func(status int) { u.renderPipelines(w, r, p, v, status) })
		return
	}
	u.saved(w, r, v, "flash.saved", "/settings/pipelines/"+pl.ID.String())
}

// stageKinds are the stage types with their labels.
func stageKinds(v *view) []option {
	return []option{{crm.StageOpen, v.T("settings.stage_open")}, {crm.StageWon, v.T("settings.stage_won")}, {crm.StageLost, v.T("settings.stage_lost")}}
}

type pipelineView struct {
	Pipeline *crm.Pipeline
	Stage    *crm.Stage // the stage being edited
	Kinds    []option
	MoveTo   []option // stages the deals of Stage can move to
}

func (u *UI) loadPipeline(w http.ResponseWriter, r *http.Request, p *auth.Principal) (*crm.Pipeline, bool) {
	return settingsRecord(u, w, r, p, u.CRM.Pipeline)
}

func (u *UI) renderPipeline(w http.ResponseWriter, r *http.Request, v *view, status int, pl *crm.Pipeline) {
	if v.Form.Get("name") == "" && v.Form.Get("version") == "" {
		v.Form.Set("name", pl.Name)
	}
	if v.Form.Get("kind") == "" {
		v.Form.Set("kind", crm.StageOpen)
	}
	v.Data = pipelineView{Pipeline: pl, Kinds: stageKinds(v)}
	u.render(w, r, status, "settings_pipeline", v)
}

func (u *UI) pipelineEdit(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, pl *crm.Pipeline) {
	u.renderPipeline(w, r, v, http.StatusOK, pl)
}

func (u *UI) pipelineUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, pl *crm.Pipeline) {
	v.Form = r.PostForm
	name := r.PostFormValue("name")
	_, err := u.CRM.UpdatePipeline(r.Context(), p, pl.ID, crm.PipelineInput{Name: &name, Version: formVersion(r)}, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderPipeline(w, r, v, status, pl) }, "flash.saved", "/settings/pipelines/"+pl.ID.String())
}

func (u *UI) pipelineDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, pl *crm.Pipeline) {
	err := u.CRM.DeletePipeline(r.Context(), p, pl.ID, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderPipeline(w, r, v, status, pl) }, "settings.deleted", "/settings/pipelines")
}

// stageInput reads a stage form; fields are prefixed with stage_ on the
// pipeline page, whose rename form has its own "name".
func stageInput(r *http.Request, prefix string) (crm.StageInput, map[string]string) {
	name, kind := r.PostFormValue(prefix+"name"), r.PostFormValue("kind")
	in := crm.StageInput{Name: &name, Kind: &kind, Version: formVersion(r)}
	bad := map[string]string{}
	if s := strings.TrimSpace(r.PostFormValue("probability")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			bad["probability"] = "Erwartet eine Zahl von 0 bis 100."
		}
		in.Probability = &n
	}
	return in, bad
}

// stageErrors renames the service's "name" field to the form's.
func stageErrors(v *view, prefix string) {
	if m, ok := v.Fields["name"]; ok && prefix != "" {
		delete(v.Fields, "name")
		v.Fields[prefix+"name"] = m
	}
}

func (u *UI) stageCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, pl *crm.Pipeline) {
	v.Form = url.Values{"name": {pl.Name}}
	for k, vals := range r.PostForm {
		v.Form[k] = vals
	}
	in, bad := stageInput(r, "stage_")
	err := badInput(bad)
	if err == nil {
		_, err = u.CRM.CreateStage(r.Context(), p, pl.ID, in, meta(r))
	}
	u.settingsDone(w, r, p, v, err, func(status int) {
		stageErrors(v, "stage_")
		u.renderPipeline(w, r, v, status, pl)
	}, "flash.saved", "/settings/pipelines/"+pl.ID.String())
}

func (u *UI) loadStage(w http.ResponseWriter, r *http.Request, p *auth.Principal) (*crm.Pipeline, *crm.Stage, bool) {
	pl, ok := u.loadPipeline(w, r, p)
	if !ok {
		return nil, nil, false
	}
	sid, ok := u.pathValueID(w, r, p, "sid")
	if !ok {
		return nil, nil, false
	}
	s, ok := settingsFind(u, w, r, p, pl.Stages, sid, func(s *crm.Stage) uuid.UUID { return s.ID })
	return pl, s, ok
}

// stagePage makes the handler of a page on the stage the path names, as
// settingsRecordPages does for the other records.
func (u *UI) stagePage(title string, h func(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, pl *crm.Pipeline, s *crm.Stage)) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		pl, s, ok := u.loadStage(w, r, p)
		if !ok {
			return
		}
		h(w, r, p, u.settingsView(w, r, p, title), pl, s)
	}
}

func (u *UI) renderStage(w http.ResponseWriter, r *http.Request, v *view, status int, pl *crm.Pipeline, s *crm.Stage) {
	if v.Form.Get("version") == "" {
		v.Form = url.Values{"name": {s.Name}, "kind": {s.Kind}, "probability": {strconv.Itoa(s.Probability)}}
	}
	var moveTo []option
	for _, o := range pl.Stages {
		if o.ID != s.ID {
			moveTo = append(moveTo, option{o.ID.String(), o.Name})
		}
	}
	v.Data = pipelineView{Pipeline: pl, Stage: s, Kinds: stageKinds(v), MoveTo: moveTo}
	u.render(w, r, status, "settings_stage", v)
}

func (u *UI) stageEdit(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, pl *crm.Pipeline, s *crm.Stage) {
	u.renderStage(w, r, v, http.StatusOK, pl, s)
}

func (u *UI) stageUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, pl *crm.Pipeline, s *crm.Stage) {
	v.Form = r.PostForm
	in, bad := stageInput(r, "")
	err := badInput(bad)
	if err == nil {
		_, err = u.CRM.UpdateStage(r.Context(), p, pl.ID, s.ID, in, meta(r))
	}
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderStage(w, r, v, status, pl, s) }, "flash.saved", "/settings/pipelines/"+pl.ID.String())
}

// stageMove moves a stage one place up or down.
func (u *UI) stageMove(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, pl *crm.Pipeline, s *crm.Stage) {
	pos := s.Position + 1
	if r.PostFormValue("direction") == "up" {
		pos = s.Position - 1
	}
	if pos >= 0 && pos < len(pl.Stages) {
		if _, err := u.CRM.UpdateStage(r.Context(), p, pl.ID, s.ID, crm.StageInput{Position: &pos, Version: formVersion(r)}, meta(r)); err != nil {
			u.formError(w, r, p, v, err, func(status int) { u.renderPipeline(w, r, v, status, pl) })
			return
		}
	}
	u.saved(w, r, v, "flash.saved", "/settings/pipelines/"+pl.ID.String()+"#stage-"+s.ID.String())
}

func (u *UI) stageDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, pl *crm.Pipeline, s *crm.Stage) {
	var moveTo *uuid.UUID
	if id, err := uuid.Parse(r.PostFormValue("move_to")); err == nil {
		moveTo = &id
	}
	if _, err := u.CRM.DeleteStage(r.Context(), p, pl.ID, s.ID, moveTo, meta(r)); err != nil {
		var e *rpcrm.Error
		if errors.As(err, &e) && e.Code == rpcrm.ECONFLICT && moveTo == nil && len(e.Fields) == 0 {
			// The stage still has deals: the choice of where they go is missing.
			err = &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: e.Message, Fields: map[string]string{"move_to": e.Message}}
		}
		v.Form = url.Values{"name": {s.Name}, "kind": {s.Kind}, "probability": {strconv.Itoa(s.Probability)}, "version": {strconv.Itoa(s.Version)},
			"move_to": {r.PostFormValue("move_to")}}
		u.formError(w, r, p, v, err, func(status int) { u.renderStage(w, r, v, status, pl, s) })
		return
	}
	u.saved(w, r, v, "settings.deleted", "/settings/pipelines/"+pl.ID.String())
}

// ---- custom fields ----

var fieldEntities = []string{crm.EntityCompany, crm.EntityContact, crm.EntityDeal}

var fieldTypes = []string{crm.FieldText, crm.FieldNumber, crm.FieldDate, crm.FieldBool, crm.FieldChoice, crm.FieldMulti}

type fieldGroup struct {
	Entity string
	Fields []*crm.CustomField
}

type fieldsView struct {
	Groups []fieldGroup
}

// allCustomFields lists the custom fields of every entity.
func (u *UI) allCustomFields(ctx context.Context, p *auth.Principal) ([]*crm.CustomField, error) {
	return u.CRM.CustomFields(ctx, p, "")
}

func (u *UI) fieldList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	settingsList(u, w, r, p, "settings.fields", "settings_fields", u.allCustomFields, func(list []*crm.CustomField) any {
		var groups []fieldGroup
		for _, e := range fieldEntities {
			g := fieldGroup{Entity: e}
			for _, f := range list {
				if f.Entity == e {
					g.Fields = append(g.Fields, f)
				}
			}
			groups = append(groups, g)
		}
		return fieldsView{Groups: groups}
	})
}

type fieldFormView struct {
	Field    *crm.CustomField // nil for a new one
	Entities []option
	Types    []option
}

func (u *UI) renderField(w http.ResponseWriter, r *http.Request, v *view, status int, f *crm.CustomField) {
	d := fieldFormView{Field: f}
	for _, e := range fieldEntities {
		d.Entities = append(d.Entities, option{e, v.T("settings.entity_" + e)})
	}
	for _, t := range fieldTypes {
		d.Types = append(d.Types, option{t, v.T("settings.type_" + t)})
	}
	v.Data = d
	u.render(w, r, status, "settings_field", v)
}

func (u *UI) fieldNew(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.field_new")
	v.Form.Set("entity", r.URL.Query().Get("entity"))
	u.renderField(w, r, v, http.StatusOK, nil)
}

// fieldOptions reads the choices of a choice field, one per line.
func fieldOptions(r *http.Request) *[]string {
	opts := []string{}
	for _, l := range strings.Split(r.PostFormValue("options"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			opts = append(opts, l)
		}
	}
	return &opts
}

func (u *UI) fieldCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.field_new")
	v.Form = r.PostForm
	entity, key, label, typ := r.PostFormValue("entity"), r.PostFormValue("key"), r.PostFormValue("label"), r.PostFormValue("type")
	required := r.PostFormValue("required") == "true"
	_, err := u.CRM.CreateCustomField(r.Context(), p, crm.CustomFieldInput{Entity: &entity, Key: &key, Label: &label, Type: &typ,
		Required: &required, Options: fieldOptions(r)}, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderField(w, r, v, status, nil) }, "flash.saved", "/settings/fields")
}

func (u *UI) loadField(w http.ResponseWriter, r *http.Request, p *auth.Principal) (*crm.CustomField, bool) {
	return settingsListed(u, w, r, p, u.allCustomFields, func(f *crm.CustomField) uuid.UUID { return f.ID })
}

func (u *UI) fieldEdit(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, f *crm.CustomField) {
	v.Form = url.Values{"entity": {f.Entity}, "key": {f.Key}, "label": {f.Label}, "type": {f.Type},
		"options": {strings.Join(f.Options, "\n")}, "version": {strconv.Itoa(f.Version)}}
	if f.Required {
		v.Form.Set("required", "true")
	}
	u.renderField(w, r, v, http.StatusOK, f)
}

func (u *UI) fieldUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, f *crm.CustomField) {
	v.Form = r.PostForm
	v.Form.Set("entity", f.Entity)
	v.Form.Set("key", f.Key)
	v.Form.Set("type", f.Type)
	label := r.PostFormValue("label")
	required := r.PostFormValue("required") == "true"
	in := crm.CustomFieldInput{Label: &label, Required: &required, Version: formVersion(r)}
	if f.Type == crm.FieldChoice || f.Type == crm.FieldMulti {
		in.Options = fieldOptions(r)
	}
	_, err := u.CRM.UpdateCustomField(r.Context(), p, f.ID, in, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderField(w, r, v, status, f) }, "flash.saved", "/settings/fields")
}

func (u *UI) fieldDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, f *crm.CustomField) {
	err := u.CRM.DeleteCustomField(r.Context(), p, f.ID, meta(r))
	u.settingsDone(w, r, p, v, err, nil, "settings.deleted", "/settings/fields")
}

// ---- tags ----

type tagsView struct {
	Tags []*crm.Tag
	Tag  *crm.Tag // the tag being edited
}

func (u *UI) renderTags(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, status int, edit *crm.Tag) {
	list, err := u.CRM.Tags(r.Context(), p)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Data = tagsView{Tags: list, Tag: edit}
	page := "settings_tags"
	if edit != nil {
		page = "settings_tag"
	}
	u.render(w, r, status, page, v)
}

func (u *UI) tagList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.tags")
	v.Form.Set("color", "#1e88e5")
	u.renderTags(w, r, p, v, http.StatusOK, nil)
}

func (u *UI) tagCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.tags")
	v.Form = r.PostForm
	name, color := r.PostFormValue("name"), r.PostFormValue("color")
	_, err := u.CRM.CreateTag(r.Context(), p, crm.TagInput{Name: &name, Color: &color}, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderTags(w, r, p, v, status, nil) }, "flash.saved", "/settings/tags")
}

func (u *UI) loadTag(w http.ResponseWriter, r *http.Request, p *auth.Principal) (*crm.Tag, bool) {
	return settingsListed(u, w, r, p, u.CRM.Tags, func(t *crm.Tag) uuid.UUID { return t.ID })
}

func (u *UI) tagEdit(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, t *crm.Tag) {
	v.Form = url.Values{"name": {t.Name}, "color": {t.Color}, "version": {strconv.Itoa(t.Version)}}
	u.renderTags(w, r, p, v, http.StatusOK, t)
}

func (u *UI) tagUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, t *crm.Tag) {
	v.Form = r.PostForm
	name, color := r.PostFormValue("name"), r.PostFormValue("color")
	_, err := u.CRM.UpdateTag(r.Context(), p, t.ID, crm.TagInput{Name: &name, Color: &color, Version: formVersion(r)}, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderTags(w, r, p, v, status, t) }, "flash.saved", "/settings/tags")
}

func (u *UI) tagDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, t *crm.Tag) {
	err := u.CRM.DeleteTag(r.Context(), p, t.ID, meta(r))
	u.settingsDone(w, r, p, v, err, nil, "settings.deleted", "/settings/tags")
}

// ---- tenant profile ----

type tenantProfileView struct {
	Profile  *crm.TenantProfile
	Base     *tenant.Tenant // as in tenants.json
	Logo     string
	Locales  []option
	Currency []option
}

func (u *UI) renderProfileSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, status int) {
	t := httpserver.Tenant(r.Context())
	prof, err := u.CRM.TenantProfile(r.Context(), t.UUID())
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	if v.Form.Get("version") == "" {
		v.Form = url.Values{"name": {prof.Name}, "locale": {prof.Locale}, "currency": {prof.Currency}, "version": {strconv.Itoa(prof.Version)}}
	}
	base := baseTenant(r)
	d := tenantProfileView{Profile: prof, Base: base, Logo: u.logoURL(r)}
	for _, l := range tenant.SupportedLocales {
		d.Locales = append(d.Locales, option{l, v.T("settings.locale_" + l)})
	}
	for _, c := range tenant.SupportedCurrencies {
		d.Currency = append(d.Currency, option{c, c})
	}
	v.Data = d
	u.render(w, r, status, "settings_profile", v)
}

func (u *UI) profileSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.profile")
	u.renderProfileSettings(w, r, p, v, http.StatusOK)
}

func (u *UI) profileSettingsSave(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.profile")
	if r.MultipartForm != nil {
		v.Form = url.Values(r.MultipartForm.Value)
	} else {
		v.Form = r.PostForm
	}
	in := crm.ProfileInput{Name: v.Form.Get("name"), Locale: v.Form.Get("locale"), Currency: v.Form.Get("currency"),
		RemoveLogo: v.Form.Get("remove_logo") == "true", Version: formVersionOf(v.Form)}
	if r.MultipartForm != nil {
		if fh := r.MultipartForm.File["logo"]; len(fh) > 0 && fh[0].Size > 0 {
			if fh[0].Size > crm.MaxLogoBytes {
				v.Fields["logo"] = v.T("settings.logo_too_large")
				v.Error = v.T("form.invalid")
				u.renderProfileSettings(w, r, p, v, http.StatusUnprocessableEntity)
				return
			}
			f, err := fh[0].Open()
			if err != nil {
				u.fail(w, r, p, err)
				return
			}
			in.Logo, err = io.ReadAll(io.LimitReader(f, crm.MaxLogoBytes+1))
			f.Close()
			if err != nil {
				u.fail(w, r, p, err)
				return
			}
		}
	}
	_, err := u.CRM.UpdateTenantProfile(r.Context(), p, in, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderProfileSettings(w, r, p, v, status) }, "flash.saved", "/settings/profile")
}

func formVersionOf(f url.Values) int {
	n, _ := strconv.Atoi(f.Get("version"))
	return n
}

// badInput is the error for fields the form itself could not read.
func badInput(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &rpcrm.Error{Code: rpcrm.EINVALID, Message: "Ungültige Eingabe.", Fields: fields}
}
