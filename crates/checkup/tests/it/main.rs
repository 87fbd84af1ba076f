//! Integration tests of collabo-checkup: one binary, one module per concern. Every
//! person here is synthetic (テスト…), every identifier made up.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod archive;
mod cda_traps;
mod fixtures;
mod fuzz;
mod robust;
mod roundtrip;
mod tabular;
