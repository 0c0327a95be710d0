"""Vigie's PostgreSQL append statements against a bare INSERT, under pgbench.

Reads the statements from eventstore/src/postgres/writer.rs, so what runs is
what the writer sends: `GUARDED_APPEND_ONE` (a lone event) and `GUARDED_APPEND`
(the general batch, here with one event), beside pgbench's one-row INSERT into
Vigie's own table. Each round runs every script for a few seconds, so the
machine's drift hits them alike. The peers' pgbench reference is a one-index
table; this compares on Vigie's schema, to see what the statements cost.

    python3 eventstore/benches/pg_statements.py [--rounds 5] [--seconds 3] [--port 5432] [--events N]

With --events N (more than 1), each transaction carries N events to N new
streams, as group commit's batches of concurrent writers do: `GUARDED_APPEND`
with N events beside a bare INSERT of the same N rows.

Against a cluster with fsync=off, the figures show the statements' CPU cost
alone. Needs pgbench and psql on PATH and a user that may create databases
(PGHOST/PGUSER, default 127.0.0.1 and postgres).
"""
import argparse, os, re, subprocess, tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..")
parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=5)
parser.add_argument("--seconds", type=int, default=3)
parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
parser.add_argument("--events", type=int, default=1)
args = parser.parse_args()
env = dict(os.environ, PGHOST=os.environ.get("PGHOST", "127.0.0.1"), PGUSER=os.environ.get("PGUSER", "postgres"),
           PGPORT=args.port)
database = "vigie_statements"

def psql(*argv):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", *argv], env=env, check=True, stdout=subprocess.DEVNULL)

psql("-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {database}", "-c", f"CREATE DATABASE {database}")
migrations = os.path.join(root, "migrations", "postgres")
for name in sorted(os.listdir(migrations)):
    psql("-d", database, "-f", os.path.join(migrations, name))

source = open(os.path.join(root, "eventstore", "src", "postgres", "writer.rs")).read()
def constant(name):
    return " ".join(re.search(rf'const {name}: &str = "(.*?)";', source, re.S).group(1).split())

# One new stream per transaction, as in the peers' pgbench script. pgbench
# variables become bind parameters; the event id derives from them, so the
# id check can use its index (a volatile gen_random_uuid() there could not).
stream, event_id = "'shift-' || :n || '-' || :m", "md5(:n || '-' || :m)::uuid"
data = ("json_build_object('shift_id', '0192d1d6-5a9c-7b3e-9f3c-1a2b3c4d5e6f', "
        "'contact_id', '0192d1d6-5a9c-7b3e-9f3c-1a2b3c4d5e70', 'comment', NULL)::text")
one = {1: event_id, 2: stream, 3: "'shift'", 4: "0::bigint", 5: "'ContactCommented'", 6: "1", 7: data,
       8: "NULL::uuid", 9: "NULL::text", 10: "NULL::uuid", 11: "NULL::uuid", 12: "NULL::text"}
general = {1: f"ARRAY[{event_id}]", 2: f"ARRAY[{stream}]", 3: "ARRAY['shift']", 4: "ARRAY[1::bigint]",
           5: "ARRAY['ContactCommented']", 6: "ARRAY[1]", 7: f"ARRAY[{data}]", 8: "ARRAY[NULL::uuid]",
           9: "ARRAY[NULL::text]", 10: "ARRAY[NULL::uuid]", 11: "ARRAY[NULL::uuid]", 12: "ARRAY[NULL::text]",
           13: f"ARRAY[{stream}]", 14: "ARRAY[0::bigint]"}
def bind(statement, values):
    return re.sub(r"\$(\d+)", lambda m: f"({values[int(m.group(1))]})", statement)

scripts = {
    "bare INSERT": "INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type, "
                   "schema_version, data, recorded_at) VALUES (nextval('event_positions'), "
                   f"{event_id}, {stream}, 'shift', 1, 'ContactCommented', 1, ({data})::json, clock_timestamp())",
    "GUARDED_APPEND_ONE": bind(constant("GUARDED_APPEND_ONE"), one),
    "GUARDED_APPEND (1 event)": bind(constant("GUARDED_APPEND"), general),
}
if args.events > 1:
    n = args.events
    # Event g of the transaction goes to a stream of its own, as version 1.
    ids = f"ARRAY(SELECT md5(:n || '-' || :m || '-' || g)::uuid FROM generate_series(1, {n}) g)"
    streams = f"ARRAY(SELECT 'shift-' || :n || '-' || :m || '-' || g FROM generate_series(1, {n}) g)"
    fill = lambda value, kind: f"array_fill({value}::{kind}, ARRAY[{n}])"
    batch = {1: ids, 2: streams, 3: fill("'shift'", "text"), 4: fill("1", "bigint"),
             5: fill("'ContactCommented'", "text"), 6: fill("1", "integer"), 7: fill(f"({data})", "text"),
             8: fill("NULL", "uuid"), 9: fill("NULL", "text"), 10: fill("NULL", "uuid"), 11: fill("NULL", "uuid"),
             12: fill("NULL", "text"), 13: streams, 14: fill("0", "bigint")}
    # The bare INSERT takes the same arrays, so that only Vigie's rules differ.
    bare = ("INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type, schema_version, "
            "data, actor_id, actor_name, correlation_id, causation_id, idempotency_key, recorded_at) "
            "SELECT nextval('event_positions'), u.*, clock_timestamp() "
            "FROM unnest($1::UUID[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[], $6::INTEGER[], $7::JSON[], "
            "$8::UUID[], $9::TEXT[], $10::UUID[], $11::UUID[], $12::TEXT[]) AS u")
    scripts = {"bare INSERT": bind(bare, batch),
               f"GUARDED_APPEND ({n} events)": bind(constant("GUARDED_APPEND"), batch)}
folder = tempfile.mkdtemp()
files = {}
for name, statement in scripts.items():
    files[name] = os.path.join(folder, re.sub(r"\W+", "_", name) + ".sql")
    with open(files[name], "w") as f:
        f.write("\\set n random(1, 2000000000)\n\\set m random(1, 2000000000)\n" + statement + ";\n")

rates = {name: [] for name in scripts}
for _ in range(args.rounds):
    for name, path in files.items():
        out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-f", path, "-c", "1", "-T", str(args.seconds), database],
                             env=env, capture_output=True, text=True)
        tps = re.search(r"^tps = ([\d.]+)", out.stdout, re.M)
        if not tps or "error" in out.stderr:
            raise SystemExit(f"{name} failed:\n{out.stderr}")
        rates[name].append(float(tps.group(1)))
bare = sum(rates["bare INSERT"]) / len(rates["bare INSERT"])
for name, runs in rates.items():
    mean = sum(runs) / len(runs)
    print(f"{name}: mean {mean:,.0f} tx/s, {mean * args.events:,.0f} events/s ({mean / bare:.0%} of the bare INSERT); runs "
          + ", ".join(f"{r:,.0f}" for r in runs))
psql("-d", "postgres", "-c", f"DROP DATABASE {database}")
