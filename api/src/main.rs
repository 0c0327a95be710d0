//! The `vigie` command: runs the server.

use clap::{Parser, Subcommand};

use vigie_api::config::ServeConfig;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            vigie_api::telemetry::init(&config.log_format);
            vigie_api::app::serve(config).await
        }
    }
}
