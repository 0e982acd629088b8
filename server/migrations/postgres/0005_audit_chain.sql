-- SPEC §6, tamper-evident audit log (#12): each entry's place in its org's
-- chain (seq from 1, no gaps) and hash (see server/src/domain/audit_chain.rs).
-- audit_heads holds each org's last seq and hash; writers lock its row
-- (an UPDATE) before chaining, so concurrent writers on several replicas take
-- turns and never fork a chain. Entries written before this migration are
-- chained at start-up (store::audit::chain_unchained).
ALTER TABLE audit ADD COLUMN seq BIGINT;
ALTER TABLE audit ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_org_seq ON audit (org_id, seq);
CREATE TABLE audit_heads (
    org_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
