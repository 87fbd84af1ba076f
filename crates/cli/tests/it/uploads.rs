//! Forgiving, precise uploads through the binary (issue 13): abbreviated 和暦 and Excel
//! serials taken, the physical line of a CRLF file named, a title row skipped, a file of
//! the wrong form named as such, a missing file said once.

use super::{collabo, count, db, setup, text};
use std::path::Path;

fn import_list(dir: &Path, path: &Path) -> std::process::Output {
    collabo(
        dir,
        &[
            "--date",
            "2025-07-10",
            "import",
            "referrals",
            path.to_str().unwrap(),
            "--employer",
            "1001",
        ],
    )
}

/// Shift_JIS with CRLF, as office Excel saves a CSV: a title row and a blank line above
/// the header, dates as Excel shows them.
fn office_csv(rows: &[&str]) -> Vec<u8> {
    let mut lines = vec![
        "要精密検査者リスト（令和7年6月実施分）",
        "",
        "記号,番号,枝番,氏名,生年月日,がん検診の種類,検診実施年月日,同意",
    ];
    lines.extend_from_slice(rows);
    let text = lines.join("\r\n") + "\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[tokio::test]
async fn an_error_on_line_n_of_a_crlf_file_says_line_n_and_abbreviated_wareki_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let o = collabo(dir.path(), &["agreement", "apply", "--employer", "1001"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = collabo(
        dir.path(),
        &["--date", "2025-04-01", "agreement", "sign", "1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let path = dir.path().join("list.csv");
    std::fs::write(
        &path,
        office_csv(&[
            "1001,1,00,髙橋　花子,S50.3.3,胃,R7.6.5,1",
            "1001,2,00,佐藤　恵子,S43.8.20,大腸,R7.6.31,1",
        ]),
    )
    .unwrap();
    let o = import_list(dir.path(), &path);
    assert!(!o.status.success());
    let out = text(&o);
    assert!(
        out.contains("5行目 「検診実施年月日」: 「R7.6.31」という日付はありません"),
        "{out}"
    );
    assert!(
        out.contains("（1001-2-00 佐藤　恵子）"),
        "the person is named: {out}"
    );
    assert!(!out.contains("4行目"), "the good row has no problem: {out}");
    assert!(!out.contains("expected") && !out.contains("/tmp"), "{out}");

    // Corrected (an Excel serial for the date, as a cell that lost its format shows it):
    // both rows are stored.
    std::fs::write(
        &path,
        office_csv(&[
            "1001,1,00,髙橋　花子,S50.3.3,胃,R7.6.5,1",
            "1001,2,00,佐藤　恵子,S43.8.20,大腸,45813,1",
        ]),
    )
    .unwrap();
    let o = import_list(dir.path(), &path);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("登録 2"), "{}", text(&o));
    let pool = db(&dir.path().join("collabo.sqlite")).await;
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM referrals WHERE screening_date = '2025-06-05'"
        )
        .await,
        2
    );
    pool.close().await;
}

#[tokio::test]
async fn a_checkup_archive_given_as_a_list_is_named_and_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let path = dir.path().join("健診結果.zip");
    std::fs::write(&path, b"PK\x03\x04\x14\x00\x00\x00\x08\x00DATA/h0001.xml").unwrap();
    let o = import_list(dir.path(), &path);
    assert!(!o.status.success());
    let out = text(&o);
    assert!(
        out.contains("健診結果.zip はこの提出の様式ではありません。特定健診結果のファイル"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "one message: {out}");
    let pool = db(&dir.path().join("collabo.sqlite")).await;
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'import.rejected'"
        )
        .await,
        1,
        "the refusal is audited"
    );
    pool.close().await;
}

#[tokio::test]
async fn a_missing_file_is_said_once_in_japanese_and_its_refusal_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let missing = dir.path().join("ない.csv");
    let kinds = ["members", "claims", "checkups", "consents"];
    for kind in kinds {
        let o = collabo(dir.path(), &["import", kind, missing.to_str().unwrap()]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        // The file is named as messages name it (no folder), once.
        assert_eq!(
            err.trim(),
            "エラー: ない.csv を読めません（ファイルが見つかりません）。",
            "{kind}"
        );
    }
    let o = collabo(
        dir.path(),
        &[
            "import",
            "referrals",
            "--employer",
            "1001",
            missing.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    // Refused inside the door: each attempt has its audit record naming the file.
    let pool = db(&dir.path().join("collabo.sqlite")).await;
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'import.rejected' AND detail LIKE '%ない.csv%'"
        )
        .await,
        kinds.len() as i64 + 1,
    );
    pool.close().await;
}
