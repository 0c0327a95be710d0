-- The head and the streams' versions follow every inserted event by trigger,
-- so an append is one INSERT statement: the writer can send a whole batch as
-- a single autocommit statement, one hand-over to the driver's thread
-- instead of one per statement. Both only ever move forward.
CREATE TRIGGER events_advance_head_and_version AFTER INSERT ON events
BEGIN
    UPDATE log_head
       SET position = max(position, NEW.position),
           recorded_at = max(recorded_at, NEW.recorded_at)
     WHERE id = 1;
    INSERT INTO streams (stream_id, version) VALUES (NEW.stream_id, NEW.stream_version)
        ON CONFLICT (stream_id) DO UPDATE SET version = max(version, excluded.version);
END;
