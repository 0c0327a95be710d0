-- An Idempotency-Key now answers a repeat of the same request only: the
-- first request's method, path and body are kept as a SHA-256 fingerprint,
-- and a different request under the same key is refused. The key is claimed
-- before the change runs (status 0 until it answers), so two requests racing
-- with one key cannot both run. Rows from before have no fingerprint and
-- still answer their repeats.
ALTER TABLE idempotency_keys ADD COLUMN fingerprint TEXT;
ALTER TABLE idempotency_keys ADD COLUMN content_type TEXT;
