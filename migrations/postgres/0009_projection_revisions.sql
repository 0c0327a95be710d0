-- Which revision of its code built each projection's live generation. A node
-- whose code is of a newer revision rebuilds the projection when it starts
-- (the inbox and call log fold their search text from revision 2 on).
ALTER TABLE projection_generations ADD COLUMN live_revision BIGINT NOT NULL DEFAULT 1;

-- The caller ID in lower case without accents, for search.
ALTER TABLE call_log ADD COLUMN caller_folded TEXT;
