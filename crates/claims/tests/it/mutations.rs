//! Parsers never panic: a valid file with random bytes changed, inserted or cut off is
//! either read or refused with an error, and a refused file yields nothing after the
//! error.

use crate::common::*;
use collabo_claims::{
    ClaimReader, ClaimSpec, DateStyle, Filler, GroupSpec, UkeWriter, WriterOptions,
};
use collabo_domain::calendar::YearMonth;
use proptest::prelude::*;
use std::path::Path;

pub(crate) fn valid_file() -> Vec<u8> {
    let mut writer = UkeWriter::new(
        Vec::new(),
        map(),
        WriterOptions {
            style: DateStyle::Wareki,
            billing_month: YearMonth::new(2026, 7).unwrap(),
            examiner: 1,
            eof_mark: true,
            ..WriterOptions::medical(YearMonth::new(2026, 7).unwrap())
        },
    );
    let groups = [
        vec![
            GroupSpec::condition("diabetes"),
            GroupSpec::procedure("diabetes_care"),
        ],
        vec![GroupSpec::procedure("lung_exam")],
        vec![GroupSpec::condition("cancer_cervix").suspected()],
    ];
    for (n, g) in groups.into_iter().enumerate() {
        let spec = ClaimSpec {
            identity: collabo_claims::ClaimIdentity {
                insurer: collabo_domain::ids::InsurerNumber::parse("06130123").unwrap(),
                symbol: collabo_domain::ids::Symbol::parse("１００１").unwrap(),
                number: collabo_domain::ids::CardNumber::parse(&(n + 1).to_string()).unwrap(),
                branch: None,
                birth_date: jiff::civil::Date::constant(1970, 1, 1),
                sex: collabo_domain::member::Sex::Male,
            },
            name_kana: "ゴウセイ　イチロウ".to_owned(),
            institution: "1311234567".to_owned(),
            month: YearMonth::new(2026, 6).unwrap(),
            days: vec![2, 16],
            groups: g,
            filler: Filler::default(),
        };
        writer.write_claim(&spec).unwrap();
    }
    writer.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn mutated_files_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut bytes = valid_file();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let mut reader = ClaimReader::new(&bytes[..], Path::new("MUTATED.UKE"), map());
        let mut failed = false;
        for item in reader.by_ref() {
            prop_assert!(!failed, "items after an error");
            if item.is_err() {
                failed = true;
            }
        }
        prop_assert!(reader.next().is_none());
    }
}
