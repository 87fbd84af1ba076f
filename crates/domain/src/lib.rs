//! Collabo's domain: the rules of コラボヘルス as pure Rust.
//!
//! Nothing in this crate does I/O or reads the clock: every function that depends on
//! the date takes `today` as an argument, so a whole fiscal year can be replayed in a
//! test. Formats (checkup XML, UKE claims), storage, letters, web and CLI are adapters
//! that depend on this crate; it depends on none of them.

pub mod actor;
pub mod admission;
pub mod aggregates;
pub mod audit;
pub mod authz;
pub mod batch;
pub mod calendar;
pub mod case;
pub mod checkup;
pub mod consent;
pub mod coverage;
pub mod effect_report;
pub mod effects;
pub mod employer;
pub mod engine;
pub mod ids;
pub mod joint_use;
pub mod matching;
pub mod member;
pub mod problem;
pub mod programme;
pub mod referral;
pub mod retention;
pub mod risk;
pub mod visibility;
pub mod visit;

pub use jiff::civil::Date;

#[cfg(test)]
mod engine_tests;
