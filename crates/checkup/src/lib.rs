//! Reads and writes 特定健診 checkup results for Collabo.
//!
//! Formats: the MHLW 特定健診・特定保健指導の電子的な標準様式 (HL7 CDA R2) as a zip archive,
//! an unpacked folder or a single `h*.xml`, and one documented CSV/XLSX column layout
//! (README.md). Every reader yields [`CheckupRecord`]s one at a time — the person as
//! submitted, not matched — plus an [`ImportReport`]; the writers produce the same
//! formats from records so the demo and benchmarks read the real thing.
//!
//! Deliberately not here: matching to the member register, storage, idempotent
//! re-import, risk judgement (`collabo_domain::risk`) and the CLI.

mod archive;
pub mod cda;
pub mod error;
pub mod items;
pub mod record;

pub use error::{ReadError, WriteError};
pub use record::{
    CheckupRecord, ImportReport, ObservationSource, Origin, Problem, RangeFlag, UnknownItem,
};
pub mod layout;
pub mod reader;

pub use layout::{CsvWriter, write_csv};
pub use reader::{CheckupReader, Format, MAX_DOCUMENT_BYTES};
pub mod writer;

pub use writer::{ArchiveHeader, ArchiveWriter, write_archive};
