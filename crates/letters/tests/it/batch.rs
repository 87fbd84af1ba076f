//! A batch written to a directory: part files of bounded size, per-letter PDFs, page
//! placements that match the PDFs, and the mailing CSV built from them.

use crate::support::{letter, pdf_pages, poppler, renderer, row, squeeze};
use collabo_domain::programme::LetterKind;
use collabo_letters::{BatchOptions, CsvEncoding, EnvelopePlace, MailingRow, write_mailing_csv};

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
    assert_eq!(fifth[6], "1", "one notice in the envelope");
    assert_eq!(fifth[8], "5");
    assert_eq!(fifth[10], "part-0003.pdf");
    assert_eq!(fifth[11], "1");
    assert_eq!(fifth[13], "", "not 差止");
}

#[test]
fn one_persons_notices_share_an_envelope_with_one_address_block_and_one_reference() {
    // Person 1: a 胃 and a 子宮頸 re-notice in one envelope; person 2: one notice.
    let mut stomach = letter(LetterKind::CancerRenotice, 1, "架空 花子");
    stomach.reference = "B20261124-01-00001".into();
    stomach.envelope = EnvelopePlace {
        position: 1,
        count: 2,
    };
    let mut cervical = stomach.clone();
    cervical.cancer_type = Some("子宮頸がん検診".into());
    cervical.envelope = EnvelopePlace {
        position: 2,
        count: 2,
    };
    let other = letter(LetterKind::SmokingCessation, 2, "架空 次郎");
    let out = tempfile::tempdir().unwrap();
    let options = BatchOptions {
        letters_per_part: 1,
        per_letter_pdfs: true,
    };
    let letters = vec![stomach.clone(), cervical.clone(), other];
    let manifest = renderer()
        .write_batch(letters.clone(), out.path(), &options)
        .unwrap();
    assert_eq!(manifest.letters.len(), 2, "two envelopes");
    assert_eq!(
        manifest.parts.len(),
        2,
        "one envelope per part: the pair is not split"
    );
    let pair = &manifest.letters[0];
    assert_eq!((pair.notices, pair.part), (2, 0));
    assert_eq!(pair.placement.pages, 2);
    let part = manifest.parts[0].to_str().unwrap();
    assert_eq!(pdf_pages(part), 2);
    let first = squeeze(&poppler("pdftotext", &["-f", "1", "-l", "1", part, "-"]));
    let second = squeeze(&poppler("pdftotext", &["-f", "2", "-l", "2", part, "-"]));
    assert!(
        first.contains("架空花子") && first.contains("親展"),
        "{first}"
    );
    assert!(
        !second.contains("親展") && !second.contains("様"),
        "the second notice has no address block: {second}"
    );
    assert!(second.contains("同封の通知（2/2）"), "{second}");
    assert!(second.contains("子宮頸がん検診"), "{second}");
    assert!(
        first.contains("1/2") && second.contains("2/2"),
        "pages numbered per envelope"
    );
    for page in [&first, &second] {
        assert_eq!(
            page.matches("B20261124-01-00001").count(),
            2,
            "one 整理番号 (sender block, footer; enclosure line, footer): {page}"
        );
    }
    let single = pair.pdf.as_ref().unwrap();
    assert_eq!(
        pdf_pages(single.to_str().unwrap()),
        2,
        "the reprint PDF is the envelope"
    );
    let part_name = |i: usize| {
        manifest.parts[manifest.letters[i].part]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let rows = [
        MailingRow::envelope(
            &[&letters[0], &letters[1]],
            &manifest.letters[0],
            &part_name(0),
        )
        .unwrap(),
        MailingRow::envelope(&[&letters[2]], &manifest.letters[1], &part_name(1)).unwrap(),
    ];
    let mut csv = Vec::new();
    write_mailing_csv(&mut csv, &rows, CsvEncoding::Utf8Bom).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let line: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!((line[5], line[6], line[12]), ("C2+C2", "2", "2"));
}
