#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The store's contract tests. Every test runs twice, on SQLite and on PostgreSQL
//! (a fresh database per test on the server named by COLLABO_TEST_PG, default
//! postgres://postgres@127.0.0.1:5432/test). PostgreSQL unreachable is a failure, not a
//! skip: `.ci/run` starts it (scripts/setup.sh).

mod contract;
mod harness;
mod migration;
