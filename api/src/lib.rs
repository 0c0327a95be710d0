//! Vigie's HTTP API: configuration, routes and the server loop.

pub mod config;
pub mod server;
pub mod telemetry;
