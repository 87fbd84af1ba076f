//! Helpers: build UKE bytes (CP932, CR+LF) from text lines, and read them back.

use collabo_claims::{ClaimsError, FileSummary, GroupMap, ReducedClaim, read_all};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The built-in map, built once.
pub fn map() -> &'static GroupMap {
    static MAP: OnceLock<GroupMap> = OnceLock::new();
    MAP.get_or_init(|| GroupMap::builtin().expect("builtin map"))
}

/// Encodes lines as CP932 joined by CR+LF (with a final CR+LF).
pub fn uke(lines: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(line);
        assert!(!unmappable, "test line not CP932: {line}");
        out.extend_from_slice(&bytes);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads UKE bytes.
pub fn read(bytes: &[u8]) -> Result<(Vec<ReducedClaim>, FileSummary), ClaimsError> {
    read_all(bytes, Path::new("TEST.UKE"), map())
}

/// The test data directory.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// 31 day columns with a count on the given days.
pub fn days(on: &[u8]) -> String {
    (1..=31u8)
        .map(|d| if on.contains(&d) { "1" } else { "" })
        .collect::<Vec<_>>()
        .join(",")
}

/// An SI line (44 fields).
pub fn si(code: &str, on: &[u8]) -> String {
    format!("SI,60,1,{code},,100,{},,,,,,,{}", on.len(), days(on))
}

/// An SI line with a comment code in its first comment field.
pub fn si_with_comment(code: &str, comment: &str, on: &[u8]) -> String {
    format!(
        "SI,70,1,{code},,100,{},{comment},,,,,,{}",
        on.len(),
        days(on)
    )
}

/// An IY line (44 fields).
pub fn iy(code: &str, on: &[u8]) -> String {
    format!("IY,21,1,{code},1,10,{},,,,,,,{}", on.len(), days(on))
}

/// A one-claim 医科 file (西暦, 診療年月 2026-06, 請求年月 2026-07) around `body`.
pub fn one_claim(body: &[String]) -> Vec<String> {
    let mut lines = vec![
        "IR,1,13,1,1234567,,テスト医院,202607,00,0300000000".to_owned(),
        "RE,1,1112,202606,テスト　タロウ,1,19800101,,,,,,,1,,,,,,,,,,,,,,,,,,,,,,,テストタロウ,"
            .to_owned(),
        "HO,06130123,１０１,４２,2,500,,,,,,,,,".to_owned(),
        "SN,1,01,,,,00,,".to_owned(),
        // 再診料 on day 3: the routine visit that opens the month.
        si("112007410", &[3]),
    ];
    lines.extend(body.iter().cloned());
    lines.push("GO,1,500,99".to_owned());
    lines
}

/// Reads a one-claim file and returns the claim.
pub fn reduce(body: &[String]) -> ReducedClaim {
    let (claims, summary) = read(&uke(&one_claim(body))).expect("readable");
    assert_eq!(summary.claims, 1);
    assert_eq!(claims.len(), 1);
    claims.into_iter().next().expect("one claim")
}
