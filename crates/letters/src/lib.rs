//! Collabo's letters: the notices of programmes R, S, D and C (and the C re-notice) as
//! print-ready A4 PDFs in Japanese, with the address placed for a 長形3号 window
//! envelope, plus the mailing list CSV for the print and mail vendor.
//!
//! Rendering is typst used as a library ([`Renderer`]); templates are `.typ` files
//! embedded in the crate (`templates/`) that an admin can replace file by file from an
//! override directory. This crate does not decide who gets a letter, does not store
//! anything and does not read the clock: the batch flow gives it [`LetterData`].
//!
//! See: issue 5; SPEC.md "What goes out".

#![deny(missing_docs)]

pub mod data;
pub mod error;
pub mod layout;
pub mod mailing;
pub mod render;
pub mod report;
mod world;

pub use data::{
    AddressProblem, DataSource, EnvelopePlace, LetterData, LetterDate, Recipient, Sender, ValueRow,
    cancer_screening_label,
};
pub use error::{FONT_INSTALL_HINT, LetterError, TemplateDiagnostic, TemplateOrigin};
pub use mailing::{CsvEncoding, MailingRow, write_mailing_csv};
pub use render::{
    BatchManifest, BatchOptions, DEFAULT_FONT_DIRS, LetterPlacement, PagePlacement, RenderedBatch,
    Renderer,
};
pub use world::{builtin_template, template_names};

/// Checks the templates in `template_dir` (with the built-in ones for files it does not
/// have) by compiling each letter kind with sample data. Run it when an admin saves a
/// template and before building a batch.
pub fn validate_templates(
    font_dirs: &[std::path::PathBuf],
    template_dir: Option<&std::path::Path>,
) -> Result<(), LetterError> {
    Renderer::new(font_dirs, template_dir)?.validate_templates()
}
