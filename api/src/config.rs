//! The server's settings, from flags or the environment.

use std::net::SocketAddr;

/// `vigie serve` settings; every flag can also come from its `VIGIE_*` variable.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "VIGIE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The event log: `sqlite://PATH` or `postgres://USER@HOST/DATABASE`.
    #[arg(long, env = "VIGIE_DATABASE_URL", default_value = "sqlite://vigie.db")]
    pub database: String,

    /// Seed an empty database with the client manual's example.
    #[arg(long, env = "VIGIE_DEMO")]
    pub demo: bool,

    /// How long a login session lasts, in minutes.
    #[arg(long, env = "VIGIE_SESSION_MINUTES", default_value_t = 12 * 60)]
    pub session_minutes: u32,

    /// How many days messages and calls are kept (they hold callers' personal
    /// data): older ones leave the views and their events are purged.
    #[arg(long, env = "VIGIE_RETENTION_DAYS", default_value_t = vigie_domain::inbox::DEFAULT_RETENTION_DAYS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_days: u32,

    /// Log lines as `text` or `json`.
    #[arg(long, env = "VIGIE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}
