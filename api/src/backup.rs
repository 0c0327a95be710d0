//! `vigie backup`: a consistent copy of a SQLite database, taken while the server keeps running.
//!
//! Copying `vigie.db` with `cp` while a server runs is not a backup: the
//! newest commits live in `vigie.db-wal` until a checkpoint moves them, and a
//! file copied mid-write can be torn. SQLite's `VACUUM INTO` writes a copy of
//! one snapshot instead, reading while the server goes on appending. The copy
//! is written under a temporary name, synced to disk and only then renamed, so
//! a file with the backup's name is always a whole one.
//!
//! The copy leaves out the sessions: restoring it must not revive a login that
//! ended after the backup was taken. Everything else (the log, the read
//! models, the password hashes, the recordings) is in it, so keep it as safe
//! as the database itself.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

/// How long the copy waits for the server's writer to let go of a lock it needs.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Where the copy is.
    pub destination: PathBuf,
    /// How many events the copy holds.
    pub events: u64,
    /// The log position the copy reaches: every event up to it is in the copy.
    pub position: u64,
    /// The copy's size in bytes.
    pub bytes: u64,
}

impl std::fmt::Display for BackupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Backed up {} events, up to log position {}, to {} ({:.1} MiB). \
             Sessions are left out: after a restore, everyone logs in again.",
            self.events,
            self.position,
            self.destination.display(),
            self.bytes as f64 / (1024.0 * 1024.0)
        )
    }
}

/// Why a backup was not taken. Nothing is left at the destination in any case.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "vigie backup copies a SQLite database; back up PostgreSQL with its own tools: \
         pg_dump --format=custom --file=vigie.dump DATABASE_URL (or continuous WAL archiving, \
         for a restore to any moment)"
    )]
    Postgres,
    #[error("{0} is not a database URL that vigie backup knows: give sqlite://PATH")]
    UnknownScheme(String),
    #[error("{} already exists: vigie backup never overwrites a file; choose a new name", .0.display())]
    DestinationExists(PathBuf),
    #[error("there is no folder {} to write the copy in", .0.display())]
    NoFolder(PathBuf),
    #[error("there is no database at {}", .0.display())]
    NoDatabase(PathBuf),
    #[error("{} holds no Vigie event log", .0.display())]
    NotVigie(PathBuf),
    #[error("the copy failed its integrity check ({0}); nothing was kept")]
    Damaged(String),
    #[error("the database could not be copied: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the copy could not be written to disk: {0}")]
    Io(#[from] std::io::Error),
}

/// Copies the SQLite database at `database_url` to `destination`, a file that must not exist yet.
pub async fn backup(database_url: &str, destination: &Path) -> Result<BackupReport, BackupError> {
    let source = source_options(database_url)?;
    if destination.exists() {
        return Err(BackupError::DestinationExists(destination.to_owned()));
    }
    let folder = folder_of(destination);
    if !folder.is_dir() {
        return Err(BackupError::NoFolder(folder.to_owned()));
    }
    // The copy is written beside the destination, so the final rename stays on one file system.
    let partial = partial_name(destination);
    remove_if_present(&partial)?;
    let copied = copy(source, &partial).await;
    let finished = match copied {
        Ok(()) => finish(&partial, destination).await,
        Err(error) => Err(error),
    };
    if finished.is_err() {
        // What went wrong first is what the operator needs to read; a partial
        // copy that cannot be removed either is left for them to see.
        let _ = remove_if_present(&partial);
    }
    finished
}

/// The source's connection options: an existing file, waiting for the server's locks.
fn source_options(database_url: &str) -> Result<SqliteConnectOptions, BackupError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return Err(BackupError::Postgres);
    }
    if !database_url.starts_with("sqlite:") {
        let scheme = database_url.split_once(':').map_or(database_url, |(scheme, _)| scheme);
        return Err(BackupError::UnknownScheme(format!("{scheme}:…")));
    }
    let options = SqliteConnectOptions::from_str(database_url)?;
    let path = options.get_filename().to_owned();
    if !path.is_file() {
        return Err(BackupError::NoDatabase(path));
    }
    Ok(options.create_if_missing(false).busy_timeout(BUSY_TIMEOUT))
}

/// Writes one snapshot of the source to `partial`.
async fn copy(source: SqliteConnectOptions, partial: &Path) -> Result<(), BackupError> {
    let path = source.get_filename().to_owned();
    let mut conn = source.connect().await?;
    let has_log: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'events')")
            .fetch_one(&mut conn)
            .await?;
    if !has_log {
        conn.close().await?;
        return Err(BackupError::NotVigie(path));
    }
    sqlx::query("VACUUM INTO ?").bind(partial.to_string_lossy().into_owned()).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Drops the sessions from the copy, checks it, syncs it to disk and gives it its name.
async fn finish(partial: &Path, destination: &Path) -> Result<BackupReport, BackupError> {
    let options = SqliteConnectOptions::new()
        .filename(partial)
        .create_if_missing(false)
        // One self-contained file, whatever mode the source was in.
        .journal_mode(SqliteJournalMode::Delete)
        .synchronous(SqliteSynchronous::Full)
        // The deleted sessions' pages are zeroed, not just let go.
        .pragma("secure_delete", "ON");
    let mut copy = options.connect().await?;
    sqlx::query("DELETE FROM sessions").execute(&mut copy).await?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut copy).await?;
    if check != "ok" {
        copy.close().await?;
        return Err(BackupError::Damaged(check));
    }
    let (events, position): (i64, i64) =
        sqlx::query_as("SELECT count(*), (SELECT position FROM log_position) FROM events").fetch_one(&mut copy).await?;
    copy.close().await?;

    // SQLite does not sync what VACUUM INTO writes; a backup that a power cut
    // can take back is no backup.
    std::fs::File::open(partial)?.sync_all()?;
    give_name(partial, destination)?;
    sync_directory_of(destination)?;
    Ok(BackupReport {
        destination: destination.to_owned(),
        events: events as u64,
        position: position as u64,
        bytes: std::fs::metadata(destination)?.len(),
    })
}

/// `backup.db` is written as `backup.db.partial` until it is whole.
fn partial_name(destination: &Path) -> PathBuf {
    let mut name = destination.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Names the whole copy, never replacing a file that appeared at the destination meanwhile: a
/// hard link fails if the name is taken, where a rename would overwrite. File systems without
/// hard links get the rename, after a last look.
fn give_name(partial: &Path, destination: &Path) -> Result<(), BackupError> {
    match std::fs::hard_link(partial, destination) {
        Ok(()) => Ok(std::fs::remove_file(partial)?),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(BackupError::DestinationExists(destination.to_owned()))
        }
        Err(_) if destination.exists() => Err(BackupError::DestinationExists(destination.to_owned())),
        Err(_) => Ok(std::fs::rename(partial, destination)?),
    }
}

fn remove_if_present(path: &Path) -> Result<(), std::io::Error> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Makes the rename itself durable: a directory's entries are synced like a file's contents.
fn sync_directory_of(path: &Path) -> Result<(), std::io::Error> {
    std::fs::File::open(folder_of(path))?.sync_all()
}

/// The folder a file is in: `.` for a bare file name.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_is_written_under_a_name_of_its_own_until_it_is_whole() {
        assert_eq!(
            partial_name(Path::new("/backups/vigie-2026-11-29.db")),
            Path::new("/backups/vigie-2026-11-29.db.partial")
        );
    }

    #[test]
    fn a_postgres_url_is_sent_to_pg_dump_and_an_unknown_one_is_named_without_its_secrets() {
        let postgres = source_options("postgres://vigie:secret@db/vigie").unwrap_err();
        assert!(matches!(postgres, BackupError::Postgres));
        assert!(postgres.to_string().contains("pg_dump"), "{postgres}");
        let unknown = source_options("mysql://vigie:secret@db/vigie").unwrap_err().to_string();
        assert!(unknown.contains("mysql:") && !unknown.contains("secret"), "{unknown}");
    }
}
