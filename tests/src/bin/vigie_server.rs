//! The server as a child process for the tests that need separate processes
//! (several nodes on one database, a server killed with SIGKILL): the same
//! `serve` as `vigie serve`, so what is tested is what ships.

use clap::Parser;
use vigie_api::config::ServeConfig;

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    config: ServeConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    vigie_api::telemetry::init(&args.config.log_format);
    vigie_api::app::serve(args.config).await
}
