//! A batch written to a directory: part files of bounded size, per-letter PDFs, page
//! placements that match the PDFs, and the mailing CSV built from them.

use crate::support::{letter, pdf_pages, poppler, renderer, row, squeeze};
use collabo_domain::programme::LetterKind;
use collabo_letters::{BatchOptions, CsvEncoding, MailingRow, write_mailing_csv};

#[test]
fn a_batch_is_split_into_parts_with_placements_and_a_mailing_list() {
    let mut letters: Vec<_> = (1..=5)
        .map(|n| {
            letter(
                LetterKind::ALL[(n as usize - 1) % 5],
                n,
                &format!("架空 人{n}"),
            )
        })
        .collect();
    // Letter 3 (D) gets so many rows that it runs to a second page.
    letters[2].values = (1..=40)
        .map(|i| row(&format!("検査項目{i}"), &format!("{i}.5"), "mg/dL", "1以上"))
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
        let pages = pdf_pages(part.to_str().unwrap());
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
    let long = &manifest.letters[2];
    assert_eq!(long.placement.pages, 2, "40 rows run to a second page");
    let part = manifest.parts[long.part].to_str().unwrap();
    let first = long.placement.first_page.to_string();
    let second = (long.placement.first_page + 1).to_string();
    let page_one = poppler(
        "pdftotext",
        &["-layout", "-f", &first, "-l", &first, part, "-"],
    );
    let page_two = poppler(
        "pdftotext",
        &["-layout", "-f", &second, "-l", &second, part, "-"],
    );
    assert!(
        squeeze(&page_one).contains("1/2") && squeeze(&page_two).contains("2/2"),
        "{page_two}"
    );
    assert!(page_two.contains("検査項目40"));
    let single_page = manifest.letters[1].placement;
    assert_eq!(single_page.pages, 1);
    let part = manifest.parts[manifest.letters[1].part].to_str().unwrap();
    let page = single_page.first_page.to_string();
    let text = poppler(
        "pdftotext",
        &["-layout", "-f", &page, "-l", &page, part, "-"],
    );
    assert!(
        !squeeze(&text).contains("1/1"),
        "no page numbers on a one-page letter"
    );
    for (placed, letter) in manifest.letters.iter().zip(&letters) {
        assert_eq!(placed.sequence, letter.sequence);
        let single = placed.pdf.as_ref().unwrap();
        let text = poppler("pdftotext", &["-layout", single.to_str().unwrap(), "-"]);
        assert!(
            text.contains(&letter.recipient.name),
            "{}",
            single.display()
        );
    }

    let rows: Vec<MailingRow> = manifest
        .letters
        .iter()
        .zip(&letters)
        .map(|(placed, letter)| {
            let part = manifest.parts[placed.part]
                .file_name()
                .unwrap()
                .to_string_lossy();
            MailingRow::placed(letter, placed, &part)
        })
        .collect();
    let mut csv = Vec::new();
    assert_eq!(
        write_mailing_csv(&mut csv, &rows, CsvEncoding::Utf8Bom).unwrap(),
        5
    );
    let csv = String::from_utf8(csv).unwrap();
    let fifth: Vec<&str> = csv.lines().nth(5).unwrap().split(',').collect();
    assert_eq!(fifth[4], "架空 人5");
    assert_eq!(fifth[5], "C2");
    assert_eq!(fifth[7], "5");
    assert_eq!(fifth[9], "part-0003.pdf");
    assert_eq!(fifth[10], "1");
}
