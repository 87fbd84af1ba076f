//! Template overrides: a file in the override directory replaces the built-in one, and
//! a broken one is refused (naming template and line) before any batch file is written.

use crate::support::{letter, page_text, renderer, squeeze, write_pdf};
use collabo_domain::programme::LetterKind;
use collabo_letters::{
    BatchOptions, LetterError, Renderer, TemplateOrigin, template_names, validate_templates,
};
use std::path::PathBuf;

fn fonts() -> Vec<PathBuf> {
    collabo_letters::DEFAULT_FONT_DIRS
        .iter()
        .map(PathBuf::from)
        .collect()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn the_built_in_templates_validate() {
    renderer().validate_templates().unwrap();
    assert_eq!(template_names().count(), 6);
}

#[test]
fn an_unknown_field_in_an_override_is_refused_with_template_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let built_in = include_str!("../../templates/S.typ");
    let broken = built_in.replace("#keigu", "#keigu\n  #(d.smoking_since)年から");
    std::fs::write(dir.path().join("S.typ"), &broken).unwrap();
    let expected_line = line_of(&broken, "#(d.smoking_since)");

    let error = validate_templates(&fonts(), Some(dir.path())).unwrap_err();
    let LetterError::Template { diagnostics } = &error else {
        panic!("expected a template error, got {error}");
    };
    let first = &diagnostics[0];
    assert_eq!(first.template, "S.typ");
    assert_eq!(first.line, Some(expected_line), "{error}");
    assert_eq!(
        first.origin,
        TemplateOrigin::Override(dir.path().join("S.typ"))
    );
    assert!(first.message.contains("smoking_since"), "{error}");
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("template S.typ line {expected_line}")),
        "{shown}"
    );
    // Only the broken template is blamed.
    assert!(diagnostics.iter().all(|d| d.template == "S.typ"), "{shown}");
}

#[test]
fn a_syntax_error_in_the_shared_layout_names_layout_typ_and_no_batch_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let built_in = include_str!("../../templates/layout.typ");
    let broken = built_in.replace(
        "#let keigu = align(right)[敬具]",
        "#let keigu = align(right)[敬具",
    );
    assert_ne!(broken, built_in);
    std::fs::write(dir.path().join("layout.typ"), &broken).unwrap();

    let renderer = Renderer::new(&fonts(), Some(dir.path())).unwrap();
    let out = tempfile::tempdir().unwrap();
    let letters = (1..=3).map(|n| letter(LetterKind::SmokingCessation, n, "山田 太郎"));
    let error = renderer
        .write_batch(letters, out.path(), &BatchOptions::default())
        .unwrap_err();
    let LetterError::Template { diagnostics } = &error else {
        panic!("expected a template error, got {error}");
    };
    assert_eq!(diagnostics[0].template, "layout.typ", "{error}");
    // Every kind imports layout.typ; the error is still reported once, not per kind.
    let places: std::collections::HashSet<_> = diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.message.clone()))
        .collect();
    assert_eq!(places.len(), diagnostics.len(), "{diagnostics:?}");
    let line = diagnostics[0].line.unwrap();
    assert!(
        (line_of(&broken, "#let keigu")..=broken.lines().count()).contains(&line),
        "line {line}: {error}"
    );
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn an_override_replaces_only_its_own_template() {
    let dir = tempfile::tempdir().unwrap();
    let custom = include_str!("../../templates/R.typ").replace(
        "[健診結果に基づく受診のおすすめ]",
        "[特定健診結果のお知らせと受診のおすすめ]",
    );
    std::fs::write(dir.path().join("R.typ"), custom).unwrap();
    let renderer = Renderer::new(&fonts(), Some(dir.path())).unwrap();
    renderer.validate_templates().unwrap();
    let r = letter(LetterKind::RiskReferral, 1, "山田 太郎");
    let s = letter(LetterKind::SmokingCessation, 2, "佐藤 花子");
    let batch = renderer.render_batch(&[&r, &s]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let pdf = write_pdf(out.path(), "o.pdf", &batch.pdf);
    let first = squeeze(&page_text(&pdf, 1, batch.letters[0].pages));
    assert!(first.contains("特定健診結果のお知らせと受診のおすすめ"));
    let second_page = batch.letters[1].first_page;
    let second = squeeze(&page_text(&pdf, second_page, second_page));
    assert!(second.contains("禁煙治療のご案内"), "S stays built-in");
}

#[test]
fn an_override_naming_a_font_that_is_not_installed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let custom = include_str!("../../templates/C.typ").replace(
        "#let letter(d) = letter-frame(d, title: [精密検査受診のお願い])[",
        "#let letter(d) = letter-frame(d, title: text(font: \"MS Mincho\")[精密検査受診のお願い])[",
    );
    std::fs::write(dir.path().join("C.typ"), &custom).unwrap();
    let error = validate_templates(&fonts(), Some(dir.path())).unwrap_err();
    let LetterError::Template { diagnostics } = &error else {
        panic!("expected a template error, got {error}");
    };
    assert_eq!(diagnostics[0].template, "C.typ", "{error}");
    assert_eq!(
        diagnostics[0].line,
        Some(line_of(&custom, "MS Mincho")),
        "{error}"
    );
    assert!(diagnostics[0].message.contains("ms mincho"), "{error}");
}
