//! Shared helpers for Vigie's black-box tests: a throw-away database per test.
