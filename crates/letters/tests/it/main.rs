//! Integration tests of collabo-letters: real PDFs checked with poppler (pdftotext,
//! pdffonts), the window area, template overrides and errors, batches and fonts.
//!
//! One binary (see STYLE.md). PDF tests are few because each compiles typst letters.
//! A missing poppler tool fails the test with the setup command; nothing is skipped.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod batch;
mod fonts;
mod pdf_text;
mod support;
mod templates;
mod window;
