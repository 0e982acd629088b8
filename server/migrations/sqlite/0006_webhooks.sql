-- SPEC §6, events and expiry warnings (#12).
-- orgs.expiry_warning: seconds before expiry at which `token.expiring` fires.
-- webhooks.secret_enc: the HMAC secret sealed with the master key
-- (XChaCha20-Poly1305, `webhook:<id>` as AAD), like signing keys.
-- events: the outbox, written in the transaction of the change it tells of;
-- deliveries: one row per (event, webhook), claimed by one replica at a time
-- (claimed_by/claimed_until; a dead replica's claim lapses); delivery_attempts:
-- the log of every attempt. tokens.expiring_notified_at/expired_notified_at:
-- set by the one replica whose conditional UPDATE wins, in the transaction
-- that writes the warning. None of these columns is in a *_changed trigger:
-- nothing a replica keeps in memory changes with them.
ALTER TABLE orgs ADD COLUMN expiry_warning BIGINT NOT NULL DEFAULT 1209600;

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    secret_enc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id, id);

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_until BIGINT
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id);

CREATE TABLE delivery_attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    result TEXT NOT NULL,
    status_code BIGINT,
    error TEXT,
    duration_ms BIGINT NOT NULL,
    attempted_at BIGINT NOT NULL,
    next_attempt_at BIGINT,
    UNIQUE (delivery_id, attempt)
);
CREATE INDEX delivery_attempts_webhook ON delivery_attempts (webhook_id, id);

ALTER TABLE tokens ADD COLUMN expiring_notified_at BIGINT;
ALTER TABLE tokens ADD COLUMN expired_notified_at BIGINT;
-- Tokens already expired when this runs are not announced late.
UPDATE tokens SET expired_notified_at = expires_at, expiring_notified_at = expires_at
    WHERE expires_at <= CAST(strftime('%s', 'now') AS INTEGER);
CREATE INDEX tokens_expiry_notice ON tokens (expires_at) WHERE expired_notified_at IS NULL;
