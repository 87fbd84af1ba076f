//! The [`Renderer`]: letters in, PDF bytes out. One letter per PDF, a batch in one PDF
//! (page counter reset per envelope), or a large batch written to a directory as part
//! files of bounded size so memory does not grow with the batch.
//!
//! An envelope is the run of consecutive letters with the same `sequence` (one
//! envelope per person per batch): its first letter carries the address block, the
//! others follow it, its pages are numbered together, and it is never split across
//! part files. A letter alone in its envelope is the common case.
//!
//! It does not choose letters, record that they were sent or talk to the store: the
//! batch flow in the CLI does. Templates are checked with sample data before any batch
//! file is written, so a broken template never leaves a half-built batch.

use crate::data::LetterData;
use crate::error::{LetterError, TemplateDiagnostic};
use crate::world::Shared;
use collabo_domain::programme::LetterKind;
use serde::Serialize;
use std::path::{Path, PathBuf};
use typst::foundations::Bytes;
use typst_layout::PagedDocument;
use typst_pdf::PdfOptions;

/// Where fonts are looked for unless the caller says otherwise.
pub const DEFAULT_FONT_DIRS: [&str; 2] = ["/usr/share/fonts", "/usr/local/share/fonts"];

/// How many evictions of typst's memoization cache an unused result survives; the
/// renderer evicts after every compile. Without eviction the cache keeps every letter's
/// layout and memory grows with the batch; results used by every compile (the parsed
/// and evaluated templates) are hit each time and stay.
const EVICT_MAX_AGE: usize = 3;

/// Renders letters to PDF. Scans fonts and parses templates once; share it (it is
/// `Send + Sync`) rather than building one per letter.
pub struct Renderer {
    shared: Shared,
}

/// A batch rendered into one PDF.
#[derive(Debug, Clone)]
pub struct RenderedBatch {
    /// The PDF.
    pub pdf: Vec<u8>,
    /// For each envelope, in order: its first page (1-based) and its number of pages.
    pub letters: Vec<PagePlacement>,
}

/// Where a letter lies in a PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagePlacement {
    /// First page, 1-based.
    pub first_page: usize,
    /// Number of pages.
    pub pages: usize,
}

/// How [`Renderer::write_batch`] splits and names its output.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Envelopes per part file (letters, when each is alone in its envelope). Memory
    /// is bounded by the part, not by the batch.
    pub letters_per_part: usize,
    /// Also write one PDF per envelope (`letters/<sequence>.pdf`), for reprints.
    pub per_letter_pdfs: bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            letters_per_part: 100,
            per_letter_pdfs: false,
        }
    }
}

/// What [`Renderer::write_batch`] wrote.
#[derive(Debug, Clone, Default)]
pub struct BatchManifest {
    /// The part files, in print order.
    pub parts: Vec<PathBuf>,
    /// One entry per envelope, in print order.
    pub letters: Vec<LetterPlacement>,
    /// Pages over all parts.
    pub pages: usize,
}

/// Where one envelope of a batch was printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterPlacement {
    /// Batch sequence number (the envelope's).
    pub sequence: u32,
    /// Letters in the envelope.
    pub notices: usize,
    /// Index into [`BatchManifest::parts`].
    pub part: usize,
    /// Pages within the part.
    pub placement: PagePlacement,
    /// The per-letter PDF, when asked for.
    pub pdf: Option<PathBuf>,
}

#[derive(Serialize)]
struct DataFile<'a> {
    letters: &'a [&'a LetterData],
}

impl Renderer {
    /// Scans `font_dirs` (see [`DEFAULT_FONT_DIRS`]) and loads the templates: the
    /// built-in ones, each replaced by a file of the same name in `template_dir` if
    /// there is one. Fails with the install command when no Japanese font is found.
    pub fn new(font_dirs: &[PathBuf], template_dir: Option<&Path>) -> Result<Self, LetterError> {
        Ok(Renderer {
            shared: Shared::new(font_dirs, template_dir)?,
        })
    }

    /// [`Renderer::new`] with [`DEFAULT_FONT_DIRS`] plus `extra_font_dir`.
    pub fn with_default_fonts(
        extra_font_dir: Option<&Path>,
        template_dir: Option<&Path>,
    ) -> Result<Self, LetterError> {
        let mut dirs: Vec<PathBuf> = DEFAULT_FONT_DIRS.iter().map(PathBuf::from).collect();
        dirs.extend(extra_font_dir.map(Path::to_path_buf));
        Self::new(&dirs, template_dir)
    }

    /// Compiles every template with sample data (one compile per letter kind), so a
    /// broken template is refused before a batch is built. The error names the
    /// template file and line. Warnings count as errors here: an unknown font family
    /// would otherwise fall back to another font without a word.
    pub fn validate_templates(&self) -> Result<(), LetterError> {
        let mut diagnostics = Vec::new();
        for kind in LetterKind::ALL {
            let sample = LetterData::sample(kind);
            match self.compile_checked(&[&sample], true) {
                Ok(_) => {}
                Err(LetterError::Template { diagnostics: found }) => {
                    // A broken layout.typ fails every kind: report each place once.
                    for diagnostic in found {
                        let seen = diagnostics.iter().any(|d: &TemplateDiagnostic| {
                            (&d.template, d.line, d.column, &d.message)
                                == (
                                    &diagnostic.template,
                                    diagnostic.line,
                                    diagnostic.column,
                                    &diagnostic.message,
                                )
                        });
                        if !seen {
                            diagnostics.push(diagnostic);
                        }
                    }
                }
                Err(other) => return Err(other),
            }
        }
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(LetterError::Template { diagnostics })
        }
    }

    /// One letter as one PDF.
    pub fn render(&self, letter: &LetterData) -> Result<Vec<u8>, LetterError> {
        let document = self.compile(&[letter])?;
        export(&document)
    }

    /// Several letters as one PDF, each starting on a new page, pages numbered per
    /// envelope. Holds the whole batch in memory: for large batches use
    /// [`Renderer::write_batch`].
    pub fn render_batch(&self, letters: &[&LetterData]) -> Result<RenderedBatch, LetterError> {
        let document = self.compile(letters)?;
        let placements = placements(&document);
        let envelopes = envelope_runs(letters.iter().copied()).len();
        if placements.len() != envelopes {
            return Err(LetterError::Pdf {
                message: format!(
                    "{envelopes} envelopes laid out as {} (a template must not reset the page counter)",
                    placements.len()
                ),
            });
        }
        Ok(RenderedBatch {
            pdf: export(&document)?,
            letters: placements,
        })
    }

    /// Writes a batch to `out_dir` as `part-0001.pdf`, `part-0002.pdf`, … of at most
    /// `letters_per_part` letters each (and per-letter PDFs if asked). Validates the
    /// templates first, so nothing is written when a template is broken.
    pub fn write_batch<I>(
        &self,
        letters: I,
        out_dir: &Path,
        options: &BatchOptions,
    ) -> Result<BatchManifest, LetterError>
    where
        I: IntoIterator<Item = LetterData>,
    {
        self.validate_templates()?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LetterError::Io { path, source }
        };
        std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
        let letters_dir = out_dir.join("letters");
        if options.per_letter_pdfs {
            std::fs::create_dir_all(&letters_dir).map_err(io(&letters_dir))?;
        }
        let per_part = options.letters_per_part.max(1);
        let mut manifest = BatchManifest::default();
        let mut chunk: Vec<LetterData> = Vec::new();
        let mut iter = letters.into_iter().peekable();
        while iter.peek().is_some() {
            chunk.clear();
            let mut envelopes_in_chunk = 0usize;
            // Whole envelopes only: a person's letters never straddle two parts.
            while let Some(next) = iter.peek() {
                let starts_envelope = chunk.last().is_none_or(|l| l.sequence != next.sequence);
                if starts_envelope && envelopes_in_chunk == per_part {
                    break;
                }
                if starts_envelope {
                    envelopes_in_chunk += 1;
                }
                if let Some(letter) = iter.next() {
                    chunk.push(letter);
                }
            }
            let refs: Vec<&LetterData> = chunk.iter().collect();
            let part_index = manifest.parts.len();
            let part_path = out_dir.join(format!("part-{:04}.pdf", part_index + 1));
            let rendered = self.render_batch(&refs)?;
            write_atomically(&part_path, &rendered.pdf)?;
            for (envelope, placement) in envelope_runs(chunk.iter()).iter().zip(&rendered.letters) {
                let first = envelope.first().copied();
                let pdf = match (options.per_letter_pdfs, first) {
                    (true, Some(first)) => {
                        let path = letters_dir.join(format!("{:05}.pdf", first.sequence));
                        let document = self.compile(envelope)?;
                        write_atomically(&path, &export(&document)?)?;
                        Some(path)
                    }
                    _ => None,
                };
                manifest.letters.push(LetterPlacement {
                    sequence: first.map_or(0, |l| l.sequence),
                    notices: envelope.len(),
                    part: part_index,
                    placement: *placement,
                    pdf,
                });
            }
            manifest.pages += rendered.letters.iter().map(|p| p.pages).sum::<usize>();
            manifest.parts.push(part_path);
        }
        Ok(manifest)
    }

    fn compile(&self, letters: &[&LetterData]) -> Result<PagedDocument, LetterError> {
        self.compile_checked(letters, false)
    }

    /// Compiles; with `strict`, typst's warnings (an unknown font family, say, which
    /// would silently fall back to another font) fail the compile too.
    fn compile_checked(
        &self,
        letters: &[&LetterData],
        strict: bool,
    ) -> Result<PagedDocument, LetterError> {
        let mut kinds: Vec<LetterKind> = letters.iter().map(|l| l.kind).collect();
        kinds.sort();
        kinds.dedup();
        let json = serde_json::to_vec(&DataFile { letters }).map_err(|e| LetterError::Data {
            message: e.to_string(),
        })?;
        let world = self.shared.world(&kinds, Bytes::new(json));
        let warned = typst::compile::<PagedDocument>(&world);
        comemo::evict(EVICT_MAX_AGE);
        let kind = match kinds.as_slice() {
            [one] => Some(one.code()),
            _ => None,
        };
        match warned.output {
            Ok(_) if strict && !warned.warnings.is_empty() => Err(LetterError::Template {
                diagnostics: self.shared.diagnostics(&world, &warned.warnings, kind),
            }),
            Ok(document) => Ok(document),
            Err(errors) => Err(LetterError::Template {
                diagnostics: self.shared.diagnostics(&world, &errors, kind),
            }),
        }
    }
}

/// The envelopes of a run of letters: consecutive letters with the same sequence.
pub(crate) fn envelope_runs<'a>(
    letters: impl IntoIterator<Item = &'a LetterData>,
) -> Vec<Vec<&'a LetterData>> {
    let mut out: Vec<Vec<&LetterData>> = Vec::new();
    for letter in letters {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|l| l.sequence == letter.sequence) => {
                run.push(letter)
            }
            _ => out.push(vec![letter]),
        }
    }
    out
}

/// Envelopes start where the page counter is 1 (the main file resets it per envelope).
fn placements(document: &PagedDocument) -> Vec<PagePlacement> {
    let mut out: Vec<PagePlacement> = Vec::new();
    for (index, page) in document.pages().iter().enumerate() {
        match out.last_mut() {
            Some(last) if page.number != 1 => last.pages += 1,
            _ => out.push(PagePlacement {
                first_page: index + 1,
                pages: 1,
            }),
        }
    }
    out
}

/// The built-in report template (not overridable: its wording comes from the data).
const REPORT_TEMPLATE: &str = include_str!("../templates/report.typ");

impl Renderer {
    /// A printable report ([`crate::report::ReportDocument`]) as one A4 PDF.
    pub fn render_report(
        &self,
        report: &crate::report::ReportDocument,
    ) -> Result<Vec<u8>, LetterError> {
        let json = serde_json::to_vec(report).map_err(|e| LetterError::Data {
            message: e.to_string(),
        })?;
        let world = self
            .shared
            .world_with_main(REPORT_TEMPLATE.to_owned(), Bytes::new(json));
        let warned = typst::compile::<PagedDocument>(&world);
        comemo::evict(EVICT_MAX_AGE);
        match warned.output {
            Ok(document) => export(&document),
            Err(errors) => Err(LetterError::Template {
                diagnostics: self.shared.diagnostics(&world, &errors, None),
            }),
        }
    }
}

fn export(document: &PagedDocument) -> Result<Vec<u8>, LetterError> {
    // Untagged: poppler 22 (Debian bookworm) warns about typst's tagged PDFs.
    let options = PdfOptions {
        tagged: false,
        ..PdfOptions::default()
    };
    typst_pdf::pdf(document, &options).map_err(|errors| LetterError::Pdf {
        message: errors
            .iter()
            .map(|e| e.message.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LetterError> {
    let tmp = path.with_extension("pdf.tmp");
    std::fs::write(&tmp, bytes).map_err(|source| LetterError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| LetterError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_renderer_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<super::Renderer>();
    }
}
