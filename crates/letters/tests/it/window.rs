//! The recipient block lies inside the 長形3号 window and nothing else does: word boxes
//! from `pdftotext -bbox` (points, top-left origin) are checked against the window.

use crate::support::{letter, poppler, renderer, write_pdf};
use collabo_domain::programme::LetterKind;
use collabo_letters::layout::WINDOW;

struct Word {
    text: String,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

/// Words of each page, from pdftotext's HTML-like -bbox output.
fn words_by_page(pdf: &str) -> Vec<Vec<Word>> {
    let html = poppler("pdftotext", &["-bbox", pdf, "-"]);
    let attr = |line: &str, name: &str| -> f64 {
        let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + line[start..].find('"').unwrap();
        line[start..end].parse().unwrap()
    };
    let mut pages = Vec::new();
    for line in html.lines() {
        let line = line.trim();
        if line.starts_with("<page") {
            pages.push(Vec::new());
        } else if line.starts_with("<word") {
            let text_start = line.find('>').unwrap() + 1;
            let text_end = line.rfind("</word>").unwrap();
            pages.last_mut().unwrap().push(Word {
                text: line[text_start..text_end].to_owned(),
                x0: attr(line, "xMin"),
                y0: attr(line, "yMin"),
                x1: attr(line, "xMax"),
                y1: attr(line, "yMax"),
            });
        }
    }
    pages
}

#[test]
fn only_the_address_block_and_shinten_show_through_the_window() {
    let mut letters: Vec<_> = LetterKind::ALL
        .iter()
        .enumerate()
        .map(|(i, kind)| letter(*kind, i as u32 + 1, "山田 太郎"))
        .collect();
    // A long three-line address must shrink to fit, not spill out of the window.
    letters[4].recipient.address_lines = vec![
        "北海道札幌市中央区架空北一条西二十三丁目4番5号".into(),
        "架空グランドレジデンス札幌中央タワー".into(),
        "東棟1234号室　架空株式会社気付".into(),
    ];
    let refs: Vec<_> = letters.iter().collect();
    let batch = renderer().render_batch(&refs).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), "window.pdf", &batch.pdf);
    let pages = words_by_page(&pdf);
    let (wx0, wy0, wx1, wy1) = WINDOW.to_points();
    let health = [
        "HbA1c",
        "精密",
        "禁煙",
        "がん",
        "血糖",
        "検診",
        "健診",
        "受診",
        "喫煙",
        "糖尿",
        "血圧",
        "要精密検査",
        "再通知",
    ];

    for (i, placement) in batch.letters.iter().enumerate() {
        let words = &pages[placement.first_page - 1];
        let inside = |w: &Word| w.x0 >= wx0 && w.x1 <= wx1 && w.y0 >= wy0 && w.y1 <= wy1;
        let overlaps = |w: &Word| w.x0 < wx1 && w.x1 > wx0 && w.y0 < wy1 && w.y1 > wy0;

        let recipient = &letters[i].recipient;
        let mut allowed: Vec<String> = vec!["〒100-0001".into(), "親展".into(), "様".into()];
        allowed.extend(recipient.name.split_whitespace().map(str::to_owned));
        for line in &recipient.address_lines {
            allowed.extend(line.split_whitespace().map(str::to_owned));
        }
        let address_text: String = recipient.address_lines.concat().replace(' ', "");

        let in_window: Vec<&Word> = words.iter().filter(|w| overlaps(w)).collect();
        assert!(!in_window.is_empty(), "letter {i}: nothing in the window");
        for word in &in_window {
            assert!(
                inside(word),
                "letter {i}: {:?} crosses the window edge",
                word.text
            );
            let known =
                allowed.contains(&word.text) || address_text.contains(&word.text.replace('　', ""));
            assert!(
                known,
                "letter {i}: {:?} shows through the window",
                word.text
            );
            for term in health {
                assert!(!word.text.contains(term), "letter {i}: {term} in window");
            }
        }
        let seen = |text: &str| in_window.iter().any(|w| w.text == text);
        assert!(
            seen("山田") && seen("太郎") && seen("様"),
            "letter {i}: name in window"
        );
        assert!(
            seen("〒100-0001") && seen("親展"),
            "letter {i}: 〒 and 親展 in window"
        );
        let window_text: String = in_window.iter().map(|w| w.text.as_str()).collect();
        assert!(
            window_text
                .replace('　', "")
                .contains(&address_text.replace('　', "")),
            "letter {i}: whole address in window: {window_text}"
        );
        // Health words exist on the page, just not in the window.
        assert!(
            words
                .iter()
                .any(|w| health.iter().any(|t| w.text.contains(t)))
        );
    }
}
