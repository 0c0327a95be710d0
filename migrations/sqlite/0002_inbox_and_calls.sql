-- SQL read models: their checkpoints and generations, the inbox and the call log.

-- Per projection, the generation reads use, and the one a rebuild is writing (NULL: none).
CREATE TABLE projection_generations (
    name                TEXT PRIMARY KEY,
    live_generation     BIGINT NOT NULL,
    building_generation BIGINT
) WITHOUT ROWID;

-- The log position each generation of each projection has applied. It moves
-- in the same transaction as the rows it accounts for.
CREATE TABLE projection_checkpoints (
    name       TEXT NOT NULL,
    generation BIGINT NOT NULL,
    position   BIGINT NOT NULL,
    PRIMARY KEY (name, generation)
) WITHOUT ROWID;

-- The inbox: one row per message. Instants are microseconds since the Unix epoch.
CREATE TABLE inbox_messages (
    generation    BIGINT NOT NULL,
    message_id    TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    taken_at      BIGINT NOT NULL,
    agent         TEXT NOT NULL,
    caller_name   TEXT,
    caller_number TEXT,
    text          TEXT NOT NULL,
    urgent        BOOLEAN NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    delivered_to  TEXT,     -- every recipient, in delivery order, comma-separated
    delivered_at  BIGINT,   -- the latest delivery
    closed_at     BIGINT,
    search_text   TEXT NOT NULL, -- caller's name and number, text and agent, lower-cased
    PRIMARY KEY (generation, message_id)
);
CREATE INDEX inbox_messages_by_account ON inbox_messages (generation, account_id, taken_at);
CREATE INDEX inbox_messages_by_age ON inbox_messages (taken_at);

-- Contact names, so a delivery to a contact reads as the name it had then.
CREATE TABLE inbox_contacts (
    generation BIGINT NOT NULL,
    contact_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (generation, contact_id)
);

-- The call log: one row per call.
CREATE TABLE call_log (
    generation             BIGINT NOT NULL,
    call_id                TEXT NOT NULL,
    account_id             TEXT NOT NULL,
    call_number            TEXT NOT NULL,
    started_at             BIGINT NOT NULL,
    duration_seconds       BIGINT NOT NULL,
    agent                  TEXT NOT NULL,
    caller_id              TEXT,
    caller_digits          TEXT,   -- the caller ID's digits only, to find a number however it is written
    kind                   TEXT NOT NULL CHECK (kind IN ('details', 'voice')),
    recording_id           TEXT,
    recording_content_type TEXT,
    recording_bytes        BIGINT,
    PRIMARY KEY (generation, call_id)
);
CREATE INDEX call_log_by_account ON call_log (generation, account_id, started_at);
CREATE INDEX call_log_by_age ON call_log (started_at);
