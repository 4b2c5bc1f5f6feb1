-- +goose Up
-- Search that scales with the page, not with the matches (issue 3, "Search").
--
-- Every searched table gets two more generated columns:
--   search_title  the folded title (a company's name, a contact's "First Last",
--                 a deal's title), for exact-name hits through a B-tree;
--   search_words  the words of the folded search text as a tsvector, for
--                 whole-word and word-start hits through a GIN index. A word is
--                 a run of letters and digits; everything else separates words.
-- PostgreSQL keeps statistics of the words (most common elements), so the
-- planner knows that "muller" is in 1.6 % of the contacts and reads the
-- newest contacts through (tenant_id, updated_at, id) until it has a page of
-- them, instead of collecting and sorting every Müller; for a rare word it
-- uses the GIN index. The trigram indexes get the tenant in front (btree_gin),
-- so a substring or typo search reads only its tenant's candidates.

CREATE EXTENSION IF NOT EXISTS btree_gin;

-- search_words splits a folded search text into its words (letters and
-- digits), with their positions for phrases.
-- +goose StatementBegin
CREATE FUNCTION search_words(t text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT to_tsvector('pg_catalog.simple', regexp_replace(t, '[^[:alnum:]]+', ' ', 'g')) $$;
-- +goose StatementEnd

-- search_query is the query of a folded search term's words as a phrase
-- (adjacent words in this order); with prefix, the last word may be the start
-- of a longer one. A term without letters or digits is the empty query, which
-- matches nothing.
-- +goose StatementBegin
CREATE FUNCTION search_query(t text, prefix boolean) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$
    SELECT CASE WHEN prefix AND numnode(q) > 0 THEN (q::text || ':*')::tsquery ELSE q END
    FROM (SELECT phraseto_tsquery('pg_catalog.simple', regexp_replace(t, '[^[:alnum:]]+', ' ', 'g')) AS q) x
    $$;
-- +goose StatementEnd

ALTER TABLE companies
    ADD COLUMN search_title text GENERATED ALWAYS AS (search_norm(name)) STORED,
    ADD COLUMN search_words tsvector GENERATED ALWAYS AS (search_words(
        search_norm(name || ' ' || coalesce(uid, '') || ' ' || email || ' ' || website || ' ' || city || ' ' || industry)
        || ' ' || phone_digits(ARRAY[phone]))) STORED;
ALTER TABLE contacts
    ADD COLUMN search_title text GENERATED ALWAYS AS (search_norm(btrim(first_name || ' ' || last_name))) STORED,
    ADD COLUMN search_words tsvector GENERATED ALWAYS AS (search_words(
        search_norm(first_name || ' ' || last_name || ' ' || join_words(emails) || ' ' || job_title || ' ' || city)
        || ' ' || phone_digits(phones))) STORED;
ALTER TABLE deals
    ADD COLUMN search_title text GENERATED ALWAYS AS (search_norm(title)) STORED,
    ADD COLUMN search_words tsvector GENERATED ALWAYS AS (search_words(search_norm(title))) STORED;

DROP INDEX companies_search_idx;
DROP INDEX contacts_search_idx;
DROP INDEX deals_search_idx;
-- Substring and typo matches, also of deleted records (the trash's lists).
CREATE INDEX companies_search_idx ON companies USING gin (tenant_id, search gin_trgm_ops);
CREATE INDEX contacts_search_idx ON contacts USING gin (tenant_id, search gin_trgm_ops);
CREATE INDEX deals_search_idx ON deals USING gin (tenant_id, search gin_trgm_ops);
-- Whole words and word starts.
CREATE INDEX companies_words_idx ON companies USING gin (tenant_id, search_words) WHERE deleted_at IS NULL;
CREATE INDEX contacts_words_idx ON contacts USING gin (tenant_id, search_words) WHERE deleted_at IS NULL;
CREATE INDEX deals_words_idx ON deals USING gin (tenant_id, search_words) WHERE deleted_at IS NULL;
-- Exact names.
CREATE INDEX companies_title_idx ON companies (tenant_id, search_title) WHERE deleted_at IS NULL;
CREATE INDEX contacts_title_idx ON contacts (tenant_id, search_title) WHERE deleted_at IS NULL;
CREATE INDEX deals_title_idx ON deals (tenant_id, search_title) WHERE deleted_at IS NULL;

-- The planner's word statistics, before the first search.
ANALYZE companies, contacts, deals;

-- +goose Down
DROP INDEX companies_title_idx, contacts_title_idx, deals_title_idx;
DROP INDEX companies_words_idx, contacts_words_idx, deals_words_idx;
DROP INDEX companies_search_idx, contacts_search_idx, deals_search_idx;
ALTER TABLE companies DROP COLUMN search_title, DROP COLUMN search_words;
ALTER TABLE contacts DROP COLUMN search_title, DROP COLUMN search_words;
ALTER TABLE deals DROP COLUMN search_title, DROP COLUMN search_words;
CREATE INDEX companies_search_idx ON companies USING gin (search gin_trgm_ops);
CREATE INDEX contacts_search_idx ON contacts USING gin (search gin_trgm_ops);
CREATE INDEX deals_search_idx ON deals USING gin (search gin_trgm_ops);
DROP FUNCTION search_query(text, boolean);
DROP FUNCTION search_words(text);
DROP EXTENSION IF EXISTS btree_gin;
