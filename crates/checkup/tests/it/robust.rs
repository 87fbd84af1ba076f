//! Parsers never panic: every truncation and a sweep of byte substitutions of a
//! realistic document give a record or an error, never a panic.

use super::fixtures::{Doc, cd, pq, raw};
use collabo_checkup::Origin;
use collabo_checkup::cda::parse_document;

fn document() -> String {
    Doc::default()
        .with(pq("9A751000000000001", "150", "mm[Hg]"))
        .with(raw(r#" negationInd="true""#, r#"<code code="3F077000002327101"/>"#))
        .with(raw(
            "",
            r#"<code nullFlavor="NA"/><entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><code code="8A065000002391901"/><value xsi:type="PQ" value="52.3" unit="ml/min/1.73m2"/></observation></entryRelationship>"#,
        ))
        .with(cd("9N736000000000011", "2", "1.2.392.200119.6.24060"))
        .xml()
}

#[test]
fn every_truncation_is_an_error_or_a_record() {
    let text = document();
    let mut n_errors = 0;
    for end in (0..text.len()).filter(|i| text.is_char_boundary(*i)) {
        if parse_document(&text[..end], Origin::default()).is_err() {
            n_errors += 1;
        }
    }
    assert!(n_errors > 0);
    assert!(parse_document(&text, Origin::default()).is_ok());
}

#[test]
fn byte_substitutions_never_panic() {
    let text = document();
    for (i, _) in text.char_indices().filter(|(_, c)| c.is_ascii()) {
        for replacement in ["<", ">", "\"", "&", "/", "=", " ", "x", "\u{3000}"] {
            let mut mutated = String::with_capacity(text.len() + 3);
            mutated.push_str(&text[..i]);
            mutated.push_str(replacement);
            mutated.push_str(&text[i + 1..]);
            let _ = parse_document(&mutated, Origin::default());
        }
    }
}
