//! Vigie's append-only event log, on SQLite or PostgreSQL.
