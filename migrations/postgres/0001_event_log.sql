-- The event log on PostgreSQL: every change Vigie knows, in one total order.

-- Positions. Appends take them only while holding the log's advisory lock
-- (see vigie_append), which they keep until they commit: so commits happen in
-- position order across every process, and a reader that sees position N can
-- never later discover a smaller one. That is what lets subscribers page by
-- "position > last" without losing events. A failed transaction may leave a
-- gap; gaps are harmless, repeats never happen.
CREATE SEQUENCE event_positions AS BIGINT;

-- Per-stream settings: how long its events may be kept (NULL: forever), and
-- its version when its newest events were purged, so versions never restart.
-- A stream's version is otherwise the highest stream_version of its events.
CREATE TABLE streams (
    stream_id       TEXT PRIMARY KEY,
    max_age_seconds BIGINT,
    purged_version  BIGINT NOT NULL DEFAULT 0
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

-- Appends a batch of appends in one round trip and one transaction. Rows are
-- flattened per event; p_append numbers the append each event belongs to, and
-- an append's events are contiguous. Each append is checked on its own
-- (idempotency by event id, then expected version), in order, so one append's
-- conflict never fails another's. Answers one row per append.
--
-- The work is set-based: one statement reads what every append's decision
-- needs, a loop over plain arrays decides, one INSERT writes every accepted
-- event and one upsert moves every touched stream. So a batch of 32 appends
-- costs about what a batch of one does.
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
) LANGUAGE plpgsql
-- The plans of these statements are cached per connection. One made while the
-- log was nearly empty would scan the events table whole on every call as it
-- grows; every lookup here has an index, so the planner is told to use it,
-- and the plan is made once.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_head         BIGINT;
    v_at           TIMESTAMPTZ;
    -- What each append's decision needs, one entry per append, in order.
    f_append       INTEGER[];
    f_stream       TEXT[];
    f_first_event  INTEGER[];
    f_count        INTEGER[];
    f_expected     BIGINT[];
    f_version      BIGINT[];
    f_dups         INTEGER[];
    f_dup_first    BIGINT[];
    f_dup_last     BIGINT[];
    f_dup_version  BIGINT[];
    f_dup_at       TIMESTAMPTZ[];
    -- The accepted appends, and the streams whose max age they set.
    a_append       INTEGER[] := '{}';
    a_position     BIGINT[] := '{}';
    a_version      BIGINT[] := '{}';
    a_first_event  INTEGER[] := '{}';
    s_stream       TEXT[] := '{}';
    s_version      BIGINT[] := '{}';
    i              INTEGER;
    k              INTEGER;
    v_current      BIGINT;
    v_wrote        BOOLEAN := false;
BEGIN
    -- One appender at a time, until commit ('vigi' as a number).
    PERFORM pg_advisory_xact_lock(1986619241);
    v_head := coalesce(pg_sequence_last_value('event_positions'), 0);
    -- Record times never go backwards along positions, whatever the clock does.
    v_at := greatest(clock_timestamp(), (SELECT e.recorded_at FROM events e ORDER BY e.position DESC LIMIT 1));

    SELECT array_agg(f.app ORDER BY f.app), array_agg(f.stream ORDER BY f.app),
           array_agg(f.first_event ORDER BY f.app), array_agg(f.n ORDER BY f.app),
           array_agg(f.expected ORDER BY f.app),
           array_agg(greatest(coalesce((SELECT max(e.stream_version) FROM events e WHERE e.stream_id = f.stream), 0),
                              coalesce(s.purged_version, 0)) ORDER BY f.app),
           array_agg(f.dups ORDER BY f.app), array_agg(f.dup_first ORDER BY f.app),
           array_agg(f.dup_last ORDER BY f.app), array_agg(f.dup_version ORDER BY f.app),
           array_agg(f.dup_at ORDER BY f.app)
      INTO f_append, f_stream, f_first_event, f_count, f_expected, f_version,
           f_dups, f_dup_first, f_dup_last, f_dup_version, f_dup_at
      FROM (SELECT u.app, min(u.stream) AS stream, min(u.ord)::INTEGER AS first_event,
                   count(*)::INTEGER AS n, min(u.expected) AS expected,
                   count(e.event_id)::INTEGER AS dups, min(e.position) AS dup_first,
                   max(e.position) AS dup_last, max(e.stream_version) AS dup_version,
                   min(e.recorded_at) AS dup_at
              FROM unnest(p_append, p_stream, p_expected, p_event_id)
                   WITH ORDINALITY AS u(app, stream, expected, id, ord)
              LEFT JOIN events e ON e.event_id = u.id
             GROUP BY u.app) f
      LEFT JOIN streams s ON s.stream_id = f.stream;

    FOR i IN 1 .. coalesce(array_length(f_append, 1), 0) LOOP
        o_append := f_append[i];
        o_version := NULL;
        o_first_position := NULL;
        o_last_position := NULL;
        o_recorded_at := NULL;
        -- An earlier append of this batch may have moved the stream already.
        k := array_position(s_stream, f_stream[i]);
        v_current := CASE WHEN k IS NULL THEN f_version[i] ELSE s_version[k] END;

        IF f_dups[i] = f_count[i] THEN
            o_outcome := 'duplicate';
            o_version := f_dup_version[i];
            o_first_position := f_dup_first[i];
            o_last_position := f_dup_last[i];
            o_recorded_at := f_dup_at[i];
        ELSIF f_dups[i] > 0 THEN
            o_outcome := 'partial_duplicate';
        ELSIF f_expected[i] >= 0 AND f_expected[i] <> v_current THEN
            o_outcome := 'conflict';
            o_version := v_current;
        ELSE
            a_append := a_append || f_append[i];
            a_position := a_position || (v_head + 1);
            a_version := a_version || (v_current + 1);
            a_first_event := a_first_event || f_first_event[i];
            IF k IS NULL THEN
                s_stream := s_stream || f_stream[i];
                s_version := s_version || (v_current + f_count[i]);
            ELSE
                s_version[k] := v_current + f_count[i];
            END IF;
            o_outcome := 'appended';
            o_version := v_current + f_count[i];
            o_first_position := v_head + 1;
            o_last_position := v_head + f_count[i];
            o_recorded_at := v_at;
            v_head := v_head + f_count[i];
            v_wrote := true;
        END IF;
        RETURN NEXT;
    END LOOP;

    IF v_wrote THEN
        INSERT INTO events (position, event_id, stream_id, category, stream_version,
                            event_type, schema_version, data, actor_id, actor_name,
                            correlation_id, causation_id, idempotency_key, recorded_at)
        SELECT a.position + (u.ord - a.first_event), u.id, u.stream, u.category,
               a.version + (u.ord - a.first_event), u.type, u.schema, u.data::json,
               u.actor_id, u.actor_name, u.correlation_id, u.causation_id, u.idempotency, v_at
          FROM unnest(p_append, p_stream, p_category, p_event_id, p_type, p_schema, p_data,
                      p_actor_id, p_actor_name, p_correlation_id, p_causation_id, p_idempotency)
               WITH ORDINALITY AS u(app, stream, category, id, type, schema, data, actor_id,
                                    actor_name, correlation_id, causation_id, idempotency, ord)
          JOIN unnest(a_append, a_position, a_version, a_first_event)
               AS a(app, position, version, first_event) ON a.app = u.app;

        -- Only appends that set a max age touch the streams table.
        IF EXISTS (SELECT 1 FROM unnest(p_max_age) AS m(age) WHERE m.age IS NOT NULL) THEN
            INSERT INTO streams (stream_id, max_age_seconds)
            SELECT DISTINCT ON (u.stream) u.stream, u.age
              FROM unnest(p_append, p_stream, p_max_age) WITH ORDINALITY AS u(app, stream, age, ord)
             WHERE u.age IS NOT NULL AND u.app = ANY (a_append)
             ORDER BY u.stream, u.ord DESC
            ON CONFLICT (stream_id) DO UPDATE SET max_age_seconds = EXCLUDED.max_age_seconds;
        END IF;

        PERFORM setval('event_positions', v_head);
        PERFORM pg_notify('vigie_events', v_head::text);
    END IF;
END;
$$;
