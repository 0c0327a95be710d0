-- Names that must be unique across the log: usernames and account numbers.
-- The live model alone cannot keep them unique: two creations racing (on one
-- node or two) both find the name free, and each new user or account is a
-- stream of its own, so the log's version check does not serialise them.
-- A creation first claims its name here, where the primary key lets only one
-- claim win. Names are kept lower-case and trimmed, as they are compared.
CREATE TABLE unique_names (
    kind       TEXT NOT NULL,   -- 'username' or 'account_number'
    name       TEXT NOT NULL,
    owner_id   TEXT NOT NULL,   -- the user or account that claimed it
    claimed_at BIGINT NOT NULL, -- microseconds since the epoch
    PRIMARY KEY (kind, name)
);
