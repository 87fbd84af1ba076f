//! The MHLW item tables (XMLhc18tab 第3期, XMLhc24tab 第4期, XMLhc24ext) as embedded data,
//! and the mapping from 17-digit item codes to what Collabo uses.
//!
//! Only the codes programmes judge are mapped (see [`classify`]); every other code in the
//! tables is "known but unused", and a code in no table is "unknown". Neither is dropped:
//! the readers keep both on the record and count them in the report. This module does
//! not interpret values; `cda` and `layout` do.

use collabo_domain::checkup::Item;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The item table, trimmed to code, periods, XML type, result OID and display name.
/// Generated from `shared/reference/tokutei` (see README.md in this crate).
const ITEMS_CSV: &str = include_str!("../data/items.csv");

/// OID of the 第3期 yes/no answer list (1 はい, 2 いいえ), also used for 服薬 in both periods.
pub const OID_YES_NO: &str = "1.2.392.200119.6.2003";
/// OID of the 第4期 smoking answer list (1 はい, 2 最近1か月は吸っていない, 3 いいえ).
pub const OID_SMOKING_2024: &str = "1.2.392.200119.6.24060";
/// OID of the qualitative results list (1 −, 2 ±, 3 +, 4 ++, 5 +++).
pub const OID_QUALITATIVE: &str = "1.2.392.200119.6.2102";
/// OID of 採血時間(食後): 2 食後10時間以上, 3 3.5時間以上10時間未満, 4 3.5時間未満 (legacy 1).
pub const OID_DRAW_TIMING: &str = "1.2.392.200119.6.2202";
/// HL7 ObservationInterpretation, used for the H/L flag beside an out-of-range value.
pub const OID_INTERPRETATION: &str = "2.16.840.1.113883.5.83";

/// One row of the embedded table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableItem {
    /// 17-digit item code.
    pub code: &'static str,
    /// In the 第3期 table (FY2018–2023).
    pub period3: bool,
    /// In the 第4期 table (FY2024–).
    pub period4: bool,
    /// XML data type: PQ, CD, CO or ST.
    pub xml_type: &'static str,
    /// XML表示名.
    pub name: &'static str,
}

fn table() -> &'static HashMap<&'static str, TableItem> {
    static TABLE: OnceLock<HashMap<&'static str, TableItem>> = OnceLock::new();
    TABLE.get_or_init(|| {
        ITEMS_CSV
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .filter_map(|line| {
                let mut fields = line.splitn(5, ',');
                let code = fields.next()?;
                let periods = fields.next()?;
                let xml_type = fields.next()?;
                let _oid = fields.next()?;
                let name = fields.next()?;
                Some((
                    code,
                    TableItem {
                        code,
                        period3: periods.contains('3'),
                        period4: periods.contains('4'),
                        xml_type,
                        name,
                    },
                ))
            })
            .collect()
    })
}

/// Looks a 17-digit code up in the embedded tables.
pub fn lookup(code: &str) -> Option<TableItem> {
    table().get(code).copied()
}

/// Which blood-pressure reading an item code carries (XML検査方法 1回目 / 2回目 / その他).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BpReading {
    /// 1回目.
    First,
    /// 2回目.
    Second,
    /// その他: the value the institution reports when it did not record two readings
    /// separately (a single reading or its own mean).
    Other,
}

/// The questionnaire's medication items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medication {
    /// 服薬1 (血圧).
    BloodPressure,
    /// 服薬2 (血糖).
    Glucose,
    /// 服薬3 (脂質).
    Lipids,
}

/// What an item code means to Collabo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// A measurement that maps straight to one domain item.
    Measure(Item),
    /// 収縮期 (`systolic = true`) or 拡張期 blood pressure, one reading.
    BloodPressure {
        /// Systolic or diastolic.
        systolic: bool,
        /// Which reading.
        reading: BpReading,
    },
    /// 中性脂肪. `random_code` is the 第4期 随時 code; the other codes are 空腹時 in
    /// 第4期 but meant either in 第3期, where 採血時間 decides.
    Triglycerides {
        /// The code is one of the 随時中性脂肪 codes (V4.0).
        random_code: bool,
    },
    /// 採血時間(食後).
    DrawTiming,
    /// 喫煙.
    Smoking,
    /// 服薬1/2/3.
    Medication(Medication),
}

/// The code Collabo's writer uses for each item (the first method variant of the table).
pub fn canonical_code(item: Item) -> &'static str {
    match item {
        Item::Height => "9N001000000000001",
        Item::Weight => "9N006000000000001",
        Item::Bmi => "9N011000000000001",
        Item::Waist => "9N016160100000001",
        Item::SystolicBp => "9A755000000000001",
        Item::DiastolicBp => "9A765000000000001",
        Item::TriglyceridesFasting => "3F015000002327101",
        Item::TriglyceridesRandom => "3F015129902327101",
        Item::Hdl => "3F070000002327101",
        Item::Ldl => "3F077000002327101",
        Item::NonHdl => "3F069000002391901",
        Item::GlucoseFasting => "3D010000001926101",
        Item::GlucoseRandom => "3D010129901926101",
        Item::HbA1c => "3D046000001906202",
        Item::Ast => "3B035000002327201",
        Item::Alt => "3B045000002327201",
        Item::GammaGt => "3B090000002327101",
        Item::Creatinine => "3C015000002327101",
        Item::Egfr => "8A065000002391901",
        Item::UrineProtein => "1A010000000191111",
        Item::UrineGlucose => "1A020000000191111",
        Item::Haemoglobin => "2A030000001930101",
    }
}

/// 採血時間(食後) item code.
pub const CODE_DRAW_TIMING: &str = "9N141000000000011";
/// 喫煙 item code.
pub const CODE_SMOKING: &str = "9N736000000000011";
/// 服薬1 (血圧) item code.
pub const CODE_MED_BP: &str = "9N701000000000011";
/// 服薬2 (血糖) item code.
pub const CODE_MED_GLUCOSE: &str = "9N706000000000011";
/// 服薬3 (脂質) item code.
pub const CODE_MED_LIPIDS: &str = "9N711000000000011";

/// Maps a 17-digit item code to what Collabo does with it; `None` for codes Collabo
/// does not use (look those up with [`lookup`] to tell "known" from "unknown").
///
/// Method variants (HbA1c by 免疫/HPLC/酵素/その他, lipids by 可視/紫外/その他 吸光 …) all map
/// to one domain item; the reader keeps the exact code beside the observation.
/// See: shared/reference/tokutei/NOTES.md §4.1, §4.3.
pub fn classify(code: &str) -> Option<CodeKind> {
    use CodeKind::{BloodPressure, Measure, Triglycerides};
    Some(match code {
        "9N001000000000001" => Measure(Item::Height),
        "9N006000000000001" => Measure(Item::Weight),
        "9N011000000000001" => Measure(Item::Bmi),
        // 腹囲 実測 / 自己判定 / 自己申告.
        "9N016160100000001" | "9N016160200000001" | "9N016160300000001" => Measure(Item::Waist),
        "9A751000000000001" => BloodPressure {
            systolic: true,
            reading: BpReading::First,
        },
        "9A752000000000001" => BloodPressure {
            systolic: true,
            reading: BpReading::Second,
        },
        "9A755000000000001" => BloodPressure {
            systolic: true,
            reading: BpReading::Other,
        },
        "9A761000000000001" => BloodPressure {
            systolic: false,
            reading: BpReading::First,
        },
        "9A762000000000001" => BloodPressure {
            systolic: false,
            reading: BpReading::Second,
        },
        "9A765000000000001" => BloodPressure {
            systolic: false,
            reading: BpReading::Other,
        },
        CODE_DRAW_TIMING => CodeKind::DrawTiming,
        "3F015000002327101" | "3F015000002327201" | "3F015000002399901" => {
            Triglycerides { random_code: false }
        }
        "3F015129902327101" | "3F015129902327201" | "3F015129902399901" => {
            Triglycerides { random_code: true }
        }
        "3F070000002327101" | "3F070000002327201" | "3F070000002399901" => Measure(Item::Hdl),
        "3F077000002327101" | "3F077000002327201" | "3F077000002399901" | "3F077000002391901" => {
            Measure(Item::Ldl)
        }
        "3F069000002391901" => Measure(Item::NonHdl),
        "3D010000001926101" | "3D010000002227101" | "3D010000001927201" | "3D010000001999901" => {
            Measure(Item::GlucoseFasting)
        }
        "3D010129901926101" | "3D010129902227101" | "3D010129901927201" | "3D010129901999901" => {
            Measure(Item::GlucoseRandom)
        }
        "3D046000001906202" | "3D046000001920402" | "3D046000001927102" | "3D046000001999902" => {
            Measure(Item::HbA1c)
        }
        "3B035000002327201" | "3B035000002399901" => Measure(Item::Ast),
        "3B045000002327201" | "3B045000002399901" => Measure(Item::Alt),
        "3B090000002327101" | "3B090000002399901" => Measure(Item::GammaGt),
        "3C015000002327101" | "3C015000002399901" => Measure(Item::Creatinine),
        "8A065000002391901" => Measure(Item::Egfr),
        "1A010000000191111" | "1A010000000190111" => Measure(Item::UrineProtein),
        "1A020000000191111" | "1A020000000190111" => Measure(Item::UrineGlucose),
        "2A030000001930101" => Measure(Item::Haemoglobin),
        CODE_SMOKING => CodeKind::Smoking,
        CODE_MED_BP => CodeKind::Medication(Medication::BloodPressure),
        CODE_MED_GLUCOSE => CodeKind::Medication(Medication::Glucose),
        CODE_MED_LIPIDS => CodeKind::Medication(Medication::Lipids),
        _ => return None,
    })
}

/// The UCUM unit the writer puts on a PQ value of this item.
pub fn ucum_unit(item: Item) -> &'static str {
    match item {
        Item::Height | Item::Waist => "cm",
        Item::Weight => "kg",
        Item::Bmi => "kg/m2",
        Item::SystolicBp | Item::DiastolicBp => "mm[Hg]",
        Item::HbA1c => "%",
        Item::Ast | Item::Alt | Item::GammaGt => "U/L",
        Item::Egfr => "ml/min/1.73m2",
        Item::Haemoglobin => "g/dL",
        Item::UrineProtein | Item::UrineGlucose => "",
        _ => "mg/dL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPPED: &[&str] = &[
        "9N001000000000001",
        "9N016160300000001",
        "9A751000000000001",
        "9A765000000000001",
        "3F015000002399901",
        "3F015129902399901",
        "3F077000002391901",
        "3F069000002391901",
        "3D010129901999901",
        "3D046000001999902",
        "3B090000002399901",
        "8A065000002391901",
        "1A020000000190111",
        "2A030000001930101",
        CODE_DRAW_TIMING,
        CODE_SMOKING,
        CODE_MED_LIPIDS,
    ];

    #[test]
    fn every_mapped_code_is_in_an_mhlw_table() {
        for code in MAPPED {
            assert!(classify(code).is_some(), "{code} is not mapped");
            assert!(
                lookup(code).is_some(),
                "{code} is not in the embedded table"
            );
        }
        for item in Item::ALL {
            let code = canonical_code(item);
            assert!(
                lookup(code).is_some(),
                "{code} for {item:?} not in the table"
            );
            let kind = classify(code);
            let back = match kind {
                Some(CodeKind::Measure(i)) => i,
                Some(CodeKind::BloodPressure { systolic: true, .. }) => Item::SystolicBp,
                Some(CodeKind::BloodPressure {
                    systolic: false, ..
                }) => Item::DiastolicBp,
                Some(CodeKind::Triglycerides { random_code: false }) => Item::TriglyceridesFasting,
                Some(CodeKind::Triglycerides { random_code: true }) => Item::TriglyceridesRandom,
                other => panic!("canonical code {code} maps to {other:?}"),
            };
            assert_eq!(back, item);
        }
    }

    #[test]
    fn random_triglycerides_exist_only_in_the_fourth_period_table() {
        let random = lookup("3F015129902327101").unwrap();
        assert!(random.period4 && !random.period3);
        let fasting = lookup("3F015000002327101").unwrap();
        assert!(fasting.period4 && fasting.period3);
        assert_eq!(lookup("9N736000000000011").unwrap().xml_type, "CD");
    }

    #[test]
    fn a_code_in_no_table_is_unknown() {
        assert_eq!(lookup("9Z999000000000001"), None);
        assert_eq!(classify("9Z999000000000001"), None);
        // Known to MHLW, unused by Collabo.
        assert!(lookup("9N501000000000011").is_some());
        assert_eq!(classify("9N501000000000011"), None);
    }
}
