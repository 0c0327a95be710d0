// The floor under every SQLite figure in BENCHMARKS.md: the same insert loop
// as sqlite_raw.py, but in C against the very SQLite that Vigie links (the
// amalgamation bundled by libsqlite3-sys, built with the same flags), so no
// driver and no interpreter stands between the loop and the database.
//
// Each transaction inserts BATCH rows of one new stream, WAL with
// synchronous=FULL (an fdatasync per commit). With --vigie-schema the rows go
// into the log's own tables, read from migrations/sqlite (0001, 0006, 0007,
// 0008), with ids in time order as UUID v7 gives them; without it, into a
// table of three columns, as the Python loop does.
//
// Build and run from the workspace root:
//   S=$(echo ~/.cargo/registry/src/*/libsqlite3-sys-0.30.1/sqlite3)
//   gcc -O2 -DHAVE_FDATASYNC=1 -I"$S" eventstore/benches/sqlite_floor.c "$S/sqlite3.c" -o /tmp/sqlite_floor -lpthread -ldl -lm
//   /tmp/sqlite_floor SECONDS BATCH [--vigie-schema]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sqlite3.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void run(sqlite3 *db, const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) {
        fprintf(stderr, "%s\n", error);
        exit(1);
    }
}

static void run_file(sqlite3 *db, const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "cannot read %s (run from the workspace root)\n", path);
        exit(1);
    }
    static char sql[1 << 16];
    size_t length = fread(sql, 1, sizeof sql - 1, file);
    sql[length] = '\0';
    fclose(file);
    run(db, sql);
}

static int by_duration(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SECONDS BATCH [--vigie-schema]\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    int batch = atoi(argv[2]);
    int vigie_schema = argc > 3 && strcmp(argv[3], "--vigie-schema") == 0;

    char folder[] = "/tmp/sqlite_floor_XXXXXX", path[64];
    if (!mkdtemp(folder)) return 1;
    snprintf(path, sizeof path, "%s/floor.db", folder);
    sqlite3 *db;
    sqlite3_open(path, &db);
    run(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    sqlite3_stmt *insert;
    if (vigie_schema) {
        run_file(db, "migrations/sqlite/0001_event_log.sql");
        run_file(db, "migrations/sqlite/0006_head_and_versions_follow_inserts.sql");
        run_file(db, "migrations/sqlite/0007_head_and_versions_from_the_events.sql");
        run_file(db, "migrations/sqlite/0008_log_position_view.sql");
        sqlite3_prepare_v2(db,
            "INSERT INTO events (position, event_id, stream_id, category, stream_version, event_type, "
            "schema_version, data, recorded_at) VALUES (?, ?, ?, 'shift', ?, 'ContactCommented', 1, ?, ?)",
            -1, &insert, NULL);
    } else {
        run(db, "CREATE TABLE events (id INTEGER PRIMARY KEY, stream TEXT NOT NULL, data TEXT NOT NULL)");
        sqlite3_prepare_v2(db, "INSERT INTO events (stream, data) VALUES (?, ?)", -1, &insert, NULL);
    }
    /* The peers' event: two ids and a null comment. */
    const char *data = "{\"shift_id\":\"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\","
                       "\"contact_id\":\"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c\",\"comment\":null}";

    static double durations[4000000];
    long commits = 0, position = 0;
    char stream[64];
    unsigned char event_id[16];
    double started = now();
    while (now() - started < seconds && commits < 4000000) {
        double begun = now();
        if (batch > 1) run(db, "BEGIN");
        snprintf(stream, sizeof stream, "shift-%012ld-7e5f-8a9b-0c1d2e3f4a5b", commits);
        for (int i = 0; i < batch; i++) {
            position++;
            /* Time-ordered like a UUID v7: the counter first, big-endian, then noise. */
            for (int k = 0; k < 8; k++) event_id[k] = (unsigned char)(position >> (56 - 8 * k));
            for (int k = 8; k < 16; k++) event_id[k] = (unsigned char)rand();
            if (vigie_schema) {
                sqlite3_bind_int64(insert, 1, position);
                sqlite3_bind_blob(insert, 2, event_id, 16, SQLITE_TRANSIENT);
                sqlite3_bind_text(insert, 3, stream, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(insert, 4, i + 1);
                sqlite3_bind_text(insert, 5, data, -1, SQLITE_STATIC);
                sqlite3_bind_int64(insert, 6, 1764000000000000LL + position);
            } else {
                sqlite3_bind_text(insert, 1, stream, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(insert, 2, data, -1, SQLITE_STATIC);
            }
            if (sqlite3_step(insert) != SQLITE_DONE) {
                fprintf(stderr, "%s\n", sqlite3_errmsg(db));
                return 1;
            }
            sqlite3_reset(insert);
        }
        if (batch > 1) run(db, "COMMIT");
        durations[commits++] = now() - begun;
    }
    double elapsed = now() - started;
    qsort(durations, commits, sizeof durations[0], by_duration);
    printf("C sqlite %s loop, %d per commit (WAL, synchronous=FULL, sqlite %s): %ld rows in %.2f s = %.0f rows/s; "
           "commit p50 %.2f ms, p99 %.2f ms\n",
           vigie_schema ? "Vigie-schema" : "one-table", batch, sqlite3_libversion(), commits * batch, elapsed,
           commits * batch / elapsed, durations[commits / 2] * 1e3, durations[commits * 99 / 100] * 1e3);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    snprintf(path, sizeof path, "rm -rf %s", folder);
    return system(path) == 0 ? 0 : 1;
}
