-- +goose Up
-- CRM records. Every table is tenant-owned: tenant_id leads the primary key,
-- every foreign key carries it, and row-level security is forced.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- search_norm folds text for German-aware search: case, accents (Zürich →
-- zurich) and the German transliterations (Mueller → muller, Strasse →
-- strase, ß → ss → s). Stored text and queries pass through the same
-- function, so they meet in the middle.
-- +goose StatementBegin
CREATE FUNCTION search_norm(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$
    SELECT regexp_replace(
             replace(replace(replace(replace(
               lower(public.unaccent('public.unaccent'::regdictionary, t)),
               'ae', 'a'), 'oe', 'o'), 'ue', 'u'), 'ss', 's'),
             '\s+', ' ', 'g')
    $$;
-- +goose StatementEnd

-- phone_digits keeps the digits of phone numbers in both international and
-- national form (+41 44 123 45 67 → "41441234567 0441234567"), so that a
-- number is found however it is typed.
-- +goose StatementBegin
CREATE FUNCTION phone_digits(phones text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$
    SELECT coalesce(string_agg(
             d || CASE WHEN d LIKE '41%' THEN ' 0' || substr(d, 3) ELSE '' END, ' '), '')
    FROM (SELECT regexp_replace(p, '\D', '', 'g') AS d FROM unnest(phones) AS p) x
    $$;
-- +goose StatementEnd

-- join_words joins an array with spaces (array_to_string is only STABLE).
-- +goose StatementBegin
CREATE FUNCTION join_words(words text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT coalesce(string_agg(w, ' '), '') FROM unnest(words) AS w $$;
-- +goose StatementEnd

CREATE TABLE tags (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    name       text NOT NULL,
    color      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX tags_name_key ON tags (tenant_id, lower(name));

CREATE TABLE custom_fields (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    entity     text NOT NULL CHECK (entity IN ('company', 'contact', 'deal')),
    key        text NOT NULL,
    label      text NOT NULL,
    type       text NOT NULL CHECK (type IN ('text', 'number', 'date', 'bool', 'choice', 'multi')),
    required   boolean NOT NULL DEFAULT false,
    options    text[] NOT NULL DEFAULT '{}',
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, entity, key)
);

CREATE TABLE companies (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    name        text NOT NULL,
    uid         text, -- Swiss UID, normalised CHE-123.456.789
    website     text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '', -- E.164
    street      text NOT NULL DEFAULT '',
    postal_code text NOT NULL DEFAULT '',
    city        text NOT NULL DEFAULT '',
    canton      text NOT NULL DEFAULT '',
    country     text NOT NULL DEFAULT 'CH',
    industry    text NOT NULL DEFAULT '',
    tags        text[] NOT NULL DEFAULT '{}',
    owner_id    uuid,
    custom      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    deleted_at  timestamptz,
    version     integer NOT NULL DEFAULT 1,
    search      text GENERATED ALWAYS AS (
                  search_norm(name || ' ' || coalesce(uid, '') || ' ' || email || ' ' || website || ' ' || city || ' ' || industry)
                  || ' ' || phone_digits(ARRAY[phone])) STORED,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX companies_uid_key ON companies (tenant_id, uid) WHERE uid IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX companies_name_idx ON companies (tenant_id, lower(name), id) WHERE deleted_at IS NULL;
CREATE INDEX companies_updated_idx ON companies (tenant_id, updated_at, id);
CREATE INDEX companies_owner_idx ON companies (tenant_id, owner_id) WHERE deleted_at IS NULL;
CREATE INDEX companies_tags_idx ON companies USING gin (tags);
CREATE INDEX companies_search_idx ON companies USING gin (search gin_trgm_ops);

CREATE TABLE contacts (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    salutation       text NOT NULL DEFAULT '',
    first_name       text NOT NULL DEFAULT '',
    last_name        text NOT NULL DEFAULT '',
    emails           text[] NOT NULL DEFAULT '{}', -- lower-case; the first is the primary address
    phones           text[] NOT NULL DEFAULT '{}', -- E.164
    job_title        text NOT NULL DEFAULT '',
    company_id       uuid,
    street           text NOT NULL DEFAULT '',
    postal_code      text NOT NULL DEFAULT '',
    city             text NOT NULL DEFAULT '',
    canton           text NOT NULL DEFAULT '',
    country          text NOT NULL DEFAULT 'CH',
    language         text NOT NULL DEFAULT 'de' CHECK (language IN ('de', 'fr', 'it', 'en')),
    birthday         date,
    tags             text[] NOT NULL DEFAULT '{}',
    owner_id         uuid,
    marketing_consent boolean NOT NULL DEFAULT false,
    consent_at       timestamptz,
    consent_source   text NOT NULL DEFAULT '',
    custom           jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    updated_by       uuid,
    deleted_at       timestamptz,
    version          integer NOT NULL DEFAULT 1,
    search           text GENERATED ALWAYS AS (
                       search_norm(first_name || ' ' || last_name || ' ' || join_words(emails) || ' ' || job_title || ' ' || city)
                       || ' ' || phone_digits(phones)) STORED,
    PRIMARY KEY (tenant_id, id),
    CHECK (first_name <> '' OR last_name <> ''),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX contacts_name_idx ON contacts (tenant_id, lower(last_name), lower(first_name), id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_updated_idx ON contacts (tenant_id, updated_at, id);
CREATE INDEX contacts_company_idx ON contacts (tenant_id, company_id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_owner_idx ON contacts (tenant_id, owner_id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_emails_idx ON contacts USING gin (emails);
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
CREATE INDEX contacts_search_idx ON contacts USING gin (search gin_trgm_ops);

CREATE TABLE pipelines (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    name       text NOT NULL,
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX pipelines_name_key ON pipelines (tenant_id, lower(name));

CREATE TABLE stages (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    pipeline_id uuid NOT NULL,
    name        text NOT NULL,
    position    integer NOT NULL,
    kind        text NOT NULL DEFAULT 'open' CHECK (kind IN ('open', 'won', 'lost')),
    probability integer NOT NULL DEFAULT 0 CHECK (probability BETWEEN 0 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, pipeline_id, id),
    FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipelines (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX stages_pipeline_idx ON stages (tenant_id, pipeline_id, position);

CREATE TABLE deals (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL,
    title          text NOT NULL,
    amount         numeric(14, 2),
    currency       text NOT NULL DEFAULT 'CHF' CHECK (currency ~ '^[A-Z]{3}$'),
    pipeline_id    uuid NOT NULL,
    stage_id       uuid NOT NULL,
    company_id     uuid,
    contact_id     uuid,
    owner_id       uuid,
    expected_close date,
    probability    integer CHECK (probability BETWEEN 0 AND 100),
    won_at         timestamptz,
    lost_at        timestamptz,
    lost_reason    text NOT NULL DEFAULT '',
    stage_changed_at timestamptz NOT NULL DEFAULT now(),
    tags           text[] NOT NULL DEFAULT '{}',
    custom         jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    created_by     uuid,
    updated_by     uuid,
    deleted_at     timestamptz,
    version        integer NOT NULL DEFAULT 1,
    search         text GENERATED ALWAYS AS (search_norm(title)) STORED,
    PRIMARY KEY (tenant_id, id),
    -- The stage must belong to the deal's pipeline.
    FOREIGN KEY (tenant_id, pipeline_id, stage_id) REFERENCES stages (tenant_id, pipeline_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX deals_stage_idx ON deals (tenant_id, pipeline_id, stage_id) WHERE deleted_at IS NULL;
CREATE INDEX deals_updated_idx ON deals (tenant_id, updated_at, id);
CREATE INDEX deals_company_idx ON deals (tenant_id, company_id) WHERE deleted_at IS NULL;
CREATE INDEX deals_contact_idx ON deals (tenant_id, contact_id) WHERE deleted_at IS NULL;
CREATE INDEX deals_owner_idx ON deals (tenant_id, owner_id) WHERE deleted_at IS NULL;
CREATE INDEX deals_close_idx ON deals (tenant_id, expected_close, id) WHERE deleted_at IS NULL;
CREATE INDEX deals_tags_idx ON deals USING gin (tags);
CREATE INDEX deals_search_idx ON deals USING gin (search gin_trgm_ops);

CREATE TABLE activities (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('note', 'call', 'meeting', 'task', 'email')),
    subject     text NOT NULL,
    body        text NOT NULL DEFAULT '',
    body_format text NOT NULL DEFAULT 'text' CHECK (body_format IN ('text', 'markdown')),
    due_at      timestamptz,
    done_at     timestamptz,
    assignee_id uuid,
    company_id  uuid,
    contact_id  uuid,
    deal_id     uuid,
    owner_id    uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    deleted_at  timestamptz,
    version     integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id)
);
-- "My open tasks, overdue first": open tasks per assignee by due date.
CREATE INDEX activities_open_tasks_idx ON activities (tenant_id, assignee_id, due_at, id)
    WHERE done_at IS NULL AND deleted_at IS NULL;
CREATE INDEX activities_company_idx ON activities (tenant_id, company_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX activities_contact_idx ON activities (tenant_id, contact_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX activities_deal_idx ON activities (tenant_id, deal_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX activities_updated_idx ON activities (tenant_id, updated_at, id);

CREATE TABLE documents (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    file_name    text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL CHECK (size >= 0),
    sha256       text NOT NULL,
    company_id   uuid,
    contact_id   uuid,
    deal_id      uuid,
    owner_id     uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    created_by   uuid,
    updated_by   uuid,
    deleted_at   timestamptz,
    version      integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    CHECK (company_id IS NOT NULL OR contact_id IS NOT NULL OR deal_id IS NOT NULL),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id)
);
CREATE INDEX documents_company_idx ON documents (tenant_id, company_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX documents_contact_idx ON documents (tenant_id, contact_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX documents_deal_idx ON documents (tenant_id, deal_id, created_at) WHERE deleted_at IS NULL;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tags', 'custom_fields', 'companies', 'contacts', 'pipelines', 'stages', 'deals', 'activities', 'documents'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE documents, activities, deals, stages, pipelines, contacts, companies, custom_fields, tags;
DROP FUNCTION phone_digits(text[]);
DROP FUNCTION join_words(text[]);
DROP FUNCTION search_norm(text);
