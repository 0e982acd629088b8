-- SPEC §6, token power (#11): derived tokens, address binding, usage limits.
-- parent_id: the token this one was derived from (NULL: issued directly);
-- depth: derivations above it (0..8). allowed_cidrs: a JSON array of
-- canonical networks (NULL: any address). max_uses: NULL = unlimited; uses
-- counts successful authentications, exactly (one conditional UPDATE per use)
-- when max_uses is set, batched with last use otherwise. None of these columns
-- is in the tokens_changed trigger: a use changes nothing a replica caches.
ALTER TABLE tokens ADD COLUMN parent_id TEXT;
ALTER TABLE tokens ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN allowed_cidrs TEXT;
ALTER TABLE tokens ADD COLUMN max_uses BIGINT;
ALTER TABLE tokens ADD COLUMN uses BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tokens_parent ON tokens (parent_id);
CREATE INDEX tokens_org_expiry ON tokens (org_id, expires_at);
