//! Errors of the letters crate: missing fonts (with the install command), templates that
//! do not compile (naming the template file and line), PDF export, files and the
//! mailing CSV.
//!
//! Messages are for staff and admins; none contains a person's data except the CSV
//! error, which names the batch sequence number and field, never the value.

use std::path::PathBuf;

/// How to get the fonts the letters need.
pub const FONT_INSTALL_HINT: &str = "install Japanese fonts with `sudo apt-get install fonts-ipaexfont fonts-noto-cjk` (or run `bash scripts/setup.sh`)";

/// Something went wrong preparing or rendering letters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LetterError {
    /// No Japanese font (IPAex or Noto CJK JP) was found in the searched directories.
    #[error(
        "no Japanese font (IPAexMincho or Noto Serif CJK JP) found in {searched:?}; {FONT_INSTALL_HINT}"
    )]
    NoJapaneseFont {
        /// Directories searched.
        searched: Vec<PathBuf>,
    },
    /// The template override directory is not a readable directory.
    #[error("template override directory {path}: {source}")]
    OverrideDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A template file could not be read or is not UTF-8.
    #[error("template {path}: {message}")]
    TemplateFile {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A template does not compile; each diagnostic names the template and line.
    #[error("{}", format_diagnostics(.diagnostics))]
    Template {
        /// The errors, first one first.
        diagnostics: Vec<TemplateDiagnostic>,
    },
    /// The PDF could not be written from the laid-out letter.
    #[error("PDF export failed: {message}")]
    Pdf {
        /// Typst's message.
        message: String,
    },
    /// The letter data could not be prepared (a date out of range, JSON).
    #[error("letter data: {message}")]
    Data {
        /// Why.
        message: String,
    },
    /// Writing an output file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A mailing-list field has a character the chosen encoding cannot hold.
    #[error(
        "mailing CSV, letter {sequence}, field {field}: character {character:?} has no Shift_JIS (CP932) code; use UTF-8 or correct the register"
    )]
    Unmappable {
        /// Batch sequence number of the letter.
        sequence: u32,
        /// Column name.
        field: &'static str,
        /// The character.
        character: char,
    },
    /// Writing the mailing CSV failed.
    #[error("mailing CSV: {0}")]
    Csv(String),
}

/// Where a template came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOrigin {
    /// Embedded in the crate (`crates/letters/templates/`).
    BuiltIn,
    /// A file in the override directory.
    Override(PathBuf),
    /// The main file the renderer generates (a bug if an error points here).
    Generated,
}

/// One template error, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDiagnostic {
    /// Template file name, e.g. `S.typ`.
    pub template: String,
    /// Built-in or override file.
    pub origin: TemplateOrigin,
    /// 1-based line, when typst gave a position.
    pub line: Option<usize>,
    /// 1-based column (in characters), when typst gave a position.
    pub column: Option<usize>,
    /// Typst's message, plus its hints.
    pub message: String,
    /// The letter kind being compiled when the error happened (`R`, `S`, …), if one.
    pub letter_kind: Option<String>,
}

impl std::fmt::Display for TemplateDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template {}", self.template)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
            if let Some(column) = self.column {
                write!(f, ", column {column}")?;
            }
        }
        match &self.origin {
            TemplateOrigin::Override(path) => write!(f, " ({})", path.display())?,
            TemplateOrigin::BuiltIn => f.write_str(" (built-in)")?,
            TemplateOrigin::Generated => {}
        }
        if let Some(kind) = &self.letter_kind {
            write!(f, " [letter {kind}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

fn format_diagnostics(diagnostics: &[TemplateDiagnostic]) -> String {
    match diagnostics {
        [] => "template error without details".to_owned(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}
