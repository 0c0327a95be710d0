//! Vigie's read models: built from the event log, checkpointed, rebuildable.
//!
//! - [`live`]: every account, user, contact and schedule in memory on each
//!   node, kept current by a subscription to the log. It answers the roster,
//!   coverage and dispatch questions without a database round trip.
//! - [`db`]: the pool the SQL read models (and credentials) use.
//! - [`sql`]: checkpointed, rebuildable SQL projections, their runner and retention.
//! - [`inbox`] and [`call_log`]: the messages and calls read models, on SQL.
//! - [`search`]: how their text is folded, so that case, accents and the way a number is written do not matter.

pub mod db;
pub mod live;

pub mod call_log;
pub mod inbox;
pub mod search;
pub mod sql;
