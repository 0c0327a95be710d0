-- Credentials and sessions live beside the log, never in it: a password hash
-- or a token must never become an immutable event.

CREATE TABLE credentials (
    user_id       TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,  -- argon2id, PHC string
    changed_at    BIGINT NOT NULL -- microseconds since the Unix epoch
);

-- Tokens are stored only as their SHA-256, so a copy of this table opens no session.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- The first answer to each change sent with an Idempotency-Key, per user.
CREATE TABLE idempotency_keys (
    user_id    TEXT NOT NULL,
    key        TEXT NOT NULL,
    status     BIGINT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
