//! Shared helpers: one renderer per test binary, synthetic letters, and poppler calls
//! that fail loudly (naming scripts/setup.sh) when the tool is missing.

use collabo_domain::programme::LetterKind;
use collabo_letters::{LetterData, Renderer, ValueRow};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

pub fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(|| {
        Renderer::with_default_fonts(None, None).unwrap_or_else(|e| panic!("renderer: {e}"))
    })
}

/// A synthetic letter of `kind` for a fictitious person, numbered `sequence`.
pub fn letter(kind: LetterKind, sequence: u32, name: &str) -> LetterData {
    let mut letter = LetterData::sample(kind);
    letter.sequence = sequence;
    letter.recipient.name = name.to_owned();
    letter.reference = format!("{}-2026-{sequence:06}", kind.code());
    letter
}

pub fn row(label: &str, value: &str, unit: &str, threshold: &str) -> ValueRow {
    ValueRow {
        label: label.into(),
        value: value.into(),
        unit: unit.into(),
        threshold: threshold.into(),
        level: "要受診".into(),
    }
}

/// Runs a poppler tool; a missing tool is a failure that says how to install it.
pub fn poppler(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool} not runnable ({e}): install poppler-utils with `bash scripts/setup.sh`")
    });
    assert!(
        output.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

pub fn write_pdf(dir: &Path, name: &str, pdf: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    path.to_string_lossy().into_owned()
}

/// pdftotext -layout of pages `first..=last`.
pub fn page_text(pdf: &str, first: usize, last: usize) -> String {
    poppler(
        "pdftotext",
        &[
            "-layout",
            "-f",
            &first.to_string(),
            "-l",
            &last.to_string(),
            pdf,
            "-",
        ],
    )
}

/// Text with all whitespace removed, because justified Japanese lines may be extracted
/// with spaces between characters.
pub fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Page count from pdfinfo.
pub fn pdf_pages(pdf: &str) -> usize {
    let info = poppler("pdfinfo", &[pdf]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap_or_else(|| panic!("no page count: {info}"))
        .trim()
        .parse()
        .unwrap()
}
