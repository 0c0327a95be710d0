-- The head of the log is the newest committed position, read off the events,
-- or the newest one a purge removed, whichever is higher. The sequence is no
-- guide: it counts positions handed to appends still running, and to appends
-- that failed, which no read will ever return, so a node waiting for the
-- sequence's value to start could wait for ever.
CREATE TABLE log_purged (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL -- the newest position a purge removed
);
INSERT INTO log_purged (id, position) VALUES (1, 0);
