//! Sustained fuzzing of the UKE reader (issue 11), outside CI:
//! `FUZZ_SECONDS=600 cargo test --release -p collabo-claims --test it -- --ignored fuzz`.
//! Seeds: a file of the crate's writer and the public samples; every mutated file must
//! be read to its end or refused with an error, never panic.

use crate::common::map;
use collabo_claims::ClaimReader;
use collabo_fuzzkit::{Fuzz, seconds_from_env, tokens};
use std::io::Cursor;
use std::path::Path;

fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![crate::mutations::valid_file()];
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for entry in std::fs::read_dir(data).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e != "md") {
            seeds.push(std::fs::read(path).unwrap());
        }
    }
    seeds
}

#[test]
#[ignore = "sustained fuzzing: run with --ignored and FUZZ_SECONDS"]
fn fuzz_uke_reader() {
    let fuzz = Fuzz {
        name: "uke",
        seeds: seeds(),
        dictionary: tokens(&[
            "IR,",
            "RE,",
            "HO,",
            "KO,",
            "SY,",
            "SI,",
            "IY,",
            "TO,",
            "CO,",
            "GO,",
            "SN,",
            "JD,",
            "MF,",
            "UK,",
            "YK,",
            "RE,1,1112,",
            ",",
            ",,",
            "\r\n",
            "\n",
            "\u{1a}",
            "5",
            "4",
            "50807",
            "0613",
            "99999999",
            "8002",
            "-1",
            "１００１",
            "ア",
            "\u{3000}",
        ]),
    };
    let report = fuzz.run(seconds_from_env(10), |bytes| {
        for name in ["RECEIPTC.UKE", "RECEIPTD.UKE"] {
            let mut reader = ClaimReader::new(Cursor::new(bytes), Path::new(name), map());
            for claim in &mut reader {
                if claim.is_err() {
                    break;
                }
            }
            let _ = reader.into_summary().covered_months();
        }
    });
    assert_eq!(report.panics, 0, "{report:?}");
}
