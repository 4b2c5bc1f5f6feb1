package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

var auditMoreRe = regexp.MustCompile(`id="audit-more" class="button" href="([^"]+)"`)

func TestAuditViewer(t *testing.T) {
	s := newSite(t, false)
	admin := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	betaAdmin := s.loggedIn(t, "beta.test", "chef@beta.test", "admin")
	ctx := context.Background()
	sys := s.System(t, "alpha")

	// Changes with before/after values in both tenants.
	resp, _ := admin.post("/settings/tags", url.Values{"name": {"VIP"}, "color": {"#c62828"}})
	wantStatus(t, "create tag", resp, "", http.StatusSeeOther)
	tags, _ := s.crm().Tags(ctx, sys)
	admin.post("/settings/tags/"+tags[0].ID.String(), url.Values{"name": {"Premium"}, "color": {"#c62828"}, "version": {"1"}})
	betaAdmin.post("/settings/tags", url.Values{"name": {"Geheim-Beta"}})

	page := admin.page("/audit", 200)
	for _, want := range []string{`id="audit-filter"`, `id="audit-table"`, "tag.update", "<del>VIP</del>", "<ins>Premium</ins>", "admin@alpha.test", `for="f-entity_id"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("audit page lacks %q:\n%s", want, page)
		}
	}
	// Beta's entries stay in beta, and the other way round.
	if strings.Contains(page, "Geheim-Beta") || strings.Contains(page, "chef@beta.test") {
		t.Fatal("alpha's audit log shows beta's entries")
	}
	if page := betaAdmin.page("/audit", 200); strings.Contains(page, "Premium") || !strings.Contains(page, "Geheim-Beta") {
		t.Fatalf("beta's audit log:\n%s", page)
	}
	// An entity ID of beta's finds nothing in alpha.
	betaTags, _ := s.crm().Tags(ctx, s.System(t, "beta"))
	if page := admin.page("/audit?entity_id="+betaTags[0].ID.String(), 200); !strings.Contains(page, "Keine Einträge.") {
		t.Fatalf("beta's tag in alpha's log:\n%s", page)
	}

	// Filters.
	page = admin.page("/audit?action=tag.update", 200)
	if strings.Contains(page, "<code>tag.create</code>") || !strings.Contains(page, "<code>tag.update</code>") {
		t.Fatalf("action filter:\n%s", page)
	}
	page = admin.page("/audit?entity_type=user", 200)
	if strings.Contains(page, "<code>tag.") || !strings.Contains(page, "<code>auth.login</code>") {
		t.Fatalf("entity type filter:\n%s", page)
	}
	page = admin.page("/audit?entity_id="+tags[0].ID.String(), 200)
	if strings.Count(page, "<code>tag.") != 2 {
		t.Fatalf("entity filter:\n%s", page)
	}
	page = admin.page("/audit?actor="+s.userID(t, "alpha", "admin@alpha.test")+"&action=auth.login", 200)
	if strings.Count(page, "<code>auth.login</code>") != 1 {
		t.Fatalf("actor filter:\n%s", page)
	}
	today := time.Now().In(s.Tenant(t, "alpha").Location()).Format("2006-01-02")
	tomorrow := time.Now().In(s.Tenant(t, "alpha").Location()).AddDate(0, 0, 1).Format("2006-01-02")
	if page := admin.page("/audit?from="+today+"&to="+today, 200); !strings.Contains(page, "tag.update") {
		t.Fatalf("today's entries:\n%s", page)
	}
	if page := admin.page("/audit?from="+tomorrow, 200); !strings.Contains(page, "Keine Einträge.") {
		t.Fatalf("tomorrow's entries:\n%s", page)
	}
	resp, page = admin.do("GET", "/audit?entity_id=kaputt&from=gestern&to=2020-01-01&from=2021-01-01", nil)
	wantStatus(t, "bad filters", resp, page, http.StatusUnprocessableEntity, `id="f-entity_id-error"`, `id="f-from-error"`)
	resp, page = admin.do("GET", "/audit?from=2021-01-02&to=2021-01-01", nil)
	wantStatus(t, "reversed range", resp, page, http.StatusUnprocessableEntity, `id="f-to-error"`)
	resp, page = admin.do("GET", "/audit?cursor=xyz", nil)
	wantStatus(t, "bad cursor", resp, page, http.StatusUnprocessableEntity)

	// Paging: newest first, 50 a page, then the rest through the cursor.
	for i := range 60 {
		name := fmt.Sprintf("Tag %02d", i)
		if _, err := s.crm().CreateTag(ctx, sys, crm.TagInput{Name: &name}, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	page = admin.page("/audit?action=tag.create", 200)
	if n := strings.Count(page, "<code>tag.create</code>"); n != 50 {
		t.Fatalf("first page: %d entries", n)
	}
	if strings.Index(page, "Tag 59") > strings.Index(page, "Tag 58") {
		t.Error("entries are not newest first")
	}
	m := auditMoreRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no link to older entries:\n%s", page)
	}
	page = admin.page(html.UnescapeString(m[1]), 200)
	if n := strings.Count(page, "<code>tag.create</code>"); n != 11 || auditMoreRe.MatchString(page) || !strings.Contains(page, ">VIP<") {
		t.Fatalf("second page: %d entries\n%s", n, page)
	}

	// Without audit:read.
	s.loggedIn(t, "alpha.test", "sales@alpha.test", "sales").page("/audit", http.StatusForbidden)
}
