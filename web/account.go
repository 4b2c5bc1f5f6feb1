package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/tenant"
)

// adminRoutes are the routes of the account, settings, audit log and
// import areas.
func (u *UI) adminRoutes() []route {
	rs := []route{
		public("GET /logo", u.logo),
		public("GET /password-forgotten", u.forgotPage),
		public("GET /set-password/{token}", u.linkPage),
		public("POST /set-password/{token}", u.linkSubmit),
		page("GET /profile", "", u.profilePage),
		page("POST /profile/password", "", u.profilePassword),
		page("POST /profile/language", "", u.profileLanguage),
	}
	rs = append(rs, u.settingsRoutes()...)
	rs = append(rs, u.settingsRecordRoutes()...)
	rs = append(rs, u.auditRoutes()...)
	return append(rs, u.importRoutes()...)
}

type baseTenantKey struct{}

// withProfile applies the tenant profile (name, locale, currency set by the
// tenant's administrators) over tenants.json for every UI request; the
// tenant as tenants.json has it stays available to the profile settings.
func (u *UI) withProfile(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := httpserver.RequestInfo(r.Context())
		if t := info.Tenant; t != nil && u.CRM != nil {
			if p, err := u.CRM.TenantProfile(r.Context(), t.UUID()); err != nil {
				u.Log.ErrorContext(r.Context(), "tenant profile", "tenant", t.ID, "err", err)
			} else {
				info.Tenant = p.Apply(t)
			}
			r = r.WithContext(context.WithValue(r.Context(), baseTenantKey{}, t))
		}
		next.ServeHTTP(w, r)
	})
}

// baseTenant is the request's tenant as tenants.json defines it.
func baseTenant(r *http.Request) *tenant.Tenant {
	if t, ok := r.Context().Value(baseTenantKey{}).(*tenant.Tenant); ok {
		return t
	}
	return httpserver.Tenant(r.Context())
}

// loginView is the login page's own data.
type loginView struct {
	// Logo is the URL of the tenant's logo, "" without one.
	Logo string
}

func (u *UI) loginData(r *http.Request) loginView {
	return loginView{Logo: u.logoURL(r)}
}

// logoURL returns the URL of the tenant's logo with its version (so that
// a new logo is fetched at once), or "" if it has none.
func (u *UI) logoURL(r *http.Request) string {
	if u.CRM == nil { // a UI with only the auth service (tests of the HTTP layer)
		return ""
	}
	t := httpserver.Tenant(r.Context())
	p, err := u.CRM.TenantProfile(r.Context(), t.UUID())
	if err != nil || p.LogoType == "" {
		return ""
	}
	return "/logo?v=" + strconv.Itoa(p.Version)
}

// logo serves the tenant's logo (PNG or JPEG, checked on upload); it is
// public because the login page shows it.
func (u *UI) logo(w http.ResponseWriter, r *http.Request) {
	t := httpserver.Tenant(r.Context())
	if u.CRM == nil {
		http.NotFound(w, r)
		return
	}
	data, typ, err := u.CRM.TenantLogo(r.Context(), t.UUID())
	if err != nil {
		if rpcrm.ErrorCode(err) != rpcrm.ENOTFOUND {
			u.Log.ErrorContext(r.Context(), "logo", "err", err)
		}
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Write(data) //nolint:errcheck
}

func (u *UI) forgotPage(w http.ResponseWriter, r *http.Request) {
	v := u.newView(w, r, nil, "forgot.title")
	u.render(w, r, http.StatusOK, "account_forgot", v)
}

// linkView is the page behind a one-time link.
type linkView struct {
	Info   *auth.LinkInfo
	Action string
}

// linkPage shows the form for setting a password through an invitation
// or reset link; an unusable link gets a page that says so (410).
func (u *UI) linkPage(w http.ResponseWriter, r *http.Request) {
	u.showLink(w, r, http.StatusOK, nil)
}

func (u *UI) showLink(w http.ResponseWriter, r *http.Request, status int, v *view) {
	t := httpserver.Tenant(r.Context())
	token := r.PathValue("token")
	if v == nil {
		v = u.newView(w, r, nil, "link.title")
	}
	info, err := u.Auth.UserLinkInfo(r.Context(), auth.TenantRef{ID: t.UUID(), Slug: t.ID}, token)
	if err != nil {
		if rpcrm.ErrorCode(err) != rpcrm.ENOTFOUND {
			u.Log.ErrorContext(r.Context(), "user link", "err", err)
			u.errorPage(w, r, nil, http.StatusInternalServerError, "error.internal")
			return
		}
		v.Error = v.T("link.invalid")
		u.render(w, r, http.StatusGone, "account_link", v)
		return
	}
	if info.Purpose == auth.LinkInvite {
		v.Title = v.T("link.invite_title")
	}
	v.Data = linkView{Info: info, Action: "/set-password/" + token}
	u.render(w, r, status, "account_link", v)
}

func (u *UI) linkSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	v := u.newView(w, r, nil, "link.title")
	if !u.checkCSRF(r) {
		v.Error = v.T("error.csrf")
		u.showLink(w, r, http.StatusForbidden, v)
		return
	}
	t := httpserver.Tenant(r.Context())
	password := r.PostFormValue("password")
	if password != r.PostFormValue("password_repeat") {
		v.Fields["password_repeat"] = v.T("profile.password_mismatch")
		u.showLink(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	err := u.Auth.RedeemUserLink(r.Context(), auth.TenantRef{ID: t.UUID(), Slug: t.ID}, r.PathValue("token"), password, meta(r))
	switch {
	case err == nil:
	case rpcrm.ErrorCode(err) == rpcrm.ENOTFOUND:
		u.showLink(w, r, http.StatusGone, v) // says the link is void
		return
	case formErrors(v, err):
		u.showLink(w, r, http.StatusUnprocessableEntity, v)
		return
	default:
		u.Log.ErrorContext(r.Context(), "redeem user link", "err", err)
		u.errorPage(w, r, nil, http.StatusInternalServerError, "error.internal")
		return
	}
	// Start with a clean slate: the user logs in with the new password.
	u.clearSession(w)
	v = u.newView(w, r, nil, "link.done_title")
	u.render(w, r, http.StatusOK, "account_link_done", v)
}

// profileView is the profile page's data.
type profileView struct {
	Locales []option
	Locale  string
}

func (u *UI) profilePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "profile.title")
	u.renderProfile(w, r, http.StatusOK, v, p)
}

func (u *UI) renderProfile(w http.ResponseWriter, r *http.Request, status int, v *view, p *auth.Principal) {
	v.Nav = "profile"
	v.Data = profileView{Locales: userLocales(v), Locale: p.Locale}
	u.render(w, r, status, "account_profile", v)
}

// userLocales are the UI languages a user may choose; "" follows the tenant.
func userLocales(v *view) []option {
	return []option{{"", v.T("profile.locale_tenant")}, {"de-CH", "Deutsch"}, {"en", "English"}}
}

func (u *UI) profilePassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "profile.title")
	next := r.PostFormValue("password")
	if next != r.PostFormValue("password_repeat") {
		v.Fields["password_repeat"] = v.T("profile.password_mismatch")
		u.renderProfile(w, r, http.StatusUnprocessableEntity, v, p)
		return
	}
	err := u.Auth.ChangeOwnPassword(r.Context(), p, r.PostFormValue("current_password"), next, meta(r))
	if err != nil {
		if !formErrors(v, err) {
			u.fail(w, r, p, err)
			return
		}
		u.renderProfile(w, r, http.StatusUnprocessableEntity, v, p)
		return
	}
	u.setFlash(w, flash{Kind: "ok", Message: v.T("profile.password_changed")})
	redirect(w, r, "/profile")
}

func (u *UI) profileLanguage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "profile.title")
	locale := strings.TrimSpace(r.PostFormValue("locale"))
	if err := u.Auth.SetOwnLocale(r.Context(), p, locale, meta(r)); err != nil {
		if !formErrors(v, err) {
			u.fail(w, r, p, err)
			return
		}
		u.renderProfile(w, r, http.StatusUnprocessableEntity, v, p)
		return
	}
	// The message in the new language.
	v.Lang = lang(locale)
	if locale == "" {
		v.Lang = lang(httpserver.Tenant(r.Context()).Locale)
	}
	u.setFlash(w, flash{Kind: "ok", Message: v.T("flash.saved")})
	redirect(w, r, "/profile")
}

// adminFormErrors is formErrors that also shows a refusal of the services
// on the form ("you cannot grant rights you lack", "you cannot change a
// user with more rights"), with its field messages next to the fields. It reports the status to answer with, 0 if err is not
// about the input.
func adminFormErrors(v *view, err error) int {
	var e *rpcrm.Error
	if errors.As(err, &e) && e.Code == rpcrm.EFORBIDDEN {
		e = e.Translated(v.Lang)
		for f, m := range e.Fields {
			v.Fields[f] = e.Message + " (" + m + ")"
		}
		v.Error = e.Message
		return http.StatusForbidden
	}
	if formErrors(v, err) {
		return statusOf(err)
	}
	return 0
}
