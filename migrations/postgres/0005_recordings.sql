-- Call recordings (audio), kept beside the log: the log records that a
-- recording was attached (RecordingAttached), these rows hold its bytes.
-- They hold callers' voices, so they are purged with the call's retention.
CREATE TABLE recordings (
    recording_id TEXT PRIMARY KEY,
    call_id      TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    audio        BYTEA NOT NULL,
    created_at   BIGINT NOT NULL -- microseconds since the Unix epoch
);
CREATE INDEX recordings_by_age ON recordings (created_at);
