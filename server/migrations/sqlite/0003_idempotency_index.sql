-- The janitor deletes idempotency answers by age (`created_at < $1`) hourly;
-- without an index that is a scan of every stored key.
CREATE INDEX idempotency_created_at ON idempotency (created_at);
