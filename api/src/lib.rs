//! Vigie's HTTP API: configuration, routes, security and the server loop.

pub mod app;
pub mod auth;
pub mod backup;
pub mod commands;
pub mod config;
pub mod error;
pub mod export;
pub mod http_server;
pub mod idempotency;
pub mod metrics;
pub mod read_models;
pub mod routes;
pub mod seed;
pub mod slots;
pub mod telemetry;
pub mod unique_names;
