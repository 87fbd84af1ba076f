//! Masters as replaceable data: GroupMap::load_dir on 支払基金-shaped master files and on
//! the derived tables, and persistence through rows.

use collabo_claims::{GroupMap, MapKind};
use std::path::Path;

/// A 傷病名マスター row (46 quoted columns, CP932) with ICD-10 in columns 16/17.
fn b_row(code: &str, name: &str, icd1: &str, icd2: &str, listed: &str) -> String {
    let mut cols = vec![String::new(); 46];
    cols[0] = "3".into();
    cols[1] = "B".into();
    cols[2] = code.into();
    cols[5] = name.into();
    cols[15] = icd1.into();
    cols[16] = icd2.into();
    cols[21] = listed.into();
    cols[23] = "99999999".into();
    cols.iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(",")
}

fn write_cp932(path: &Path, lines: &[String]) {
    let text = lines.join("\r\n") + "\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn disease_master_is_mapped_through_icd10_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    write_cp932(
        &dir.path().join("b_20270101.txt"),
        &[
            b_row("9999001", "新しい２型糖尿病", "E119", "", "20270101"),
            b_row("9999002", "新しい糖尿病性腎症", "N189", "E112", ""),
            b_row("9999003", "かぜ", "J00", "", "20270101"),
            b_row("9999004", "胃の新病変", "K317", "", "20270101"),
        ],
    );
    let map = GroupMap::load_dir(dir.path()).unwrap();
    assert_eq!(map.groups_of(MapKind::Diagnosis, "9999001"), ["diabetes"]);
    assert_eq!(
        map.groups_of(MapKind::Diagnosis, "9999002"),
        ["ckd", "diabetes", "diabetic_nephropathy"]
    );
    assert!(map.groups_of(MapKind::Diagnosis, "9999003").is_empty());
    assert_eq!(
        map.groups_of(MapKind::Diagnosis, "9999004"),
        ["finding_stomach"]
    );
    // valid_from: 収載年月日, else the master's date from its file name.
    let row = map.rows().iter().find(|r| r.code == "9999001").unwrap();
    assert_eq!(
        row.valid_from,
        Some(jiff::civil::Date::constant(2027, 1, 1))
    );
    let row = map.rows().iter().find(|r| r.code == "9999002").unwrap();
    assert_eq!(
        row.valid_from,
        Some(jiff::civil::Date::constant(2027, 1, 1))
    );
    // Only diagnoses were given.
    assert_eq!(map.len(MapKind::Procedure), 0);
}

#[test]
fn custom_prefixes_change_the_definition() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("condition_icd10_prefixes.csv"),
        "condition_id,name_ja,role,icd10_prefixes,note\ncold,かぜ,diagnosis,J00,\n",
    )
    .unwrap();
    write_cp932(
        &dir.path().join("b_20270101.txt"),
        &[
            b_row("9999003", "かぜ", "J00", "", "20270101"),
            b_row("9999001", "糖尿病", "E14", "", ""),
        ],
    );
    let map = GroupMap::load_dir(dir.path()).unwrap();
    assert_eq!(map.groups_of(MapKind::Diagnosis, "9999003"), ["cold"]);
    assert!(map.groups_of(MapKind::Diagnosis, "9999001").is_empty());
}

#[test]
fn drug_master_is_mapped_by_yj_code() {
    let dir = tempfile::tempdir().unwrap();
    let row = |code: &str, yj: &str| {
        let mut cols = vec![String::new(); 40];
        cols[0] = "0".into();
        cols[1] = "Y".into();
        cols[2] = code.into();
        cols[31] = yj.into();
        cols.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    write_cp932(
        &dir.path().join("y_ALL20270101.csv"),
        &[
            row("629999901", "3969999F1020"),
            row("629999902", "2492700R1022"),
            row("629999903", "1149019F1560"),
        ],
    );
    let map = GroupMap::load_dir(dir.path()).unwrap();
    assert_eq!(map.groups_of(MapKind::Drug, "629999901"), ["diabetes_drug"]);
    assert!(map.groups_of(MapKind::Drug, "629999902").is_empty());
    assert!(map.groups_of(MapKind::Drug, "629999903").is_empty());
}

/// ウゴービ (semaglutide for obesity) shares YJ 2499418 with オゼンピック; its codes in
/// y_ALL20240321.csv are 629927101–629927501 (YJ 2499418G5023–G9029). ゼップバウンド
/// (tirzepatide for obesity) is newer than that master: its row here is made up (code
/// 629999920) and carries the マンジャロ YJ stem, so only the name tells it. Varenicline
/// (チャンピックス, YJ 7990003) is a smoking-cessation drug. Source: issue 12.
#[test]
fn obesity_only_glp1_products_are_not_diabetes_drugs_and_varenicline_is_cessation() {
    let dir = tempfile::tempdir().unwrap();
    let row = |code: &str, name: &str, yj: &str| {
        let mut cols = vec![String::new(); 40];
        cols[0] = "0".into();
        cols[1] = "Y".into();
        cols[2] = code.into();
        cols[4] = name.into();
        cols[31] = yj.into();
        cols.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    write_cp932(
        &dir.path().join("y_ALL20250401.csv"),
        &[
            row(
                "629927501",
                "ウゴービ皮下注２．４ｍｇ　ＳＤ　０．７５ｍＬ",
                "2499418G9029",
            ),
            row(
                "629907701",
                "オゼンピック皮下注０．２５ｍｇ　ＳＤ　０．５ｍＬ",
                "2499418G1028",
            ),
            row(
                "629999920",
                "ゼップバウンド皮下注２．５ｍｇアテオス",
                "2499422G7020",
            ),
            row(
                "622931301",
                "マンジャロ皮下注２．５ｍｇアテオス　０．５ｍＬ",
                "2499422G1024",
            ),
            row("620006777", "チャンピックス錠１ｍｇ", "7990003F2024"),
        ],
    );
    let map = GroupMap::load_dir(dir.path()).unwrap();
    assert!(map.groups_of(MapKind::Drug, "629927501").is_empty());
    assert!(map.groups_of(MapKind::Drug, "629999920").is_empty());
    assert_eq!(map.groups_of(MapKind::Drug, "629907701"), ["diabetes_drug"]);
    assert_eq!(map.groups_of(MapKind::Drug, "622931301"), ["diabetes_drug"]);
    assert_eq!(
        map.groups_of(MapKind::Drug, "620006777"),
        ["smoking_cessation_drug"]
    );
}

#[test]
fn derived_tables_in_a_directory_equal_the_builtin_map() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    for entry in std::fs::read_dir(&data).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let loaded = GroupMap::load_dir(dir.path()).unwrap();
    let builtin = GroupMap::builtin().unwrap();
    assert_eq!(loaded.rows(), builtin.rows());
    assert!(builtin.rows().len() > 1500);
}

#[test]
fn an_empty_directory_and_a_bad_table_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(GroupMap::load_dir(dir.path()).is_err());
    std::fs::write(
        dir.path().join("followup_procedure_codes.csv"),
        "target,evidence,区分番号,診療行為コード,省略名称,点数,note\nstomach,strong,D308,16009381X,x,1,\n",
    )
    .unwrap();
    let err = GroupMap::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("followup_procedure_codes.csv:2"), "{err}");
}

#[test]
fn rows_serialise_and_rebuild_the_map() {
    let map = GroupMap::builtin().unwrap();
    let json = serde_json_like(map.rows());
    assert!(json.contains("stomach_exam"));
    let rebuilt = GroupMap::from_rows(map.rows().iter().cloned()).unwrap();
    assert_eq!(
        rebuilt.groups_of(MapKind::Procedure, "160094910"),
        ["colorectal_exam"]
    );
}

/// The rows are plain data: kind code, code, group, date.
fn serde_json_like(rows: &[collabo_claims::GroupRow]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "{},{},{},{:?}",
                r.kind.code(),
                r.code,
                r.group,
                r.valid_from
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
