-- Verification from memory with immediate revocation (see docs/verification.md).
--
-- `change_head.seq` counts every committed change to what a replica keeps in its
-- in-memory view (token revoked / expiry or claims changed, principal renamed,
-- re-permissioned or deleted, org or app renamed or deleted, signing key added
-- or deleted); triggers bump it in the changing transaction. `keys_seq` counts
-- signing-key changes only. SQLite has one writer, so seq order is commit order.
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

CREATE TRIGGER tokens_changed AFTER UPDATE OF revoked_at, expires_at, claims, owner_id, org_id, app_id, kid ON tokens
    FOR EACH ROW
    WHEN OLD.revoked_at IS NOT NEW.revoked_at OR OLD.expires_at IS NOT NEW.expires_at
      OR OLD.claims IS NOT NEW.claims OR OLD.owner_id IS NOT NEW.owner_id
      OR OLD.org_id IS NOT NEW.org_id OR OLD.app_id IS NOT NEW.app_id OR OLD.kid IS NOT NEW.kid
BEGIN
    UPDATE change_head SET seq = seq + 1 WHERE id = 1;
END;
CREATE TRIGGER tokens_deleted AFTER DELETE ON tokens
BEGIN
    UPDATE change_head SET seq = seq + 1 WHERE id = 1;
END;

CREATE TRIGGER principals_changed AFTER UPDATE OF name, permissions, kind, org_id ON principals
    FOR EACH ROW
    WHEN OLD.name IS NOT NEW.name OR OLD.permissions IS NOT NEW.permissions
      OR OLD.kind IS NOT NEW.kind OR OLD.org_id IS NOT NEW.org_id
BEGIN
    UPDATE change_head SET seq = seq + 1 WHERE id = 1;
END;
CREATE TRIGGER principals_deleted AFTER DELETE ON principals
BEGIN
    UPDATE change_head SET seq = seq + 1 WHERE id = 1;
END;

CREATE TRIGGER orgs_changed AFTER UPDATE OF name ON orgs FOR EACH ROW WHEN OLD.name IS NOT NEW.name
BEGIN
    UPDATE change_head SET seq = seq + 1 WHERE id = 1;
END;
CREATE TRIGGER orgs_deleted AFTER DELETE ON orgs
BEGIN
    UPDATE change_head SET seq = seq + 1 WHERE id = 1;
END;

CREATE TRIGGER apps_changed AFTER UPDATE OF name ON apps FOR EACH ROW WHEN OLD.name IS NOT NEW.name
BEGIN
    UPDATE change_head SET seq = seq + 1 WHERE id = 1;
END;
CREATE TRIGGER apps_deleted AFTER DELETE ON apps
BEGIN
    UPDATE change_head SET seq = seq + 1 WHERE id = 1;
END;

CREATE TRIGGER signing_keys_added AFTER INSERT ON signing_keys
BEGIN
    UPDATE change_head SET seq = seq + 1, keys_seq = keys_seq + 1 WHERE id = 1;
END;
CREATE TRIGGER signing_keys_deleted AFTER DELETE ON signing_keys
BEGIN
    UPDATE change_head SET seq = seq + 1, keys_seq = keys_seq + 1 WHERE id = 1;
END;
