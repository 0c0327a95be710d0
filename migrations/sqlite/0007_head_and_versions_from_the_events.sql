-- The head and the streams' versions are read off the events themselves (the
-- last position, a stream's highest version, both found through an index),
-- so an append writes only its events: no trigger rewrites the head row and a
-- stream row for every inserted event, and a commit has two pages fewer to
-- sync. `log_head` and `streams.version` now only remember what a purge took
-- away: before deleting events, a purge records the head and the versions of
-- the streams it touches there, so positions and versions never go back.
-- Both tables already hold the right values, which are kept as they are.
DROP TRIGGER events_advance_head_and_version;
