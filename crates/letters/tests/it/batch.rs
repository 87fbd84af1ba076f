//! A batch written to a directory: part files of bounded size, per-letter PDFs, page
//! placements that match the PDFs, and the mailing CSV built from them.

use crate::support::{letter, poppler, renderer};
use collabo_domain::programme::LetterKind;
use collabo_letters::{BatchOptions, CsvEncoding, MailingRow, write_mailing_csv};

#[test]
fn a_batch_is_split_into_parts_with_placements_and_a_mailing_list() {
    let letters: Vec<_> = (1..=5)
        .map(|n| letter(LetterKind::ALL[(n as usize - 1) % 5], n, &format!("架空 人{n}")))
        .collect();
    let out = tempfile::tempdir().unwrap();
    let options = BatchOptions {
        letters_per_part: 2,
        per_letter_pdfs: true,
    };
    let manifest = renderer()
        .write_batch(letters.clone(), out.path(), &options)
        .unwrap();
    assert_eq!(manifest.parts.len(), 3);
    assert_eq!(manifest.letters.len(), 5);
    let mut pages_in_parts = 0;
    for (index, part) in manifest.parts.iter().enumerate() {
        let info = poppler("pdfinfo", &[part.to_str().unwrap()]);
        let pages: usize = info
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let placed: usize = manifest
            .letters
            .iter()
            .filter(|l| l.part == index)
            .map(|l| l.placement.pages)
            .sum();
        assert_eq!(pages, placed, "{}", part.display());
        pages_in_parts += pages;
    }
    assert_eq!(pages_in_parts, manifest.pages);
    for (placed, letter) in manifest.letters.iter().zip(&letters) {
        assert_eq!(placed.sequence, letter.sequence);
        let single = placed.pdf.as_ref().unwrap();
        let text = poppler("pdftotext", &["-layout", single.to_str().unwrap(), "-"]);
        assert!(text.contains(&letter.recipient.name), "{}", single.display());
    }

    let rows: Vec<MailingRow> = manifest
        .letters
        .iter()
        .zip(&letters)
        .map(|(placed, letter)| {
            let part = manifest.parts[placed.part].file_name().unwrap().to_string_lossy();
            MailingRow::placed(letter, placed, &part)
        })
        .collect();
    let mut csv = Vec::new();
    assert_eq!(write_mailing_csv(&mut csv, &rows, CsvEncoding::Utf8Bom).unwrap(), 5);
    let csv = String::from_utf8(csv).unwrap();
    let fifth: Vec<&str> = csv.lines().nth(5).unwrap().split(',').collect();
    assert_eq!(fifth[4], "架空 人5");
    assert_eq!(fifth[5], "C2");
    assert_eq!(fifth[7], "5");
    assert_eq!(fifth[9], "part-0003.pdf");
    assert_eq!(fifth[10], "1");
}
