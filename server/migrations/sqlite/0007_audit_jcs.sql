-- #21: the audit chain's canonical form becomes RFC 8785 (JCS), chain
-- version 2 (server/src/domain/audit_chain.rs). Entries hashed before keep
-- verifying under version 1, the form they were hashed in.
ALTER TABLE audit ADD COLUMN chain_version BIGINT NOT NULL DEFAULT 1;
