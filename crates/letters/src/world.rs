//! The typst `World` letters are compiled in: fonts scanned once, templates (built-in
//! or from the override directory) parsed once, a generated `/main.typ` and the letter
//! data as a virtual `/data.json`. Also maps typst diagnostics to template file + line.
//!
//! Nothing here reads the network or typst packages, and the world has no clock
//! (`today()` is `None`): a letter's date comes from its data.

use crate::error::{LetterError, TemplateDiagnostic, TemplateOrigin};
use collabo_domain::programme::LetterKind;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_kit::fonts::FontStore;

/// Families that make a font set usable for Japanese letters (typst lowercases names).
const JAPANESE_FAMILIES: [&str; 2] = ["ipaexmincho", "noto serif cjk jp"];

/// Built-in templates, embedded so that only the repository has to ship.
const BUILT_IN: [(&str, &str); 6] = [
    ("layout.typ", include_str!("../templates/layout.typ")),
    ("R.typ", include_str!("../templates/R.typ")),
    ("S.typ", include_str!("../templates/S.typ")),
    ("D.typ", include_str!("../templates/D.typ")),
    ("C.typ", include_str!("../templates/C.typ")),
    ("C2.typ", include_str!("../templates/C2.typ")),
];

/// The template file names, in the order they are checked.
pub fn template_names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(name, _)| *name)
}

/// The built-in source of a template (for an admin to download and start from).
pub fn builtin_template(name: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| *source)
}

/// One parsed template.
struct Template {
    name: String,
    origin: TemplateOrigin,
    source: Source,
}

/// What every compile shares: library, fonts and templates.
pub(crate) struct Shared {
    library: LazyHash<Library>,
    fonts: FontStore,
    templates: HashMap<FileId, Template>,
    override_dir: Option<PathBuf>,
    data_id: FileId,
    main_id: FileId,
}

fn file_id(path: &str) -> Result<FileId, LetterError> {
    let vpath = VirtualPath::new(path).map_err(|e| LetterError::Data {
        message: format!("virtual path {path}: {e:?}"),
    })?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

impl Shared {
    /// Scans the font directories and loads the templates (override first).
    pub(crate) fn new(
        font_dirs: &[PathBuf],
        override_dir: Option<&Path>,
    ) -> Result<Self, LetterError> {
        let mut fonts = FontStore::new();
        for dir in font_dirs {
            if dir.is_dir() {
                fonts.extend(typst_kit::fonts::scan(dir));
            }
        }
        if !JAPANESE_FAMILIES
            .iter()
            .any(|family| fonts.book().contains_family(family))
        {
            return Err(LetterError::NoJapaneseFont {
                searched: font_dirs.to_vec(),
            });
        }
        if let Some(dir) = override_dir {
            std::fs::read_dir(dir).map_err(|source| LetterError::OverrideDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut templates = HashMap::new();
        for (name, built_in) in BUILT_IN {
            let id = file_id(&format!("templates/{name}"))?;
            let (text, origin) = match override_dir.map(|dir| dir.join(name)) {
                Some(path) if path.is_file() => {
                    let bytes = std::fs::read(&path).map_err(|e| LetterError::TemplateFile {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                    let text = String::from_utf8(bytes).map_err(|_| LetterError::TemplateFile {
                        path: path.clone(),
                        message: "not UTF-8; save the template as UTF-8".to_owned(),
                    })?;
                    (text, TemplateOrigin::Override(path))
                }
                _ => (built_in.to_owned(), TemplateOrigin::BuiltIn),
            };
            templates.insert(
                id,
                Template {
                    name: name.to_owned(),
                    origin,
                    source: Source::new(id, text),
                },
            );
        }
        Ok(Shared {
            library: LazyHash::new(Library::default()),
            fonts,
            templates,
            override_dir: override_dir.map(Path::to_path_buf),
            data_id: file_id("data.json")?,
            main_id: file_id("main.typ")?,
        })
    }

    /// The world for one compile of the given letter kinds over the given data.
    pub(crate) fn world(&self, kinds: &[LetterKind], data: Bytes) -> LetterWorld<'_> {
        LetterWorld {
            shared: self,
            main: Source::new(self.main_id, main_text(kinds)),
            data,
        }
    }

    /// The world of a document whose main file is `main` (a report), over `data`.
    pub(crate) fn world_with_main(&self, main: String, data: Bytes) -> LetterWorld<'_> {
        LetterWorld {
            shared: self,
            main: Source::new(self.main_id, main),
            data,
        }
    }

    /// Locates typst errors in the templates.
    pub(crate) fn diagnostics(
        &self,
        world: &LetterWorld<'_>,
        errors: &[SourceDiagnostic],
        letter_kind: Option<&str>,
    ) -> Vec<TemplateDiagnostic> {
        errors
            .iter()
            .map(|error| {
                let mut message = error.message.to_string();
                for hint in &error.hints {
                    message.push_str("; hint: ");
                    message.push_str(&hint.v);
                }
                let id = error.span.id();
                let (template, origin) = match id.and_then(|id| self.templates.get(&id)) {
                    Some(t) => (t.name.clone(), t.origin.clone()),
                    None if id == Some(self.main_id) => {
                        ("main.typ".to_owned(), TemplateOrigin::Generated)
                    }
                    None => (
                        id.map(|id| format!("{:?}", id.get()))
                            .unwrap_or_else(|| "(unknown)".to_owned()),
                        TemplateOrigin::Generated,
                    ),
                };
                let position = id.and_then(|id| {
                    let source = world.source(id).ok()?;
                    let range = world.range(error.span)?;
                    let (line, column) = source.lines().byte_to_line_column(range.start)?;
                    Some((line + 1, column + 1))
                });
                TemplateDiagnostic {
                    template,
                    origin,
                    line: position.map(|p| p.0),
                    column: position.map(|p| p.1),
                    message,
                    letter_kind: letter_kind.map(str::to_owned),
                }
            })
            .collect()
    }
}

/// The generated entry point: imports the templates of the kinds in this compile and
/// lays out every letter of `/data.json` on fresh pages, page counter reset per envelope.
fn main_text(kinds: &[LetterKind]) -> String {
    let mut text = String::from("#import \"/templates/layout.typ\": setup\n");
    for kind in kinds {
        let code = kind.code();
        text.push_str(&format!(
            "#import \"/templates/{code}.typ\" as kind-{code}\n"
        ));
    }
    text.push_str("#let templates = (\n");
    for kind in kinds {
        let code = kind.code();
        text.push_str(&format!("  \"{code}\": kind-{code}.letter,\n"));
    }
    text.push_str(
        ")\n#let data = json(\"/data.json\")\n#show: setup\n\
         #for (i, d) in data.letters.enumerate() {\n\
         \x20 if i > 0 { pagebreak() }\n\
         \x20 if d.envelope.position == 1 { counter(page).update(1) }\n\
         \x20 (templates.at(d.kind))(d)\n\
         }\n",
    );
    text
}

/// One compile's world.
pub(crate) struct LetterWorld<'a> {
    shared: &'a Shared,
    main: Source,
    data: Bytes,
}

impl World for LetterWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.shared.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        self.shared.fonts.book()
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            return Ok(self.main.clone());
        }
        match self.shared.templates.get(&id) {
            Some(template) => Ok(template.source.clone()),
            None => Err(FileError::NotFound(PathBuf::from(
                id.get().vpath().get_with_slash(),
            ))),
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.shared.data_id {
            return Ok(self.data.clone());
        }
        if let Some(template) = self.shared.templates.get(&id) {
            return Ok(Bytes::new(template.source.text().as_bytes().to_vec()));
        }
        // Other files (a logo, say) may come from the override directory.
        let vpath = id.get().vpath();
        let not_found = || FileError::NotFound(PathBuf::from(vpath.get_with_slash()));
        let relative = vpath
            .get_without_slash()
            .strip_prefix("templates/")
            .ok_or_else(not_found)?;
        let dir = self.shared.override_dir.as_ref().ok_or_else(not_found)?;
        let path = dir.join(relative);
        std::fs::read(&path)
            .map(Bytes::new)
            .map_err(|e| FileError::from_io(e, &path))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.shared.fonts.font(index)
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        None
    }
}
