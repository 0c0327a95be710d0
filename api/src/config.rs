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

    /// Mark the session cookie `Secure` (sent over HTTPS only). By default it
    /// is, unless the server listens on a loopback address: a deployment sits
    /// behind a TLS proxy, while the demo and the tests speak plain HTTP.
    #[arg(long, env = "VIGIE_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,

    /// The address of a proxy in front of the server (repeat, or separate by
    /// commas): behind it, a request's address is the one its `X-Forwarded-For`
    /// names, for the login throttle. Requests from anywhere else cannot choose it.
    #[arg(long = "trusted-proxy", env = "VIGIE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// How many seconds a client has to send a request's headers, which is also
    /// how long a kept-alive connection may stay idle between requests.
    #[arg(long, env = "VIGIE_HEADER_TIMEOUT_SECONDS", default_value_t = crate::http_server::DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_seconds: u64,

    /// How many connections are served at once (live-change streams
    /// included); over it, a new connection is answered 503. By default, as
    /// many as the process's open-file limit allows, less a reserve.
    #[arg(long, env = "VIGIE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,

    /// How many of those connections may come from one address (a trusted
    /// proxy's are not limited: every client comes through it).
    #[arg(long, env = "VIGIE_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = crate::http_server::DEFAULT_MAX_PER_ADDRESS as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections_per_address: u64,

    /// Log lines as `text` or `json`.
    #[arg(long, env = "VIGIE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

impl ServeConfig {
    /// The limits on the connections the server accepts.
    pub fn connection_limits(&self) -> crate::http_server::ConnectionLimits {
        crate::http_server::ConnectionLimits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_seconds),
            max_connections: self
                .max_connections
                .map_or_else(crate::http_server::connections_the_file_limit_allows, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
            max_per_address: usize::try_from(self.max_connections_per_address).unwrap_or(usize::MAX),
            body_deadline: crate::http_server::BODY_DEADLINE,
            proxies: self.trusted_proxies.clone(),
        }
    }

    /// Whether to mark the session cookie `Secure`: as set, else unless listening on a loopback address.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies.unwrap_or(!self.bind.ip().is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::ServeConfig;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        serve: ServeConfig,
    }

    fn parsed(args: &[&str]) -> ServeConfig {
        Command::parse_from(std::iter::once("vigie").chain(args.iter().copied())).serve
    }

    #[test]
    fn the_session_cookie_is_secure_unless_the_server_listens_on_loopback() {
        assert!(!parsed(&[]).cookies_secure(), "the demo on 127.0.0.1 speaks plain HTTP");
        assert!(!parsed(&["--bind", "[::1]:8080"]).cookies_secure());
        assert!(parsed(&["--bind", "0.0.0.0:8080"]).cookies_secure(), "a deployment sits behind TLS");
        assert!(!parsed(&["--bind", "0.0.0.0:8080", "--secure-cookies", "false"]).cookies_secure());
        assert!(parsed(&["--secure-cookies", "true"]).cookies_secure());
    }
}
