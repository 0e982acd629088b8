-- Verification from memory with immediate revocation (see docs/verification.md).
--
-- `change_head.seq` counts every committed change to what a replica keeps in its
-- in-memory view (token revoked / expiry or claims changed, principal renamed,
-- re-permissioned or deleted, org or app renamed or deleted, signing key added
-- or deleted). Triggers bump it in the changing transaction; the row lock makes
-- changing transactions commit in `seq` order, so "head = N, committed" means
-- every change <= N is committed. `keys_seq` counts signing-key changes only.
CREATE TABLE change_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    keys_seq BIGINT NOT NULL
);
INSERT INTO change_head (id, seq, keys_seq) VALUES (1, 0, 0);

-- One row per running replica: it serves from memory only while its lease is
-- live; `applied` is the change it has applied (its acknowledgement);
-- `renewed_at` is the database clock (ms) at the last renewal.
CREATE TABLE leases (
    replica TEXT PRIMARY KEY,
    applied BIGINT NOT NULL,
    renewed_at BIGINT NOT NULL
);

CREATE FUNCTION sigil_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_head SET seq = seq + 1 WHERE id = 1;
    PERFORM pg_notify('sigil_changes', '');
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION sigil_keys_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_head SET seq = seq + 1, keys_seq = keys_seq + 1 WHERE id = 1;
    PERFORM pg_notify('sigil_changes', '');
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER tokens_changed AFTER UPDATE OF revoked_at, expires_at, claims, owner_id, org_id, app_id, kid
    ON tokens FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.claims IS DISTINCT FROM NEW.claims OR OLD.owner_id IS DISTINCT FROM NEW.owner_id
          OR OLD.org_id IS DISTINCT FROM NEW.org_id OR OLD.app_id IS DISTINCT FROM NEW.app_id
          OR OLD.kid IS DISTINCT FROM NEW.kid)
    EXECUTE FUNCTION sigil_changed();
CREATE TRIGGER tokens_deleted AFTER DELETE ON tokens FOR EACH STATEMENT EXECUTE FUNCTION sigil_changed();

CREATE TRIGGER principals_changed AFTER UPDATE OF name, permissions, kind, org_id
    ON principals FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.permissions IS DISTINCT FROM NEW.permissions
          OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION sigil_changed();
CREATE TRIGGER principals_deleted AFTER DELETE ON principals FOR EACH STATEMENT EXECUTE FUNCTION sigil_changed();

CREATE TRIGGER orgs_changed AFTER UPDATE OF name ON orgs FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION sigil_changed();
CREATE TRIGGER orgs_deleted AFTER DELETE ON orgs FOR EACH STATEMENT EXECUTE FUNCTION sigil_changed();

CREATE TRIGGER apps_changed AFTER UPDATE OF name ON apps FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION sigil_changed();
CREATE TRIGGER apps_deleted AFTER DELETE ON apps FOR EACH STATEMENT EXECUTE FUNCTION sigil_changed();

CREATE TRIGGER signing_keys_changed AFTER INSERT OR DELETE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION sigil_keys_changed();
