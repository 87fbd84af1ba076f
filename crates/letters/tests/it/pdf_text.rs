//! Every letter kind in one batch PDF: the text poppler extracts has the person's name
//! and address, the values, the 和暦 date and the letter's title, each on its own pages;
//! fonts are embedded subsets.

use crate::support::{letter, page_text, pdf_pages, poppler, renderer, row, squeeze, write_pdf};
use collabo_domain::programme::LetterKind;

#[test]
fn each_letter_of_a_batch_shows_its_person_values_date_and_kind() {
    // 𠮷 (outside the BMP) and 髙﨑 (CP932 extensions) must print, not fall to tofu.
    let names = [
        "山田 太郎",
        "佐藤 花子",
        "鈴木 一郎",
        "髙﨑 由美",
        "𠮷田 健",
    ];
    let titles = [
        "健診結果に基づく受診のおすすめ",
        "禁煙治療のご案内",
        "医療機関受診のおすすめ（血糖）",
        "精密検査受診のお願い",
        "精密検査受診のお願い（再通知）",
    ];
    let mut letters: Vec<_> = LetterKind::ALL
        .iter()
        .zip(names)
        .enumerate()
        .map(|(i, (kind, name))| letter(*kind, i as u32 + 1, name))
        .collect();
    // Issue 12: each value prints its level in words (すぐに受診 beside 要受診).
    let mut urgent = row("収縮期血圧", "171", "mmHg", "140以上");
    urgent.level = "すぐに受診を".into();
    letters[0].values = vec![urgent, row("中性脂肪", "512", "mg/dL", "300以上")];
    // Issue 12: where the 共同利用 declaration is published, only while one is in force.
    letters[1].sender.joint_use = String::new();
    letters[2].values = vec![row("HbA1c（NGSP値）", "8.1", "%", "6.5以上")];
    letters[1].recipient.address_lines = vec!["大阪府大阪市北区架空五丁目6番7号".into()];
    letters[1].recipient.postal_code = "5300001".into();
    // Data is text, never typst markup: nothing here may be interpreted.
    let markup = "架空ハイツ#set *B* $x$ <a> \\ 2号";
    letters[3].recipient.address_lines[1] = markup.into();
    let refs: Vec<_> = letters.iter().collect();
    let batch = renderer().render_batch(&refs).unwrap();
    assert_eq!(batch.letters.len(), 5);

    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), "batch.pdf", &batch.pdf);
    let pages: usize = batch.letters.iter().map(|p| p.pages).sum();
    assert_eq!(pdf_pages(&pdf), pages);
    let info = poppler("pdfinfo", &[&pdf]);
    assert!(
        info.contains("595.276 x 841.89 pts (A4)"),
        "A4 portrait: {info}"
    );

    for (i, placement) in batch.letters.iter().enumerate() {
        let last = placement.first_page + placement.pages - 1;
        let text = page_text(&pdf, placement.first_page, last);
        let flat = squeeze(&text);
        assert!(
            flat.contains(&squeeze(names[i])),
            "name of letter {i}: {text}"
        );
        assert!(
            flat.contains(&squeeze(titles[i])),
            "title of letter {i}: {text}"
        );
        for line in &letters[i].recipient.address_lines {
            assert!(
                flat.contains(&squeeze(line)),
                "address of letter {i}: {text}"
            );
        }
        assert!(flat.contains("親展"));
        assert!(flat.contains("令和8年11月24日"), "issue date of letter {i}");
        assert!(flat.contains("令和8年6月5日"), "exam date of letter {i}");
        // No other letter's person on these pages.
        for (j, other) in names.iter().enumerate() {
            if j != i {
                assert!(!flat.contains(&squeeze(other)), "letter {i} shows {other}");
            }
        }
    }
    let text = |i: usize| {
        let p = batch.letters[i];
        squeeze(&page_text(&pdf, p.first_page, p.first_page + p.pages - 1))
    };
    let risk = text(0);
    assert!(
        risk.contains("収縮期血圧171mmHg140以上すぐに受診を"),
        "{risk}"
    );
    assert!(risk.contains("中性脂肪512mg/dL300以上要受診"), "{risk}");
    assert!(
        risk.contains(&squeeze("で公表しています")) && risk.contains("共同利用"),
        "{risk}"
    );
    assert!(!text(1).contains("で公表しています"), "{}", text(1));
    assert!(text(1).contains("〒530-0001"));
    assert!(text(2).contains("HbA1c（NGSP値）8.1%6.5以上"));
    assert!(text(3).contains("大腸がん検診"));
    assert!(
        text(3).contains(&squeeze(markup)),
        "markup printed literally: {}",
        text(3)
    );
    assert!(
        text(4).contains("令和8年7月15日"),
        "C2 names the first notice"
    );

    // Fonts are embedded as subsets; no reliance on the viewer's fonts.
    let fonts = poppler("pdffonts", &[&pdf]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty());
    for font in rows {
        let columns: Vec<&str> = font.split_whitespace().collect();
        let n = columns.len();
        assert_eq!(
            &columns[n - 5..n - 3],
            &["yes", "yes"],
            "embedded subset: {font}"
        );
    }
}
