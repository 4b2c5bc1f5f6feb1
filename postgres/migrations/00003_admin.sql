-- +goose Up
-- One-time links for users: an invitation (the user sets a first password)
-- or a password reset issued by an administrator. Only the SHA-256 hash of
-- the token is stored; a token is used at most once and expires.
CREATE TABLE user_tokens (
    tenant_id  uuid NOT NULL,
    token_hash bytea NOT NULL,
    user_id    uuid NOT NULL,
    purpose    text NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_tokens_user_idx ON user_tokens (tenant_id, user_id);

-- A tenant administrator's profile: overrides of the name, locale and
-- currency that tenants.json (the operator's file) sets, and the logo.
-- NULL means "as in tenants.json".
CREATE TABLE tenant_profiles (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    name       text,
    locale     text,
    currency   text,
    logo       bytea,
    logo_type  text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id),
    CHECK (logo IS NULL OR logo_type IN ('image/png', 'image/jpeg')),
    CHECK (octet_length(logo) <= 524288)
);

ALTER TABLE user_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_tokens
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

ALTER TABLE tenant_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_profiles
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- +goose Down
DROP TABLE tenant_profiles, user_tokens;
