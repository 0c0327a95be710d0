-- The login throttle, shared by every node on the database and kept across
-- restarts: with it in each node's memory, N nodes allowed N times the
-- guesses, and a restart forgot them all.

-- One row per key a failed login counts against: `user:<name>`, `ip:<address>`
-- and `user:<name>@<address>`. Rows older than the throttle's window are pruned.
CREATE TABLE login_failures (
    key       TEXT NOT NULL,
    failed_at BIGINT NOT NULL -- microseconds since the epoch
);
CREATE INDEX login_failures_by_key ON login_failures (key, failed_at);
CREATE INDEX login_failures_by_age ON login_failures (failed_at);

-- The addresses each user logged in from: from there, only that user's own
-- failures count against them.
CREATE TABLE login_trust (
    user_name TEXT NOT NULL,
    address   TEXT NOT NULL,
    since     BIGINT NOT NULL, -- the last successful login from there
    PRIMARY KEY (user_name, address)
);
CREATE INDEX login_trust_by_age ON login_trust (since);
