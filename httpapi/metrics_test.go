package httpapi_test

import (
	"net/http"
	"testing"
)

// Records created through the API are counted per tenant and type; refused
// creations, dry runs and rolled-back imports are not.
func TestRecordsCreatedMetric(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	m := ca.s.Metrics
	created := func(tenant, typ string) float64 {
		return counterValue(t, m, "rpcrm_records_created_total", map[string]string{"tenant": tenant, "type": typ})
	}
	ca.post(t, "", ca.admin, "/api/v1/companies", map[string]any{"name": "Muster AG"})
	ca.post(t, "", ca.admin, "/api/v1/contacts", map[string]any{"first_name": "Anna", "last_name": "Muster"})
	ca.post(t, "", ca.sales, "/api/v1/contacts", map[string]any{"first_name": "Ben", "last_name": "Beispiel"})
	ca.post(t, "beta.test", ca.betaAdmin, "/api/v1/contacts", map[string]any{"first_name": "Cara", "last_name": "Beta"})
	if res := ca.s.do(t, request{Method: "POST", Path: "/api/v1/contacts", Token: ca.admin,
		Body: map[string]any{"emails": []string{"kein-mail"}}}); res.Status != http.StatusUnprocessableEntity && res.Status != http.StatusBadRequest {
		t.Fatalf("invalid contact: %d %s", res.Status, res.Body)
	}
	csv := "Vorname;Nachname;E-Mail\r\nDora;Dorf;dora@example.ch\r\nEva;Egg;kein-mail\r\nFritz;Frei;fritz@example.ch\r\n"
	mapping := `{"Vorname":"first_name","Nachname":"last_name","E-Mail":"email"}`
	ca.importCSV(t, "", ca.admin, "contacts", csv, map[string]string{"mapping": mapping, "dry_run": "true"}, http.StatusOK)
	ca.importCSV(t, "", ca.admin, "contacts", csv, map[string]string{"mapping": mapping}, http.StatusUnprocessableEntity)
	ca.importCSV(t, "", ca.admin, "contacts", csv, map[string]string{"mapping": mapping, "mode": "skip_bad_rows"}, http.StatusOK)

	for _, c := range []struct {
		tenant, typ string
		want        float64
	}{{"alpha", "company", 1}, {"alpha", "contact", 2 + 2}, {"beta", "contact", 1}, {"beta", "company", 0}} {
		if got := created(c.tenant, c.typ); got != c.want {
			t.Errorf("records created %s/%s = %v, want %v", c.tenant, c.typ, got, c.want)
		}
	}
}
