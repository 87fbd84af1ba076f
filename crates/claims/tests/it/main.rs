//! Integration tests of collabo-claims: the public samples, hand-made claims per cancer
//! type and for diabetes, bad input, insurer-side variants, masters and the writer.
//! All people are synthetic (the samples' patients are the upstream projects' test names).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::result_large_err,
    reason = "test helpers fail loudly"
)]

mod common;
mod errors;
mod fuzz;
mod masters;
mod mutations;
mod reduce;
mod samples;
mod streams;
mod variants;
mod writer;
