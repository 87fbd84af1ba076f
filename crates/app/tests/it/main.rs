//! Integration tests of the one door (one binary): every business operation through
//! `collabo_app::App`, on SQLite and on PostgreSQL. `privacy` holds one test per promise
//! of SPEC.md "Rules that hold everywhere" and per wall of issue 9; `contract` the
//! behaviour every import, run and batch keeps.

// Helpers outside #[test] functions fail loudly too: a panic is a test failure here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit_text;
mod contract;
mod effects;
mod fuzz;
mod harness;
mod no_wrong_letter;
mod planner;
mod privacy;
mod rules;
mod societies;
mod watermark;
