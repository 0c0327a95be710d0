//! The `vigie` command: runs the server, and maintains its read models.

use clap::{Parser, Subcommand};

use vigie_api::config::ServeConfig;
use vigie_projections::sql::SQL_PROJECTIONS;

#[derive(Debug, Parser)]
#[command(name = "vigie", version, about = "Event-sourced on-call scheduling for answering services")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the HTTP server.
    Serve(ServeConfig),
    /// Maintain the SQL read models (inbox, call log).
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Copy a SQLite database to a new file, consistently, while the server keeps running.
    ///
    /// The copy holds one moment of the whole database (the log, the read
    /// models, the password hashes) and no sessions. To restore it, stop the
    /// server, put the copy in place of the database file (removing its -wal
    /// and -shm files) and start the server again.
    Backup {
        /// The new file to write; an existing file is never overwritten.
        destination: std::path::PathBuf,
        /// The database to copy: `sqlite://PATH`.
        #[arg(long, env = "VIGIE_DATABASE_URL", default_value = "sqlite://vigie.db")]
        database: String,
    },
}

#[derive(Debug, Subcommand)]
enum ProjectionsCommand {
    /// Rebuild one SQL projection, or all of them, from the start of the log.
    ///
    /// A server running on the same database keeps serving the old rows
    /// until the new ones are complete, then switches to them at once.
    Rebuild {
        /// The projection to rebuild; all of them when left out.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(SQL_PROJECTIONS))]
        name: Option<String>,
        /// The event log: `sqlite://PATH` or `postgres://USER@HOST/DATABASE`.
        #[arg(long, env = "VIGIE_DATABASE_URL", default_value = "sqlite://vigie.db")]
        database: String,
        /// Events applied per transaction.
        #[arg(long, default_value_t = 1000)]
        batch_size: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            vigie_api::telemetry::init(&config.log_format);
            vigie_api::app::serve(config).await
        }
        Command::Projections(ProjectionsCommand::Rebuild { name, database, batch_size }) => {
            vigie_api::telemetry::init("text");
            let outcomes = vigie_api::read_models::rebuild(&database, name.as_deref(), batch_size).await?;
            for outcome in outcomes {
                println!(
                    "Rebuilt {} up to log position {}: generation {} is live (generation {} was removed).",
                    outcome.name, outcome.position, outcome.generation, outcome.previous_generation
                );
            }
            Ok(())
        }
        // No logging set up: the copy is meant to take seconds, and sqlx would
        // warn of each slow statement; what matters is printed below.
        Command::Backup { destination, database } => {
            match vigie_api::backup::backup(&database, &destination).await {
                Ok(report) => {
                    println!("{report}");
                    Ok(())
                }
                // An operator's mistake (a name already taken, a PostgreSQL URL) is one line, not a trace.
                Err(error) => {
                    eprintln!("vigie backup: {error}");
                    std::process::exit(1)
                }
            }
        }
    }
}
