-- The writer's one-call append checks its assumptions in a statement of its
-- own, before a plain INSERT: inserting into `append_guard` whether they hold
-- aborts the statement, and so the rest of the call, when they do not.
-- Nothing is stored: the view is empty and its trigger only raises.
--
-- Why not a WHERE on the INSERT itself: an INSERT whose SELECT reads the
-- events table must first copy every row it inserts aside (SQLite cannot
-- read and write one table in one pass), and the checks read the events.
-- Measured, same machine and hour, alternating: batches of 50 events +9-18 %
-- on disk, and on a RAM disk +10-17 % in four pairs of five (even in the
-- fifth); a lone event unchanged (BENCHMARKS.md, tenth sitting).
CREATE VIEW append_guard (holds) AS SELECT NULL WHERE false;

CREATE TRIGGER append_guard_holds INSTEAD OF INSERT ON append_guard
WHEN NEW.holds IS NOT 1 -- false, or unknown
BEGIN
    SELECT RAISE(ABORT, 'append guard: the log moved since the writer last read it');
END;
