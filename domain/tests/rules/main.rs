//! The domain's rules, one given/when/then test per rule and per refusal, plus property tests.

mod accounts_users;
mod assignments;
mod directory_inbox_calls;
mod dst;
mod events;
mod properties;
mod queries;
mod schedules;
mod support;
