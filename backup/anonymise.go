package backup

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/demo"
)

// Anonymisation replaces what identifies people and customers — names,
// e-mail addresses, phone numbers, addresses, birthdays, free text,
// document names and contents, IP addresses, passwords — with invented Swiss
// data from package demo, and keeps what the data is about: every id and
// foreign key, amounts, currencies, stages, dates, counts, tags, which
// fields were empty, and the numbers and dates in custom fields and the
// audit log. A row's fake values depend only on its id, so the same backup
// always anonymises the same way.

// Sizes of the fake data pools; primes spread the picks evenly.
const (
	anonPersons   = 997
	anonCompanies = 499
	anonSubjects  = 31
)

// anonSeed fixes the fake data pools.
const anonSeed = 20260202

// placeholder is the content that replaces an anonymised document; the
// script below computes the same bytes for its size and SHA-256.
func placeholder(id string) string {
	return placeholderPrefix + id + "\n"
}

const placeholderPrefix = "Anonymisiertes Dokument "

// anonTexts stand in for free text (activity bodies, notes, lost reasons).
var anonTexts = []string{
	"Kunde wünscht eine überarbeitete Offerte bis Ende Monat.",
	"Telefonisch nicht erreicht, Rückruf in einer Woche vereinbart.",
	"Die Unterlagen wurden per Post verschickt.",
	"Termin vor Ort bestätigt, Parkplatz vorhanden.",
	"Budget ist freigegeben, Entscheid fällt im nächsten Quartal.",
	"Interesse an einer Erweiterung des bestehenden Vertrags.",
	"Preis war zu hoch, Mitbewerber hat den Zuschlag erhalten.",
	"Referenzen wurden angefragt und weitergeleitet.",
	"Offene Fragen zur Lieferfrist geklärt.",
	"Rechnung geprüft, keine Beanstandungen.",
	"Projektstart voraussichtlich im Frühling.",
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// anonymiseSQL returns the script psql runs after the restored dump, in the
// same transaction. pg_restore's preamble empties search_path, so it sets
// its own. Forced row-level security would hide every row from the owner;
// the script lifts FORCE for its own work and puts back exactly what was
// forced before it commits.
func anonymiseSQL() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	// A valid hash of a password nobody knows: nobody can log in until
	// `rpcrm users set-password` gives the account a new one.
	pwHash, err := auth.HashPassword(hex.EncodeToString(key))
	if err != nil {
		return "", err
	}
	g := demo.New(anonSeed)
	var b strings.Builder
	b.WriteString(`SET search_path = public, pg_temp;
SET row_security = on;
CREATE TEMP TABLE anon_forced ON COMMIT DROP AS
  SELECT c.oid::regclass AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relforcerowsecurity;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT t FROM anon_forced LOOP EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', r.t); END LOOP;
END $$;
CREATE TEMP TABLE anon_person (i int PRIMARY KEY, salutation text, first_name text, last_name text, email_local text,
  phone text, job_title text, street text, postal_code text, city text, canton text, birthday date) ON COMMIT DROP;
CREATE TEMP TABLE anon_company (i int PRIMARY KEY, name text, domain text, phone text, street text, postal_code text,
  city text, canton text, deal_title text) ON COMMIT DROP;
CREATE TEMP TABLE anon_subject (kind text, i int, subject text, PRIMARY KEY (kind, i)) ON COMMIT DROP;
CREATE TEMP TABLE anon_text (i int PRIMARY KEY, body text) ON COMMIT DROP;
`)
	b.WriteString("INSERT INTO anon_person VALUES\n")
	for i := range anonPersons {
		p := g.Person()
		local, _, _ := strings.Cut(p.Email, "@")
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "(%d, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", i, lit(p.Salutation), lit(p.FirstName), lit(p.LastName),
			lit(local), lit(p.Phone), lit(p.JobTitle), lit(p.Street), lit(p.PostalCode), lit(p.City), lit(p.Canton),
			lit(p.Birthday.Format("2006-01-02")))
	}
	b.WriteString(";\nINSERT INTO anon_company VALUES\n")
	for i := range anonCompanies {
		c := g.Company()
		_, domain, _ := strings.Cut(c.Email, "@")
		domain = strings.TrimSuffix(domain, ".ch")
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "(%d, %s, %s, %s, %s, %s, %s, %s, %s)", i, lit(c.Name), lit(domain), lit(c.Phone), lit(c.Street),
			lit(c.PostalCode), lit(c.City), lit(c.Canton), lit(g.DealTitle(c.Name)))
	}
	b.WriteString(";\nINSERT INTO anon_subject VALUES\n")
	for k, kind := range []string{"note", "call", "meeting", "task", "email"} {
		for i := range anonSubjects {
			if k > 0 || i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, "(%s, %d, %s)", lit(kind), i, lit(g.Subject(kind)))
		}
	}
	b.WriteString(";\nINSERT INTO anon_text VALUES\n")
	for i, t := range anonTexts {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "(%d, %s)", i, lit(t))
	}
	b.WriteString(";\n")
	fmt.Fprintf(&b, anonFunctions, len(anonTexts))
	fmt.Fprintf(&b, anonUpdates, anonPersons, anonCompanies, anonSubjects, lit(pwHash), lit(placeholderPrefix))
	return b.String(), nil
}

// anonFunctions: pick(id, n) is a stable index in [0, n) from a row's id;
// text(t, id) keeps an empty text and replaces any other; json(j) keeps keys,
// numbers, booleans, nulls, UUIDs, dates and short codes and replaces every
// other string; uid(n) is the n-th valid Swiss UID of a fixed series.
const anonFunctions = `
CREATE FUNCTION pg_temp.anon_pick(id uuid, n int) RETURNS int LANGUAGE sql IMMUTABLE
  AS $$ SELECT (('x' || substr(md5(id::text), 1, 8))::bit(32)::int & 2147483647) %% n $$;
CREATE FUNCTION pg_temp.anon_text(t text, id uuid) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT CASE WHEN t = '' THEN '' ELSE (SELECT body FROM pg_temp.anon_text WHERE i = pg_temp.anon_pick(id, %d)) END $$;
CREATE FUNCTION pg_temp.anon_json(j jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE out jsonb; k text; v jsonb;
BEGIN
  IF j IS NULL THEN RETURN NULL; END IF;
  CASE jsonb_typeof(j)
  WHEN 'object' THEN
    out := '{}';
    FOR k, v IN SELECT * FROM jsonb_each(j) LOOP out := out || jsonb_build_object(k, pg_temp.anon_json(v)); END LOOP;
    RETURN out;
  WHEN 'array' THEN
    SELECT coalesce(jsonb_agg(pg_temp.anon_json(e) ORDER BY n), '[]') INTO out FROM jsonb_array_elements(j) WITH ORDINALITY AS a(e, n);
    RETURN out;
  WHEN 'string' THEN
    IF j #>> '{}' ~ '^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.+Z-]*)?|-?[0-9]+(\.[0-9]+)?|[A-Z]{3}|[a-z_:.]{0,30})$' THEN
      RETURN j;
    END IF;
    RETURN to_jsonb('anonymisiert'::text);
  ELSE RETURN j;
  END CASE;
END $$;
CREATE FUNCTION pg_temp.anon_uid(n bigint) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE w int[] := ARRAY[5, 4, 3, 2, 7, 6, 5, 4]; d text; s int; c int;
BEGIN
  FOR k IN 0..1 LOOP
    d := lpad((10000000 + (2 * n) %% 89999998 + k)::text, 8, '0');
    s := 0;
    FOR i IN 1..8 LOOP s := s + substr(d, i, 1)::int * w[i]; END LOOP;
    c := 11 - s %% 11;
    IF c = 11 THEN c := 0; END IF;
    IF c < 10 THEN RETURN 'CHE-' || substr(d, 1, 3) || '.' || substr(d, 4, 3) || '.' || substr(d, 7, 2) || c; END IF;
  END LOOP;
  RAISE EXCEPTION 'no UID for %%', n;
END $$;
`

// anonUpdates rewrites the tables. Fake values are chosen per row by
// anon_pick(id); unique columns (user e-mail, company UID) go through a
// unique interim value first so that no intermediate state collides.
const anonUpdates = `
-- users: a fake name, an e-mail address under example.com, a password nobody knows.
UPDATE users SET email = id::text || '@anonymised.invalid';
UPDATE users u SET name = p.first_name || ' ' || p.last_name,
  email = lower(p.email_local) || '.' || substr(md5(u.id::text), 1, 10) || '@example.com',
  password_hash = %[4]s
  FROM anon_person p WHERE p.i = pg_temp.anon_pick(u.id, %[1]d);
UPDATE sessions SET ip = '', user_agent = '', revoked_at = coalesce(revoked_at, now()),
  revoke_reason = coalesce(revoke_reason, 'anonymised');
UPDATE audit_log a SET
  actor = CASE WHEN a.actor = '' THEN '' WHEN a.actor_id IS NULL THEN 'anonymisiert' ELSE
    (SELECT p.first_name || ' ' || p.last_name FROM anon_person p WHERE p.i = pg_temp.anon_pick(a.actor_id, %[1]d)) END,
  ip = '', changes = pg_temp.anon_json(changes), details = pg_temp.anon_json(details);

-- companies
UPDATE companies SET uid = 'anon-' || id::text WHERE uid IS NOT NULL;
UPDATE companies c SET uid = x.uid FROM (
  SELECT tenant_id, id, pg_temp.anon_uid(row_number() OVER (PARTITION BY tenant_id ORDER BY id)) AS uid
  FROM companies WHERE uid IS NOT NULL) x
  WHERE c.tenant_id = x.tenant_id AND c.id = x.id;
UPDATE companies c SET name = f.name,
  website = CASE WHEN c.website = '' THEN '' ELSE 'https://www.' || f.domain || '.example.com' END,
  email = CASE WHEN c.email = '' THEN '' ELSE 'info@' || f.domain || '.example.com' END,
  phone = CASE WHEN c.phone = '' THEN '' ELSE f.phone END,
  street = CASE WHEN c.street = '' THEN '' ELSE f.street END,
  postal_code = CASE WHEN c.postal_code = '' THEN '' ELSE f.postal_code END,
  city = CASE WHEN c.city = '' THEN '' ELSE f.city END,
  canton = CASE WHEN c.canton = '' THEN '' ELSE f.canton END,
  custom = pg_temp.anon_json(c.custom)
  FROM anon_company f WHERE f.i = pg_temp.anon_pick(c.id, %[2]d);

-- contacts
UPDATE contacts c SET salutation = CASE WHEN c.salutation = '' THEN '' ELSE p.salutation END,
  first_name = CASE WHEN c.first_name = '' THEN '' ELSE p.first_name END,
  last_name = CASE WHEN c.last_name = '' THEN '' ELSE p.last_name END,
  emails = ARRAY(SELECT lower(p.email_local) || '.' || substr(md5(c.id::text || g::text), 1, 8) || '@example.com'
                 FROM generate_subscripts(c.emails, 1) AS g ORDER BY g),
  phones = ARRAY(SELECT q.phone FROM generate_subscripts(c.phones, 1) AS g
                 JOIN anon_person q ON q.i = (pg_temp.anon_pick(c.id, %[1]d) + g) %% %[1]d ORDER BY g),
  job_title = CASE WHEN c.job_title = '' THEN '' ELSE p.job_title END,
  street = CASE WHEN c.street = '' THEN '' ELSE p.street END,
  postal_code = CASE WHEN c.postal_code = '' THEN '' ELSE p.postal_code END,
  city = CASE WHEN c.city = '' THEN '' ELSE p.city END,
  canton = CASE WHEN c.canton = '' THEN '' ELSE p.canton END,
  birthday = CASE WHEN c.birthday IS NULL THEN NULL ELSE p.birthday END,
  consent_source = pg_temp.anon_text(c.consent_source, c.id),
  custom = pg_temp.anon_json(c.custom)
  FROM anon_person p WHERE p.i = pg_temp.anon_pick(c.id, %[1]d);

-- deals: amounts, stages and dates stay.
UPDATE deals d SET title = f.deal_title, lost_reason = pg_temp.anon_text(d.lost_reason, d.id),
  custom = pg_temp.anon_json(d.custom)
  FROM anon_company f WHERE f.i = pg_temp.anon_pick(d.id, %[2]d);

-- activities: subject by kind, body as invented text.
UPDATE activities a SET subject = s.subject, body = pg_temp.anon_text(a.body, a.id)
  FROM anon_subject s WHERE s.kind = a.kind AND s.i = pg_temp.anon_pick(a.id, %[3]d);

-- documents: a neutral name with the original extension, and the placeholder content.
UPDATE documents d SET
  file_name = 'Dokument-' || substr(md5(d.id::text), 1, 8) || coalesce(lower(substring(d.file_name FROM '\.[A-Za-z0-9]{1,8}$')), ''),
  content_type = 'text/plain; charset=utf-8',
  size = octet_length(convert_to(%[5]s || d.id::text || E'\n', 'UTF8')),
  sha256 = encode(sha256(convert_to(%[5]s || d.id::text || E'\n', 'UTF8')), 'hex');

DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT t FROM anon_forced LOOP EXECUTE format('ALTER TABLE %%s FORCE ROW LEVEL SECURITY', r.t); END LOOP;
END $$;
`
