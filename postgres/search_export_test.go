package postgres

import "github.com/rpcrm/rpcrm/auth"

// SearchSQL returns the query Search sends for one record type, so that the
// tests can check its plan.
func SearchSQL(p *auth.Principal, typ, text string, limit int) (string, []any) {
	for _, spec := range searchSpecs {
		if spec.typ == typ {
			q := &query{}
			searchSQL(q, p, spec.perm, spec.from(q, p), text, limit)
			return q.String(), q.args
		}
	}
	panic("no search for " + typ)
}

// SearchSettings are the statement and argument that tune the planner for
// the search.
const SearchSettings, WordSimilarityThreshold = searchSettings, wordSimilarityThreshold

// TrigramPrefilter is the SQL of the prefilter of <%, over a term t.
const TrigramPrefilter = trigramPrefilter
