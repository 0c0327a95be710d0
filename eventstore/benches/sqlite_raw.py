#!/usr/bin/env python3
"""The raw SQLite reference for BENCHMARKS.md: a plain insert loop, one row
per transaction, WAL with synchronous=FULL (an fsync per commit), through
Python's built-in sqlite3 module, so the driver adds next to nothing.

With --vigie-schema the same loop inserts into the log's own tables
(migrations/sqlite 0001, 0006 and 0007: unique event ids and stream versions
and the category index), to show what the schema alone costs a lone writer
before any driver does.

Run: python3 eventstore/benches/sqlite_raw.py [SECONDS] [--vigie-schema]
"""
import json, os, sqlite3, sys, tempfile, time, uuid

args = [a for a in sys.argv[1:] if not a.startswith("--")]
vigie_schema = "--vigie-schema" in sys.argv
seconds = float(args[0]) if args else 5.0
here = os.path.dirname(os.path.abspath(__file__))
folder = tempfile.mkdtemp(dir=os.environ.get("VIGIE_BENCH_DIR", "/tmp"))
db = sqlite3.connect(os.path.join(folder, "raw.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
if vigie_schema:
    for migration in ("0001_event_log.sql", "0006_head_and_versions_follow_inserts.sql",
                      "0007_head_and_versions_from_the_events.sql"):
        db.executescript(open(os.path.join(here, "..", "..", "migrations", "sqlite", migration)).read())
    insert = ("INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type, "
              "schema_version, data, recorded_at) VALUES (?, ?, ?, 'shift', 1, 'ContactCommented', 1, ?, ?)")
else:
    db.execute("""CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL,
                  version INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
                  recorded_at INTEGER NOT NULL, UNIQUE (stream_id, version))""")
    insert = "INSERT INTO events (stream_id, version, type, data, recorded_at) VALUES (?, 1, 'ContactCommented', ?, ?)"
count, start = 0, time.perf_counter()
deadline = start + seconds
while time.perf_counter() < deadline:
    data = json.dumps({"shift_id": str(uuid.uuid4()), "contact_id": str(uuid.uuid4()), "comment": None})
    now = time.time_ns() // 1000
    db.execute("BEGIN")
    if vigie_schema:
        # Time-ordered ids, as Vigie's UUID v7 are.
        db.execute(insert, (count + 1, uuid.uuid1().bytes, "shift-" + str(uuid.uuid1()), data, now))
    else:
        db.execute(insert, ("shift-" + str(uuid.uuid4()), data, now))
    db.execute("COMMIT")
    count += 1
elapsed = time.perf_counter() - start
table = "Vigie's schema" if vigie_schema else "one table"
print(f"raw sqlite insert loop into {table} (WAL, synchronous=FULL, sqlite {sqlite3.sqlite_version}): "
      f"{count} rows in {elapsed:.2f} s = {count / elapsed:.0f} rows/s")
