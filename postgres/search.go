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

// searchSettings set, for the search's transaction, the threshold of <%;
// generic plans, so that the search's prepared statements are planned once
// per connection instead of for every term (several milliseconds each); and
// no JIT compilation, which the planner's cost estimate of the tiers that
// seldom run would otherwise trigger, at 100 ms and more per query.
const searchSettings = `SELECT set_config('pg_trgm.word_similarity_threshold', $1, true),
	set_config('plan_cache_mode', 'force_generic_plan', true), set_config('jit', 'off', true)`

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

// candidateCap bounds how many word-start matches are scored (by word
// similarity) to rank them: the most recently changed ones. A term that
// starts words of more records than that ("Mü") ranks the newest of them.
const candidateCap = 1000

// recentPerHit is how many of the most recently changed records per hit
// asked for the search reads in updated_at order to find whole words: if
// they hold a page of hits, those are the newest of all. A word in more than
// 1 % of a tenant's records (a common surname) is found so, in about
// limit / frequency rows whatever the tenant's size; a rarer one is then
// read from the GIN index of the words.
const recentPerHit = 100

// searchSQL builds the query of one type's hits: id, title, subtitle, score.
//
// The score (crm.SearchHit.Score) says how the folded query term t meets the
// record's search text: 4 for the whole folded title (the exact name), 3 for
// a whole word or words, 1 + word similarity for the start of a word, and
// the word similarity alone for a match inside a word or a typo. Hits with
// the same score come most recently changed first.
//
// The query finds the hits tier by tier, each through an index, and a tier
// runs only if the ones before it found fewer hits than the limit:
//
//  1. exact names (search_title = t, a B-tree) and whole words
//     (search_words @@ the term's words as a phrase), each the newest limit
//     of them. For a common word the planner, which knows each word's
//     frequency from the column's statistics, walks the tenant's records by
//     updated_at (tenant_id, updated_at, id) until it has limit of them, so
//     "Müller" costs about the same at 100 000 and at 1 000 000 contacts;
//     for a rare word it reads the GIN index of the words.
//  2. word starts (the last word a prefix): the newest candidateCap of them
//     are scored, the best limit kept.
//  3. substrings and typos (LIKE and pg_trgm's <% through the trigram
//     index), all of them scored.
//
// Which path each tier takes does not depend on the term, so a prepared
// search is planned once per connection (a generic plan, searchSettings).
func searchSQL(q *query, p *auth.Principal, perm auth.Permission, f searchFrom, text string, limit int) {
	tenant := q.arg(p.TenantID)
	// The term and what is derived from it, computed once (InitPlans), not
	// per row. A phone number matches by its digits only, never by trigrams.
	var termSQL, fuzzy string
	if digits, ok := phoneQuery(text); ok {
		termSQL = q.arg(digits) + "::text"
	} else {
		termSQL = "search_norm(" + q.arg(text) + "::text)"
		// The prefilter spares most rows the costly <%; it is a clause of
		// its own, so that the one before it can be an index condition
		// (under row-level security only leakproof clauses can).
		fuzzy = " OR (SELECT t FROM term) <% r.search) AND (r.search ~ (SELECT tri FROM term)"
	}
	base := " FROM " + f.table + " WHERE r.tenant_id = " + tenant + " AND r.deleted_at IS NULL"
	if s, _ := p.Grants.Allows(perm); s == auth.ScopeOwn {
		base += " AND r.owner_id = " + q.arg(p.UserID)
	}
	const (
		t      = "(SELECT t FROM term)"
		whole  = "(SELECT whole FROM term)"
		prefix = "(SELECT prefix FROM term)"
		pat    = "(SELECT pat FROM term)"
		newest = " ORDER BY r.updated_at DESC, r.id DESC"
	)
	lim := fmt.Sprintf(" LIMIT %d", limit)
	// The hits are ranked on the searched table alone; the subtitle's joins
	// (a contact's company, a deal's stage) are made for the hits only, not
	// for every match of a common name.
	q.add(`WITH term AS MATERIALIZED (
			SELECT t, search_query(t, false) AS whole, search_query(t, true) AS prefix,
				'%' || ` + likeEscape("t") + ` || '%' AS pat, coalesce((` + trigramPrefilter + `), '') AS tri
			FROM (SELECT ` + termSQL + ` AS t) x),
		exact AS MATERIALIZED (
			SELECT r.id, r.updated_at` + base + ` AND r.search_title = ` + t + newest + lim + `),
		recent AS MATERIALIZED (
			SELECT n.id, n.updated_at FROM (
				SELECT r.id, r.updated_at, r.search_words` + base + newest + fmt.Sprintf(" LIMIT %d", limit*recentPerHit) + `) n
			WHERE n.search_words @@ ` + whole + ` ORDER BY n.updated_at DESC, n.id DESC` + lim + `),
		whole AS MATERIALIZED (
			SELECT * FROM recent WHERE (SELECT count(*) FROM recent) = ` + fmt.Sprint(limit) + `
			UNION ALL
			SELECT * FROM (
				SELECT r.id, r.updated_at` + base + ` AND (SELECT count(*) FROM recent) < ` + fmt.Sprint(limit) + `
				AND r.search_words @@ ` + whole + ` OFFSET 0) m
			ORDER BY updated_at DESC, id DESC` + lim + `),
		words AS MATERIALIZED (
			SELECT id, 4 AS score, updated_at FROM exact
			UNION ALL
			SELECT id, 3, updated_at FROM whole WHERE id NOT IN (SELECT id FROM exact)),
		starts AS MATERIALIZED (
			SELECT c.id, 1 + word_similarity(` + t + `, c.search) AS score, c.updated_at FROM (
				SELECT * FROM (
					SELECT r.id, r.search, r.updated_at` + base + `
					AND (SELECT count(*) FROM words) < ` + fmt.Sprint(limit) + `
					AND r.search_words @@ ` + prefix + ` AND NOT r.search_words @@ ` + whole + ` OFFSET 0) m
				ORDER BY updated_at DESC, id DESC` + fmt.Sprintf(" LIMIT %d", candidateCap) + `) c
			ORDER BY score DESC, c.updated_at DESC, c.id DESC` + lim + `),
		hits AS (
			SELECT * FROM words
			UNION ALL
			SELECT * FROM starts
			UNION ALL
			SELECT r.id, word_similarity(` + t + `, r.search), r.updated_at` + base + `
			AND (SELECT count(*) FROM words) + (SELECT count(*) FROM starts) < ` + fmt.Sprint(limit) + `
			AND (r.search LIKE ` + pat + fuzzy + `) AND NOT r.search_words @@ ` + prefix + `
			ORDER BY score DESC, updated_at DESC, id DESC` + lim + `)
		SELECT r.id, ` + f.title + `, ` + f.subtitle + `, round(h.score::numeric, 4)::float8
		FROM hits h JOIN ` + f.table + ` ON r.tenant_id = ` + tenant + ` AND r.id = h.id` + f.joins + `
		ORDER BY h.score DESC, h.updated_at DESC, h.id DESC` + lim)
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
