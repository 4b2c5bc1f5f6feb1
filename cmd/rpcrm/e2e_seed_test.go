package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/crm"
)

// seedCounts are a tenant's rows per seeded table, read as the owner.
type seedCounts struct{ companies, contacts, deals, activities int }

func (f *fixture) seedCounts(tenantSlug string) seedCounts {
	f.t.Helper()
	var c seedCounts
	f.ownerQueryRow(`SELECT
		(SELECT count(*) FROM companies WHERE tenant_id = t.id),
		(SELECT count(*) FROM contacts WHERE tenant_id = t.id),
		(SELECT count(*) FROM deals WHERE tenant_id = t.id),
		(SELECT count(*) FROM activities WHERE tenant_id = t.id)
		FROM tenants t WHERE t.slug = $1`, []any{tenantSlug}, &c.companies, &c.contacts, &c.deals, &c.activities)
	return c
}

// ownerInt runs a count-like query as the owner, with $1 the tenant's slug.
func (f *fixture) ownerInt(tenantSlug, sql string) int {
	f.t.Helper()
	var n int
	f.ownerQueryRow(sql, []any{tenantSlug}, &n)
	return n
}

// `rpcrm seed` fills a tenant with valid, deterministic demo data in the
// proportions of the issue, touches no other tenant, refuses a second run
// without --force, refuses prod and tenants without users.
func TestE2ESeed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true, "alpha", "beta", "gamma", "delta")
	f.migrate()
	f.createUser("alpha", "admin@alpha.ch", "Anna Admin", "admin", pwAdmin)
	f.createUser("alpha", "sales@alpha.ch", "Sven Sales", "sales", pwSales)
	f.createUser("beta", "admin@beta.ch", "Berta Admin", "admin", pwAdmin)
	f.createUser("gamma", "admin@gamma.ch", "Gina Admin", "admin", pwAdmin)
	dev := f.envWith("RPCRM_ENV", "dev")
	seed := func(args ...string) cliResult {
		t.Helper()
		return runCLI(t, f.dir, dev, "", append([]string{"seed"}, args...)...)
	}
	zero := seedCounts{}

	// Production: refused with exit 2 and one line, set explicitly or by
	// default (RPCRM_ENV unset means prod).
	for _, env := range []map[string]string{f.env, f.envWith("RPCRM_ENV", "")} {
		r := runCLI(t, f.dir, env, "", "seed", "--tenant", "alpha")
		if r.code != 2 {
			t.Fatalf("seed in prod: want exit 2: %v", r)
		}
		want := "rpcrm: seed refuses to run in prod: demo data does not belong into a production database"
		if line := singleLine(t, "stderr", r.stderr); line != want {
			t.Errorf("seed in prod: stderr %q, want %q", line, want)
		}
	}
	if c := f.seedCounts("alpha"); c != zero {
		t.Fatalf("refused seed in prod wrote rows: %+v", c)
	}

	// No user to own the records: refused, nothing written.
	if r := seed("--tenant", "delta"); r.code == 0 || !strings.Contains(r.stderr, "user") {
		t.Errorf("seed of a tenant without users: want an error naming the users: %v", r)
	}
	if c := f.seedCounts("delta"); c != zero {
		t.Errorf("refused seed of a tenant without users wrote rows: %+v", c)
	}
	if r := seed("--tenant", "nosuch"); r.code != 2 {
		t.Errorf("seed of an unknown tenant: want exit 2: %v", r)
	}

	start := time.Now()
	r := seed("--tenant", "alpha", "--contacts", "200")
	if r.code != 0 {
		t.Fatalf("seed: %v", r)
	}
	t.Logf("seed of 200 contacts: %s (%s)", time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.stdout))
	if !strings.Contains(r.stdout, "40 companies, 200 contacts, 100 deals, 600 activities") {
		t.Errorf("seed stdout should report the counts: %q", r.stdout)
	}
	want := seedCounts{companies: 40, contacts: 200, deals: 100, activities: 600}
	if c := f.seedCounts("alpha"); c != want {
		t.Errorf("alpha after seed: %+v, want %+v", c, want)
	}
	// Every row belongs to alpha: the tables hold nothing else.
	var all seedCounts
	f.ownerQueryRow(`SELECT (SELECT count(*) FROM companies), (SELECT count(*) FROM contacts),
		(SELECT count(*) FROM deals), (SELECT count(*) FROM activities)`, nil,
		&all.companies, &all.contacts, &all.deals, &all.activities)
	if all != want {
		t.Errorf("rows in all tenants after seeding alpha: %+v, want only alpha's %+v", all, want)
	}

	t.Run("audit", func(t *testing.T) {
		if n := f.ownerInt("alpha", `SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
			WHERE t.slug = $1 AND a.action = 'seed.run' AND (a.details->>'contacts')::int = 200
			AND (a.details->>'activities')::int = 600`); n != 1 {
			t.Errorf("want one seed.run audit entry with the counts, got %d", n)
		}
		if n := f.ownerInt("alpha", `SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
			WHERE t.slug = $1 AND a.action <> 'seed.run' AND a.action NOT LIKE 'user.%' AND a.action NOT LIKE 'role.%'`); n != 0 {
			t.Errorf("seed wrote %d audit entries besides seed.run (one per row?)", n)
		}
	})

	t.Run("validity", func(t *testing.T) {
		checks := []struct{ what, sql string }{
			{"contact phones not E.164", `SELECT count(*) FROM contacts c JOIN tenants t ON t.id = c.tenant_id, unnest(c.phones) p
				WHERE t.slug = $1 AND p !~ '^\+41[1-9][0-9]{8}$'`},
			{"company phones not E.164", `SELECT count(*) FROM companies c JOIN tenants t ON t.id = c.tenant_id
				WHERE t.slug = $1 AND c.phone !~ '^\+41[1-9][0-9]{8}$'`},
			{"contacts without a phone", `SELECT count(*) FROM contacts c JOIN tenants t ON t.id = c.tenant_id
				WHERE t.slug = $1 AND cardinality(c.phones) = 0`},
			{"contact e-mails not lower-case addresses", `SELECT count(*) FROM contacts c JOIN tenants t ON t.id = c.tenant_id, unnest(c.emails) e
				WHERE t.slug = $1 AND (e <> lower(e) OR e !~ '^[a-z0-9.]+@[a-z0-9.-]+\.[a-z]+$')`},
			{"contact postal codes not 4 digits", `SELECT count(*) FROM contacts c JOIN tenants t ON t.id = c.tenant_id
				WHERE t.slug = $1 AND (c.postal_code !~ '^[1-9][0-9]{3}$' OR c.city = '' OR c.canton !~ '^[A-Z]{2}$' OR c.country <> 'CH')`},
			{"company postal codes not 4 digits", `SELECT count(*) FROM companies c JOIN tenants t ON t.id = c.tenant_id
				WHERE t.slug = $1 AND (c.postal_code !~ '^[1-9][0-9]{3}$' OR c.city = '' OR c.canton !~ '^[A-Z]{2}$')`},
			{"companies without UID", `SELECT count(*) FROM companies c JOIN tenants t ON t.id = c.tenant_id
				WHERE t.slug = $1 AND c.uid IS NULL`},
			{"language not the town's", `SELECT count(*) FROM contacts c JOIN tenants t ON t.id = c.tenant_id
				WHERE t.slug = $1 AND ((c.canton = 'TI' AND c.language <> 'it') OR (c.canton IN ('GE', 'VD', 'NE', 'JU') AND c.language <> 'fr')
				OR (c.canton IN ('ZH', 'BS', 'LU', 'SG', 'AG') AND c.language <> 'de'))`},
			{"tags outside the demo set", `SELECT count(*) FROM (
				SELECT unnest(tags) g, tenant_id FROM contacts UNION ALL SELECT unnest(tags), tenant_id FROM companies
				UNION ALL SELECT unnest(tags), tenant_id FROM deals) x JOIN tenants t ON t.id = x.tenant_id
				WHERE t.slug = $1 AND g NOT IN ('VIP', 'Newsletter', 'Partner', 'Lead', 'Bestandskunde')`},
			{"deals outside the first pipeline", `SELECT count(*) FROM deals d JOIN tenants t ON t.id = d.tenant_id
				WHERE t.slug = $1 AND d.pipeline_id <> (SELECT id FROM pipelines p WHERE p.tenant_id = t.id ORDER BY position, lower(name), id LIMIT 1)`},
			{"won/lost deals without their dates and reason", `SELECT count(*) FROM deals d JOIN tenants t ON t.id = d.tenant_id
				JOIN stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id WHERE t.slug = $1 AND NOT CASE s.kind
				WHEN 'won' THEN d.won_at IS NOT NULL AND d.lost_at IS NULL AND d.probability = 100
				WHEN 'lost' THEN d.lost_at IS NOT NULL AND d.won_at IS NULL AND d.lost_reason <> '' AND d.probability = 0
				ELSE d.won_at IS NULL AND d.lost_at IS NULL AND d.lost_reason = '' END`},
			{"deals without amount, owner or link", `SELECT count(*) FROM deals d JOIN tenants t ON t.id = d.tenant_id
				WHERE t.slug = $1 AND (d.amount IS NULL OR d.amount <= 0 OR d.owner_id IS NULL OR d.expected_close IS NULL
				OR (d.company_id IS NULL AND d.contact_id IS NULL))`},
			{"records without owner", `SELECT (SELECT count(*) FROM contacts c WHERE c.tenant_id = t.id AND c.owner_id IS NULL)
				+ (SELECT count(*) FROM companies c WHERE c.tenant_id = t.id AND c.owner_id IS NULL) FROM tenants t WHERE t.slug = $1`},
			{"activities without assignee or link", `SELECT count(*) FROM activities a JOIN tenants t ON t.id = a.tenant_id
				WHERE t.slug = $1 AND (a.assignee_id IS NULL OR a.owner_id IS NULL
				OR (a.company_id IS NULL AND a.contact_id IS NULL AND a.deal_id IS NULL))`},
			{"activities linked across records", `SELECT count(*) FROM activities a JOIN tenants t ON t.id = a.tenant_id
				LEFT JOIN contacts c ON c.tenant_id = a.tenant_id AND c.id = a.contact_id
				WHERE t.slug = $1 AND a.deal_id IS NULL AND a.contact_id IS NOT NULL AND a.company_id IS DISTINCT FROM c.company_id`},
			{"records created in the future", `SELECT count(*) FROM (SELECT created_at, tenant_id FROM contacts UNION ALL
				SELECT created_at, tenant_id FROM deals UNION ALL SELECT created_at, tenant_id FROM activities) x
				JOIN tenants t ON t.id = x.tenant_id WHERE t.slug = $1 AND x.created_at > now()`},
		}
		for _, c := range checks {
			if n := f.ownerInt("alpha", c.sql); n != 0 {
				t.Errorf("%s: %d rows", c.what, n)
			}
		}

		// UIDs: canonical form with a correct check digit, all different.
		var uids string
		f.ownerQueryRow(`SELECT string_agg(uid, ' ') FROM companies c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = $1`,
			[]any{"alpha"}, &uids)
		seen := map[string]bool{}
		for _, u := range strings.Fields(uids) {
			if norm, err := crm.NormalizeUID(u); err != nil || norm != u {
				t.Errorf("UID %q: %q, %v", u, norm, err)
			}
			if seen[u] {
				t.Errorf("UID %s twice", u)
			}
			seen[u] = true
		}
		if len(seen) != 40 {
			t.Errorf("%d distinct UIDs, want 40", len(seen))
		}

		// Spread: most contacts work at a company, owners are both users,
		// deals sit in several stages including won and lost ones, and the
		// activities are of every kind and in every state.
		spread := []struct {
			what string
			min  int
			sql  string
		}{
			{"contacts with a company (of 200)", 120, `SELECT count(*) FROM contacts c JOIN tenants t ON t.id = c.tenant_id
				WHERE t.slug = $1 AND c.company_id IS NOT NULL`},
			{"contact owners", 2, `SELECT count(DISTINCT c.owner_id) FROM contacts c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = $1`},
			{"activity assignees", 2, `SELECT count(DISTINCT a.assignee_id) FROM activities a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = $1`},
			{"deal stages", 5, `SELECT count(DISTINCT d.stage_id) FROM deals d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = $1`},
			{"won deals", 10, `SELECT count(*) FROM deals d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = $1 AND d.won_at IS NOT NULL`},
			{"lost deals", 5, `SELECT count(*) FROM deals d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = $1 AND d.lost_at IS NOT NULL`},
			{"activity kinds", 4, `SELECT count(DISTINCT a.kind) FROM activities a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = $1`},
			{"done activities", 100, `SELECT count(*) FROM activities a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = $1 AND a.done_at IS NOT NULL`},
			{"open activities due later", 30, `SELECT count(*) FROM activities a JOIN tenants t ON t.id = a.tenant_id
				WHERE t.slug = $1 AND a.done_at IS NULL AND a.due_at > now()`},
			{"overdue tasks", 10, `SELECT count(*) FROM activities a JOIN tenants t ON t.id = a.tenant_id
				WHERE t.slug = $1 AND a.kind = 'task' AND a.done_at IS NULL AND a.due_at < now()`},
			{"activities on deals", 50, `SELECT count(*) FROM activities a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = $1 AND a.deal_id IS NOT NULL`},
			{"tagged contacts", 40, `SELECT count(*) FROM contacts c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = $1 AND c.tags <> '{}'`},
			{"tags in the tag list", 5, `SELECT count(*) FROM tags g JOIN tenants t ON t.id = g.tenant_id WHERE t.slug = $1`},
			{"distinct towns", 20, `SELECT count(DISTINCT c.postal_code) FROM contacts c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = $1`},
		}
		for _, s := range spread {
			if n := f.ownerInt("alpha", s.sql); n < s.min {
				t.Errorf("%s: %d, want at least %d", s.what, n, s.min)
			}
		}
	})

	// A second run is refused: the tenant has contacts now.
	r = seed("--tenant", "alpha")
	if r.code == 0 {
		t.Fatalf("second seed without --force succeeded: %v", r)
	}
	if line := singleLine(t, "stderr", r.stderr); !strings.Contains(line, "--force") {
		t.Errorf("the refusal should point to --force: %q", line)
	}
	if c := f.seedCounts("alpha"); c != want {
		t.Errorf("refused second seed changed alpha: %+v", c)
	}
	// With --force it adds more, same seed: no UID may clash with the first run's.
	if r := seed("--tenant", "alpha", "--contacts", "50", "--force"); r.code != 0 {
		t.Fatalf("seed --force: %v", r)
	}
	if c, want := f.seedCounts("alpha"), (seedCounts{companies: 50, contacts: 250, deals: 125, activities: 750}); c != want {
		t.Errorf("alpha after seed --force: %+v, want %+v", c, want)
	}

	// Determinism: beta seeded with the same seed gets the same people and
	// companies (in the same order) as alpha's first run.
	if r := seed("--tenant", "beta", "--seed", "1"); r.code != 0 {
		t.Fatalf("seed beta: %v", r)
	}
	fingerprint := func(slug string) (people, firms string) {
		t.Helper()
		f.ownerQueryRow(`SELECT
			(SELECT string_agg(first_name || ' ' || last_name || ' ' || postal_code || ' ' || array_to_string(emails, ','), '|' ORDER BY id)
			 FROM (SELECT * FROM contacts c WHERE c.tenant_id = t.id ORDER BY id LIMIT 200) c),
			(SELECT string_agg(name || ' ' || uid, '|' ORDER BY id) FROM (SELECT * FROM companies c WHERE c.tenant_id = t.id ORDER BY id LIMIT 40) c)
			FROM tenants t WHERE t.slug = $1`, []any{slug}, &people, &firms)
		return people, firms
	}
	ap, af := fingerprint("alpha")
	bp, bf := fingerprint("beta")
	if ap != bp || af != bf {
		t.Errorf("same seed, different data:\nalpha %.200s\nbeta  %.200s\nalpha %.200s\nbeta  %.200s", ap, bp, af, bf)
	}
	if ap == "" || af == "" {
		t.Errorf("no fingerprint: %q %q", ap, af)
	}
	// Another seed gives other data.
	f.createUser("delta", "admin@delta.ch", "Dora Admin", "admin", pwAdmin)
	if r := seed("--tenant", "delta", "--seed", "2", "--contacts", "200"); r.code != 0 {
		t.Fatalf("seed delta: %v", r)
	}
	if dp, df := fingerprint("delta"); dp == ap || df == af {
		t.Errorf("seed 2 gives the same data as seed 1")
	}

	// gamma was never seeded: untouched, not even a tag or an audit entry.
	if c := f.seedCounts("gamma"); c != zero {
		t.Errorf("gamma was touched: %+v", c)
	}
	if n := f.ownerInt("gamma", `SELECT (SELECT count(*) FROM tags g WHERE g.tenant_id = t.id)
		+ (SELECT count(*) FROM audit_log a WHERE a.tenant_id = t.id AND a.action = 'seed.run') FROM tenants t WHERE t.slug = $1`); n != 0 {
		t.Errorf("gamma has %d tags or seed audit entries", n)
	}
}

// `rpcrm dev` seeds the demo tenants on the first start, and only then.
func TestE2EDevSeedsDemoTenants(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	env := f.envWith("RPCRM_ENV", "", "RPCRM_TENANTS_FILE", "")
	want := seedCounts{companies: 40, contacts: 200, deals: 100, activities: 600}
	for start := 1; start <= 2; start++ {
		p := f.start(env, "dev")
		p.waitOutput("Health:", 60*time.Second)
		for _, slug := range []string{"mandant1", "mandant2"} {
			if c := f.seedCounts(slug); c != want {
				t.Errorf("start %d: %s has %+v, want %+v", start, slug, c, want)
			}
		}
		p.signal(os.Interrupt)
		if code := p.wait(20 * time.Second); code != 0 {
			t.Fatalf("dev exited with %d", code)
		}
	}
	// The demo users own the records.
	var owners int
	f.ownerQueryRow(`SELECT count(DISTINCT u.email) FROM contacts c JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.owner_id`, nil, &owners)
	if owners != 4 {
		t.Errorf("contacts are owned by %d demo users, want 4 (two per tenant)", owners)
	}
}
