-- +goose Up
-- The start page's deal figures read only what they show (docs/dashboard.md):
-- the open deals' value by stage and the deals won or lost in this quarter,
-- each from an index that holds every column the query needs (index-only
-- scans), instead of one pass over all of a tenant's deals, most of which
-- are closed deals of earlier years in a tenant that has used the CRM for long.
--
-- won_at (lost_at) is set exactly while a deal is in a won (lost) stage, so
-- an open deal has neither. The closed deals have an index per column, not
-- one on coalesce(won_at, lost_at): under row-level security only leakproof
-- conditions can be index conditions, and coalesce is not one.
CREATE INDEX deals_open_value_idx ON deals (tenant_id, stage_id, currency) INCLUDE (amount, owner_id)
	WHERE deleted_at IS NULL AND won_at IS NULL AND lost_at IS NULL;
CREATE INDEX deals_won_idx ON deals (tenant_id, won_at) INCLUDE (stage_id, currency, amount, owner_id)
	WHERE deleted_at IS NULL AND won_at IS NOT NULL;
CREATE INDEX deals_lost_idx ON deals (tenant_id, lost_at) INCLUDE (stage_id, currency, amount, owner_id)
	WHERE deleted_at IS NULL AND lost_at IS NOT NULL;

-- +goose Down
DROP INDEX deals_open_value_idx, deals_won_idx, deals_lost_idx;
