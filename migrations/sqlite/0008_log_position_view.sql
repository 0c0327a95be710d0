-- Where the log stands: the last position handed out and the last record time.
-- Since 0007 they are the newest event's, or what a purge recorded in
-- `log_head` before it removed the newest events, whichever is higher. The
-- rule lives here once, for the writer's checks, its reads and the purge.
CREATE VIEW log_position AS
SELECT max(h.position, ifnull((SELECT max(position) FROM events), 0)) AS position,
       max(h.recorded_at, ifnull((SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1), 0)) AS recorded_at
  FROM log_head h
 WHERE h.id = 1;
