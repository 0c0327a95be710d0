-- Calendar feeds: secret URLs that calendar apps subscribe to, one per subscription.
-- The token in the URL is the credential, so it is stored only as its SHA-256:
-- a copy of this table opens no feed. A revoked feed keeps its row, for the record.

CREATE TABLE calendar_feeds (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    schedule_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,   -- who created it: the feed shows only what they may see
    created_at  BIGINT NOT NULL, -- microseconds since the Unix epoch
    revoked_at  BIGINT
);
CREATE INDEX calendar_feeds_by_schedule ON calendar_feeds (schedule_id);
