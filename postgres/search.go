package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// wordSimilarityThreshold is pg_trgm's word_similarity threshold for the
// search (the default is 0.6). At 0.5 one typo in a five- to seven-letter
// word still matches when it doubles, drops or changes one of the last
// letters (Schmitt → Schmidt, Fisher → Fischer, Kellr → Keller, Zürihc →
// Zürich); a changed letter in the middle of a short word usually does not
// (Gerger ↛ Gerber, Zurcih ↛ Zürich): its three trigrams are lost. The price
// is some noise (Hofmann finds Kaufmann), which the ranking puts last.
// trigramPrefilter relies on a threshold of at least 0.5.
const wordSimilarityThreshold = "0.5"

// searchSettings sets the threshold of <% for the search's transaction.
const searchSettings = `SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)`

// searchSpec is how one record type is searched.
type searchSpec struct {
	typ  string
	perm auth.Permission
	// from returns the type's table and joins, and its title and subtitle.
	from func(q *query, p *auth.Principal) searchFrom
}

// searchFrom is the type-specific part of a search query.
type searchFrom struct {
	table string // the searched table as "r"
	// joins are the tables the subtitle needs besides r; they are joined
	// to the hits only, after the ranking.
	joins           string
	title, subtitle string // SQL; the title only of r
}

var searchSpecs = []searchSpec{
	{crm.EntityCompany, auth.PermCompaniesRead, companySearch},
	{crm.EntityContact, auth.PermContactsRead, contactSearch},
	{crm.EntityDeal, auth.PermDealsRead, dealSearch},
}

// Search finds companies, contacts and deals. The queries of all types
// travel in one batch, so a search costs one round trip besides the
// transaction's own.
func (s *CRMService) Search(ctx context.Context, p *auth.Principal, sp crm.SearchParams) (*crm.SearchResults, error) {
	if err := sp.Normalize(); err != nil {
		return nil, err
	}
	var specs []searchSpec
	var queries []*query
	for _, spec := range searchSpecs {
		if !sp.Wants(spec.typ) || !p.Grants.Has(spec.perm) {
			continue
		}
		q := &query{}
		searchSQL(q, p, spec.perm, spec.from(q, p), sp.Q, sp.Limit)
		specs = append(specs, spec)
		queries = append(queries, q)
	}
	res := &crm.SearchResults{}
	if len(specs) == 0 {
		return res, nil
	}
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(searchSettings, wordSimilarityThreshold)
		for _, q := range queries {
			b.Queue(q.String(), q.args...)
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close() //nolint:errcheck // the error is the one Exec or Query returned
		if _, err := br.Exec(); err != nil {
			return err
		}
		for _, spec := range specs {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crm.SearchHit, error) {
				h := crm.SearchHit{Type: spec.typ}
				err := r.Scan(&h.ID, &h.Title, &h.Subtitle, &h.Score)
				return h, err
			})
			if err != nil {
				return err
			}
			switch spec.typ {
			case crm.EntityCompany:
				res.Companies = hits
			case crm.EntityContact:
				res.Contacts = hits
			case crm.EntityDeal:
				res.Deals = hits
			}
		}
		return br.Close()
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// searchSQL builds the query of one type's hits: id, title, subtitle, score.
//
// The score (crm.SearchHit.Score) says how the folded query term t meets the
// record's search text: 4 for the whole folded title (the exact name), 3 for
// a whole word or words, 1 + word similarity for the start of a word, and
// the word similarity alone for a match inside a word or a typo.
//
// The query runs in two steps, because under row-level security PostgreSQL
// cannot use the trigram index (LIKE and <% are not leakproof), so every
// filter reads all of the tenant's rows, and <% costs ten to twenty times
// as much per row as LIKE or a regular expression. Step one finds the word
// matches (score 1 and more) with a cheap filter; step two, the substring
// and trigram matches, which all score below 1, runs only if step one found
// fewer hits than the limit, and computes <% only for rows that pass
// trigramPrefilter. The ranking is the same as in one query.
//
// A whole-word match has word similarity 1 by definition, so it is not
// computed for those rows. Punctuation ends a word, so "muller" is a whole
// word in "Müller-Meier" and in "hans.muller@example.ch".
func searchSQL(q *query, p *auth.Principal, perm auth.Permission, f searchFrom, text string, limit int) {
	tenant := q.arg(p.TenantID)
	// The term and its patterns, computed once (InitPlans), not per row.
	// A phone number matches by its digits only, never by trigrams.
	var termSQL, fuzzy string
	if digits, ok := phoneQuery(text); ok {
		termSQL = q.arg(digits) + "::text"
	} else {
		termSQL = "search_norm(" + q.arg(text) + "::text)"
		fuzzy = " OR ((SELECT tri FROM term) IS NULL OR r.search ~ (SELECT tri FROM term)) AND (SELECT t FROM term) <% r.search"
	}
	const (
		t    = "(SELECT t FROM term)"
		word = `(SELECT '\m' || re FROM term)`
		pat  = `(SELECT '%' || pat || '%' FROM term)`
	)
	base := " FROM " + f.table + " WHERE r.tenant_id = " + tenant + " AND r.deleted_at IS NULL"
	if s, _ := p.Grants.Allows(perm); s == auth.ScopeOwn {
		base += " AND r.owner_id = " + q.arg(p.UserID)
	}
	// The hits are ranked on the searched table alone; the subtitle's joins
	// (a contact's company, a deal's stage) are made for the hits only, not
	// for every match of a common name.
	q.add(fmt.Sprintf(`WITH term AS (SELECT t, %[1]s AS pat, %[2]s AS re, (%[11]s) AS tri FROM (SELECT %[3]s AS t) x),
		words AS (
			SELECT r.id, CASE WHEN r.search ~ (%[4]s || '\M')
					THEN CASE WHEN search_norm(%[5]s) = %[6]s THEN 4 ELSE 3 END
					ELSE 1 + word_similarity(%[6]s, r.search) END AS score, r.updated_at
			%[7]s AND r.search LIKE %[8]s AND r.search ~ %[4]s
			ORDER BY score DESC, r.updated_at DESC, r.id LIMIT %[9]d),
		hits AS (
			SELECT * FROM words
			UNION ALL
			SELECT r.id, word_similarity(%[6]s, r.search), r.updated_at
			%[7]s AND (SELECT count(*) FROM words) < %[9]d
			AND (r.search LIKE %[8]s%[10]s) AND NOT r.search ~ %[4]s
			ORDER BY score DESC, updated_at DESC, id LIMIT %[9]d)
		SELECT r.id, %[5]s, %[12]s, round(h.score::numeric, 4)::float8
		FROM hits h JOIN %[13]s ON r.tenant_id = %[14]s AND r.id = h.id%[15]s
		ORDER BY h.score DESC, h.updated_at DESC, h.id`,
		likeEscape("t"), regexpEscape("t"), termSQL, word, f.title, t, base, pat, limit, fuzzy, trigramPrefilter,
		f.subtitle, f.table, tenant, f.joins))
}

// trigramPrefilter is the SQL of a regular expression that every text
// matching the term t by <% must match, or NULL; it spares most rows the
// costly <%. pg_trgm's word similarity is count / (n + m - count) for the
// best extent of the text, with n the term's distinct trigrams, m the
// extent's and count those they share (m >= count). The padded trigrams at
// the words' edges ("  m", " mu", "er ") are not substrings of the text,
// the inner ones ("mul") are. If the term has more inner trigrams than
// padded ones and the text has none of the inner ones, count is at most
// the padded ones, less than n/2: the similarity is below 0.5, the
// threshold. pg_trgm shows trigrams with other than ASCII letters as
// hashes, which are no substrings; then there is no prefilter.
const trigramPrefilter = `SELECT CASE WHEN count(*) FILTER (WHERE g LIKE '% %') < count(*) FILTER (WHERE g NOT LIKE '% %')
		AND bool_and(g ~ '^[a-z0-9 ]{3}$')
	THEN string_agg(g, '|') FILTER (WHERE g NOT LIKE '% %') END
	FROM unnest(show_trgm(t)) AS g`

// regexpEscape quotes every character of the text of the SQL expression
// expr that could mean something in a regular expression.
func regexpEscape(expr string) string {
	return `regexp_replace(` + expr + `, '([^[:alnum:] ])', '\\\1', 'g')`
}

func companySearch(*query, *auth.Principal) searchFrom {
	return searchFrom{table: "companies r", title: "r.name", subtitle: "r.city"}
}

// contactSearch names a contact's company in the subtitle only if the user
// may see that company; otherwise the subtitle is the e-mail address.
func contactSearch(q *query, p *auth.Principal) searchFrom {
	f := searchFrom{table: "contacts r", title: "btrim(r.first_name || ' ' || r.last_name)",
		subtitle: "coalesce(r.emails[1], '')"}
	if s, ok := p.Grants.Allows(auth.PermCompaniesRead); ok {
		f.subtitle = "coalesce(co.name, r.emails[1], '')"
		f.joins = " LEFT JOIN companies co ON co.tenant_id = r.tenant_id AND co.id = r.company_id AND co.deleted_at IS NULL"
		if s == auth.ScopeOwn {
			f.joins += " AND co.owner_id = " + q.arg(p.UserID)
		}
	}
	return f
}

// dealSearch shows a deal's amount and stage, e.g. "CHF 12500.00 · Offerte".
func dealSearch(*query, *auth.Principal) searchFrom {
	return searchFrom{table: "deals r", joins: " LEFT JOIN stages s ON s.tenant_id = r.tenant_id AND s.id = r.stage_id",
		title:    "r.title",
		subtitle: "concat_ws(' · ', CASE WHEN r.amount IS NOT NULL THEN r.currency || ' ' || r.amount::text END, s.name)"}
}
