//! Integration tests of the portal (one binary): the route × role matrix from one
//! table, employer isolation, suppression, opt-out, audit tamper detection, the
//! PostgreSQL smoke test and the browser end-to-end test.

mod browser;
mod helpers;
mod matrix;
mod postgres;
mod privacy;
