//! レセプト電算 (UKE) claims → visit facts.
//!
//! [`ClaimReader`] streams a claim file (医科 `RECEIPTC.UKE`, DPC `RECEIPTD.UKE`, 歯科,
//! 調剤; 和暦 or 西暦 dates; insurer-side variants) one claim at a time and reduces each
//! to a [`ReducedClaim`]: the identity the store matches to a member, the institution,
//! the service day(s) or month, and the condition / procedure / drug *groups* it
//! evidences, looked up in a [`GroupMap`] built from the 支払基金 masters. At the end,
//! [`FileSummary`] tells the file's kind (its claims stream: a file whose kind cannot be
//! told is an error with its line), its regular service month and how many claims of it
//! it holds (the others are 月遅れ), and its place in a multi-volume set.
//! [`UkeWriter`] writes synthetic claims of any of the four kinds from a description in
//! groups.
//!
//! Data minimisation is structural: codes are looked up while the line is read and
//! dropped; no type in this crate's output can hold a diagnosis, procedure or drug code,
//! a name, an amount or points. Not here: matching to members (collabo-store) and the
//! follow-up rules (collabo-domain's programme settings).

#![allow(
    clippy::result_large_err,
    reason = "errors are rare and fatal for the file; they carry file, line, record and field by value"
)]

pub mod claim;
pub mod date;
pub mod error;
pub mod groups;
pub mod reader;
pub mod writer;

pub use claim::{ClaimIdentity, ReducedClaim};
pub use date::DateStyle;
pub use error::ClaimsError;
pub use groups::{GroupMap, GroupRow, MapKind, SITES};
pub use reader::{ClaimFileKind, ClaimReader, FileSummary, FileVariant, Note, read_all};
pub use writer::{ClaimSpec, Filler, GroupSpec, UkeWriter, WriterOptions};
