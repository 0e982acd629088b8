-- Sigil schema (SQLite). Times are unix seconds; ids are UUID text; lists are JSON text.
CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    max_token_lifetime BIGINT,
    created_at BIGINT NOT NULL
);

-- Users (kind 'user', name = email) and bots (kind 'bot', name = username).
CREATE TABLE principals (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    permissions TEXT NOT NULL,
    identities TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, kind, name)
);

CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- Private keys are encrypted with the master key (XChaCha20-Poly1305, the kid as AAD).
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    private_key_enc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Insertion order: the newest key signs (created_at alone ties within a second).
    seq BIGINT NOT NULL DEFAULT 0,
    -- The latest `exp` of any token this key signed: the key stays in the JWKS until then.
    max_token_exp BIGINT NOT NULL DEFAULT 0
);

-- Token metadata only: the JWT is never stored.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    owner_id TEXT NOT NULL,
    owner_kind TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    app_id TEXT,
    label TEXT,
    claims TEXT NOT NULL,
    kid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT,
    revoked_by TEXT,
    revoke_reason TEXT
);
CREATE INDEX tokens_org_id ON tokens (org_id, id);
CREATE INDEX tokens_owner ON tokens (owner_id);

CREATE TABLE revocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL,
    revoked_at BIGINT NOT NULL
);

CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    details TEXT NOT NULL,
    client_ip TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_org ON audit (org_id, id);

-- Issue responses kept 24h for Idempotency-Key replays, per calling token;
-- the JWT in them is encrypted with the master key.
CREATE TABLE idempotency (
    caller_token_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_enc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (caller_token_id, idem_key)
);
