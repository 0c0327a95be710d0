-- The event log on SQLite: every change Vigie knows, in one total order.

-- One row that remembers the last position handed out and the last record
-- time, so positions never repeat even after a purge removes the newest events,
-- and record times never go backwards even if the clock does.
CREATE TABLE log_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    position    INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL -- microseconds since the Unix epoch
);
INSERT INTO log_head (id, position, recorded_at) VALUES (1, 0, 0);

-- A stream's current version, and how long its events may be kept (NULL: forever).
CREATE TABLE streams (
    stream_id       TEXT PRIMARY KEY,
    version         INTEGER NOT NULL,
    max_age_seconds INTEGER
) WITHOUT ROWID;

CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    event_id        BLOB NOT NULL UNIQUE,
    stream_id       TEXT NOT NULL,
    category        TEXT NOT NULL,
    stream_version  INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    data            TEXT NOT NULL,
    actor_id        BLOB,
    actor_name      TEXT,
    correlation_id  BLOB,
    causation_id    BLOB,
    idempotency_key TEXT,
    recorded_at     INTEGER NOT NULL, -- microseconds since the Unix epoch
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_by_category ON events (category, position);
