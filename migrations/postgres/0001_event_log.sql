-- The event log on PostgreSQL: every change Vigie knows, in one total order.

-- One row that remembers the last position handed out and the last record
-- time. Every append locks it (FOR UPDATE) until it commits, which makes
-- commits happen in position order: a reader that sees position N can never
-- later discover a smaller one, which is what lets subscribers page by
-- "position > last" without losing events.
CREATE TABLE log_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    position    BIGINT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
INSERT INTO log_head (id, position, recorded_at) VALUES (1, 0, '-infinity');

-- A stream's current version, and how long its events may be kept (NULL: forever).
CREATE TABLE streams (
    stream_id       TEXT PRIMARY KEY,
    version         BIGINT NOT NULL,
    max_age_seconds BIGINT
);

CREATE TABLE events (
    position        BIGINT PRIMARY KEY,
    event_id        UUID NOT NULL UNIQUE,
    stream_id       TEXT NOT NULL,
    category        TEXT NOT NULL,
    stream_version  BIGINT NOT NULL,
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    -- json, not jsonb: kept byte for byte as written, and cheaper to write and read.
    data            JSON NOT NULL,
    actor_id        UUID,
    actor_name      TEXT,
    correlation_id  UUID,
    causation_id    UUID,
    idempotency_key TEXT,
    recorded_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_by_category ON events (category, position);
CREATE INDEX events_by_record_time ON events (recorded_at);

-- Appends a batch of appends in one round trip and one transaction. Rows are
-- flattened per event; p_append numbers the append each event belongs to, and
-- an append's events are contiguous. Each append is checked on its own
-- (idempotency by event id, then expected version), so one append's conflict
-- never fails another's. Answers one row per append.
CREATE FUNCTION vigie_append(
    p_append         INTEGER[],
    p_stream         TEXT[],
    p_category       TEXT[],
    p_expected       BIGINT[],  -- -1: any version; otherwise the exact current version (0: no stream)
    p_max_age        BIGINT[],  -- seconds, or NULL to leave the stream's setting alone
    p_event_id       UUID[],
    p_type           TEXT[],
    p_schema         INTEGER[],
    p_data           TEXT[],    -- JSON text, cast on insert
    p_actor_id       UUID[],
    p_actor_name     TEXT[],
    p_correlation_id UUID[],
    p_causation_id   UUID[],
    p_idempotency    TEXT[]
) RETURNS TABLE (
    o_append         INTEGER,
    o_outcome        TEXT,      -- 'appended', 'duplicate', 'conflict' or 'partial_duplicate'
    o_version        BIGINT,
    o_first_position BIGINT,
    o_last_position  BIGINT,
    o_recorded_at    TIMESTAMPTZ
) LANGUAGE plpgsql AS $$
DECLARE
    v_head     BIGINT;
    v_at       TIMESTAMPTZ;
    v_total    INTEGER := coalesce(array_length(p_append, 1), 0);
    v_from     INTEGER := 1;
    v_to       INTEGER;
    v_count    INTEGER;
    v_current  BIGINT;
    v_dups     INTEGER;
    v_wrote    BOOLEAN := false;
BEGIN
    SELECT h.position, greatest(clock_timestamp(), h.recorded_at)
      INTO v_head, v_at
      FROM log_head h WHERE h.id = 1 FOR UPDATE;

    WHILE v_from <= v_total LOOP
        v_to := v_from;
        WHILE v_to < v_total AND p_append[v_to + 1] = p_append[v_from] LOOP
            v_to := v_to + 1;
        END LOOP;
        v_count := v_to - v_from + 1;
        o_append := p_append[v_from];

        SELECT count(*), min(e.position), max(e.position), max(e.stream_version), min(e.recorded_at)
          INTO v_dups, o_first_position, o_last_position, o_version, o_recorded_at
          FROM events e WHERE e.event_id = ANY (p_event_id[v_from:v_to]);

        IF v_dups = v_count THEN
            o_outcome := 'duplicate';
            RETURN NEXT;
        ELSIF v_dups > 0 THEN
            o_outcome := 'partial_duplicate';
            RETURN NEXT;
        ELSE
            SELECT s.version INTO v_current FROM streams s WHERE s.stream_id = p_stream[v_from];
            v_current := coalesce(v_current, 0);
            IF p_expected[v_from] >= 0 AND p_expected[v_from] <> v_current THEN
                o_outcome := 'conflict';
                o_version := v_current;
                o_first_position := NULL;
                o_last_position := NULL;
                o_recorded_at := NULL;
                RETURN NEXT;
            ELSE
                INSERT INTO events (position, event_id, stream_id, category, stream_version,
                                    event_type, schema_version, data, actor_id, actor_name,
                                    correlation_id, causation_id, idempotency_key, recorded_at)
                SELECT v_head + (g.i - v_from + 1), p_event_id[g.i], p_stream[g.i], p_category[g.i],
                       v_current + (g.i - v_from + 1), p_type[g.i], p_schema[g.i], p_data[g.i]::json,
                       p_actor_id[g.i], p_actor_name[g.i], p_correlation_id[g.i], p_causation_id[g.i],
                       p_idempotency[g.i], v_at
                  FROM generate_series(v_from, v_to) AS g(i);

                INSERT INTO streams (stream_id, version, max_age_seconds)
                VALUES (p_stream[v_from], v_current + v_count, p_max_age[v_from])
                ON CONFLICT (stream_id) DO UPDATE
                   SET version = EXCLUDED.version,
                       max_age_seconds = coalesce(EXCLUDED.max_age_seconds, streams.max_age_seconds);

                o_outcome := 'appended';
                o_version := v_current + v_count;
                o_first_position := v_head + 1;
                o_last_position := v_head + v_count;
                o_recorded_at := v_at;
                v_head := v_head + v_count;
                v_wrote := true;
                RETURN NEXT;
            END IF;
        END IF;
        v_from := v_to + 1;
    END LOOP;

    IF v_wrote THEN
        UPDATE log_head SET position = v_head, recorded_at = v_at WHERE id = 1;
        PERFORM pg_notify('vigie_events', v_head::text);
    END IF;
END;
$$;
