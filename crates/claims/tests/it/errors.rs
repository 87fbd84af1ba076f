//! Bad input: every error is fatal for the file and names file, line and field.

use crate::common::*;
use collabo_claims::ClaimsError;

fn replace(lines: &mut [String], prefix: &str, with: &str) {
    let i = lines.iter().position(|l| l.starts_with(prefix)).unwrap();
    lines[i] = with.to_owned();
}

#[test]
fn malformed_service_month_names_line_and_field() {
    let mut lines = one_claim(&[]);
    replace(
        &mut lines,
        "RE",
        "RE,1,1112,2026AB,テスト,1,19800101,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,テスト,",
    );
    let err = read(&uke(&lines)).unwrap_err();
    match &err {
        ClaimsError::Field {
            line,
            record,
            index,
            field,
            ..
        } => {
            assert_eq!(
                (*line, record.as_str(), *index, *field),
                (2, "RE", 3, "診療年月")
            );
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().starts_with("TEST.UKE:2:"), "{err}");
    assert_eq!(err.line(), Some(2));
}

#[test]
fn malformed_birth_date_and_sex() {
    let mut lines = one_claim(&[]);
    replace(
        &mut lines,
        "RE",
        "RE,1,1112,202606,テスト,1,19800231,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,テスト,",
    );
    assert!(matches!(
        read(&uke(&lines)),
        Err(ClaimsError::Field {
            field: "生年月日",
            ..
        })
    ));
    replace(
        &mut lines,
        "RE",
        "RE,1,1112,202606,テスト,3,19800101,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,テスト,",
    );
    assert!(matches!(
        read(&uke(&lines)),
        Err(ClaimsError::Field {
            field: "男女区分",
            ..
        })
    ));
}

#[test]
fn malformed_day_count_and_impossible_day() {
    let lines = one_claim(&["SI,60,1,160010010,,49,1,,,,,,,x".into()]);
    match read(&uke(&lines)).unwrap_err() {
        ClaimsError::Field { line, index, .. } => assert_eq!((line, index), (6, 13)),
        other => panic!("unexpected {other}"),
    }
    // 31 June does not exist.
    let lines = one_claim(&[si("160010010", &[31])]);
    assert!(matches!(
        read(&uke(&lines)),
        Err(ClaimsError::Field { index: 43, .. })
    ));
}

#[test]
fn malformed_diagnosis_start_date() {
    let lines = one_claim(&["SY,2500015,2026013,1,,,01,".into()]);
    assert!(matches!(
        read(&uke(&lines)),
        Err(ClaimsError::Field {
            field: "診療開始日",
            index: 2,
            ..
        })
    ));
}

#[test]
fn truncated_files_are_refused() {
    // No GO.
    let mut lines = one_claim(&[]);
    lines.pop();
    assert!(matches!(
        read(&uke(&lines)),
        Err(ClaimsError::Truncated { .. })
    ));
    // Cut in the middle of a line.
    let bytes = uke(&one_claim(&[si("160010010", &[3])]));
    let cut = &bytes[..bytes.len() - 30];
    match read(cut).unwrap_err() {
        ClaimsError::Truncated { line, .. } => assert_eq!(line, 6),
        other => panic!("unexpected {other}"),
    }
    // Empty.
    assert!(matches!(read(b""), Err(ClaimsError::Truncated { .. })));
    // Cut inside the GO record.
    let bytes = uke(&one_claim(&[]));
    assert!(matches!(
        read(&bytes[..bytes.len() - 4]),
        Err(ClaimsError::Truncated { .. })
    ));
    // A complete final GO without its CR+LF is accepted with a note.
    let (claims, summary) = read(&bytes[..bytes.len() - 2]).unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(summary.notes.len(), 1);
}

#[test]
fn broken_shift_jis_names_the_field() {
    let mut bytes = uke(&one_claim(&[]));
    // Put an invalid lead byte into HO 記号 (line 3, field 2).
    let ho = bytes.windows(3).position(|w| w == b"HO,").unwrap();
    let at = ho + "HO,06130123,".len();
    bytes[at] = 0xFF;
    match read(&bytes).unwrap_err() {
        ClaimsError::Encoding { line, field, .. } => assert_eq!((line, field), (3, Some(2))),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn detail_before_any_claim_is_a_structure_error() {
    let lines: Vec<String> = vec![
        "IR,1,13,1,1234567,,テスト医院,202607,00,0300000000".into(),
        "SY,2500015,20260101,1,,,01,".into(),
        "GO,0,0,99".into(),
    ];
    assert!(matches!(
        read(&uke(&lines)),
        Err(ClaimsError::Structure { line: 2, .. })
    ));
}

#[test]
fn reader_stops_after_the_first_error() {
    let lines = one_claim(&["SY,2500015,20261399,1,,,01,".into()]);
    let bytes = uke(&lines);
    let mut reader =
        collabo_claims::ClaimReader::new(&bytes[..], std::path::Path::new("TEST.UKE"), map());
    assert!(matches!(reader.next(), Some(Err(_))));
    assert!(reader.next().is_none());
}

#[test]
fn invalid_insurer_number_is_an_error() {
    let mut lines = one_claim(&[]);
    replace(&mut lines, "HO", "HO,0613A123,101,42,1,500,,,,,,,,,");
    assert!(matches!(
        read(&uke(&lines)),
        Err(ClaimsError::Field {
            field: "保険者番号",
            ..
        })
    ));
}
