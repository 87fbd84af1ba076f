//! Integration tests of the portal (one binary): the route × role matrix from one
//! table, employer isolation, suppression, opt-out, audit tamper detection, the
//! PostgreSQL smoke test and the browser end-to-end test.

// Helpers outside #[test] functions fail loudly too: a panic is a test failure here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod availability;
mod browser;
mod exports;
mod forms;
mod helpers;
mod letters;
mod matrix;
mod month;
mod postgres;
mod privacy;
mod security;
mod settings;
