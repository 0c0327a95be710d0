#!/usr/bin/env python3
"""The raw SQLite reference for BENCHMARKS.md: a plain insert loop, one row
per transaction, WAL with synchronous=FULL (an fsync per commit), through
Python's built-in sqlite3 module, so the driver adds next to nothing.

With --vigie-schema the same loop inserts into the log's own tables
(migrations/sqlite 0001, 0006 and 0007: unique event ids and stream versions
and the category index), to show what the schema alone costs a lone writer
before any driver does.

With --batch N each transaction inserts N rows of one new stream through
`executemany`, as the peers' batch case appends 50 events at once.

Run: python3 eventstore/benches/sqlite_raw.py [SECONDS] [--vigie-schema] [--batch N]
"""
import json, os, sqlite3, sys, tempfile, time, uuid

argv = sys.argv[1:]
batch = int(argv.pop(argv.index("--batch") + 1)) if "--batch" in argv else 1
args = [a for a in argv if not a.startswith("--")]
vigie_schema = "--vigie-schema" in argv
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
              "schema_version, data, recorded_at) VALUES (?, ?, ?, 'shift', ?, 'ContactCommented', 1, ?, ?)")
else:
    db.execute("""CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL,
                  version INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
                  recorded_at INTEGER NOT NULL, UNIQUE (stream_id, version))""")
    insert = "INSERT INTO events (stream_id, version, type, data, recorded_at) VALUES (?, ?, 'ContactCommented', ?, ?)"
count, start = 0, time.perf_counter()
deadline = start + seconds
while time.perf_counter() < deadline:
    now = time.time_ns() // 1000
    # On Vigie's schema, time-ordered ids and stream names, as Vigie's UUID v7 are.
    stream = "shift-" + str(uuid.uuid1() if vigie_schema else uuid.uuid4())
    rows = []
    for version in range(1, batch + 1):
        data = json.dumps({"shift_id": str(uuid.uuid4()), "contact_id": str(uuid.uuid4()), "comment": None})
        count += 1
        if vigie_schema:
            rows.append((count, uuid.uuid1().bytes, stream, version, data, now))
        else:
            rows.append((stream, version, data, now))
    db.execute("BEGIN")
    db.executemany(insert, rows)
    db.execute("COMMIT")
elapsed = time.perf_counter() - start
table = "Vigie's schema" if vigie_schema else "one table"
print(f"raw sqlite insert loop into {table}, {batch} per commit (WAL, synchronous=FULL, sqlite {sqlite3.sqlite_version}): "
      f"{count} rows in {elapsed:.2f} s = {count / elapsed:.0f} rows/s")
