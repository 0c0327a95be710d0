#!/usr/bin/env python3
"""The raw SQLite reference for BENCHMARKS.md: a plain insert loop, one row
per transaction, WAL with synchronous=FULL (an fsync per commit), through
Python's built-in sqlite3 module, so the driver adds next to nothing.

Run: python3 eventstore/benches/sqlite_raw.py [SECONDS]
"""
import json, os, sqlite3, sys, tempfile, time, uuid

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
folder = tempfile.mkdtemp(dir=os.environ.get("VIGIE_BENCH_DIR", "/tmp"))
db = sqlite3.connect(os.path.join(folder, "raw.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("""CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL,
              version INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
              recorded_at INTEGER NOT NULL, UNIQUE (stream_id, version))""")
count, start = 0, time.perf_counter()
deadline = start + seconds
while time.perf_counter() < deadline:
    data = json.dumps({"shift_id": str(uuid.uuid4()), "contact_id": str(uuid.uuid4()), "comment": None})
    db.execute("BEGIN")
    db.execute("INSERT INTO events (stream_id, version, type, data, recorded_at) VALUES (?, 1, 'ContactCommented', ?, ?)",
               ("shift-" + str(uuid.uuid4()), data, time.time_ns() // 1000))
    db.execute("COMMIT")
    count += 1
elapsed = time.perf_counter() - start
print(f"raw sqlite insert loop (WAL, synchronous=FULL, sqlite {sqlite3.sqlite_version}): "
      f"{count} rows in {elapsed:.2f} s = {count / elapsed:.0f} rows/s")
