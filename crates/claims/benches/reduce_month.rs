//! Benchmark: one synthetic month of claims for a 1,000,000-member society, written with
//! the streaming writer to a temp file (gigabytes of UKE), then reduced; prints MB/s,
//! claims/s and peak memory (VmHWM), and a plain byte-count pass over the same file as
//! the I/O floor. The temp file is deleted at the end.
//!
//! `CLAIMS_BENCH_N` sets the number of claims (default 1,000,000). Run with
//! `cargo bench -p collabo-claims --bench reduce_month`.
//! Not measured here: matching and storing (the store's benchmark).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark binary fails loudly"
)]

use collabo_claims::{
    ClaimIdentity, ClaimReader, ClaimSpec, DateStyle, Filler, GroupMap, GroupSpec, UkeWriter,
    WriterOptions,
};
use collabo_domain::calendar::YearMonth;
use collabo_domain::ids::{Branch, CardNumber, InsurerNumber, Symbol};
use collabo_domain::member::Sex;
use jiff::civil::Date;
use std::io::{BufWriter, Read};
use std::time::Instant;

/// CPU time of this thread in seconds (first field of /proc/thread-self/schedstat, ns):
/// on a shared machine, wall time includes waiting for the CPU; this does not.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |ns| ns / 1e9)
}

fn status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l.trim_start_matches(key).trim().to_owned())
        .unwrap_or_else(|| "?".to_owned())
}

/// The groups a claim of member `i` evidences: about 10 % diabetes care, 8 %
/// hypertension, 5 % dyslipidaemia, 1 % each cancer-site examination, the rest
/// unrelated visits.
fn groups_for(i: u64) -> Vec<GroupSpec> {
    match i % 100 {
        0..=9 => vec![
            GroupSpec::condition("diabetes"),
            GroupSpec::procedure("diabetes_care"),
            GroupSpec::drug("diabetes_drug"),
        ],
        10..=17 => vec![GroupSpec::condition("hypertension")],
        18..=22 => vec![GroupSpec::condition("dyslipidemia")],
        23 => vec![
            GroupSpec::procedure("stomach_exam"),
            GroupSpec::condition("finding_stomach"),
        ],
        24 => vec![GroupSpec::procedure("colorectal_exam")],
        25 => vec![GroupSpec::procedure("lung_exam")],
        26 => vec![GroupSpec::procedure("breast_exam")],
        27 => vec![
            GroupSpec::procedure("cervix_exam"),
            GroupSpec::condition("finding_cervix").suspected(),
        ],
        _ => vec![],
    }
}

fn main() {
    let n: u64 = std::env::var("CLAIMS_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let map = GroupMap::builtin().expect("builtin map");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("RECEIPTC.UKE");
    let month = YearMonth::new(2026, 9).unwrap();
    let insurer = InsurerNumber::parse("06139999").unwrap();

    // Write.
    let started = Instant::now();
    let file = std::fs::File::create(&path).expect("create");
    let mut writer = UkeWriter::new(
        BufWriter::with_capacity(1 << 20, file),
        &map,
        WriterOptions {
            style: DateStyle::Seireki,
            billing_month: month.next(),
            examiner: 1,
            eof_mark: true,
            ..WriterOptions::medical(month.next())
        },
    );
    // Per claim: RE, HO, SN, 4–7 SY, 9–11 SI, 3–4 IY, 3–4 CO (an outpatient month).
    let filler = Filler {
        diagnoses: 4,
        procedures: 8,
        drugs: 3,
        comments: 3,
    };
    let mut spec = ClaimSpec {
        identity: ClaimIdentity {
            insurer: insurer.clone(),
            symbol: Symbol::parse("1000").unwrap(),
            number: CardNumber::parse("1").unwrap(),
            branch: Some(Branch::parse("00").unwrap()),
            birth_date: Date::constant(1980, 1, 1),
            sex: Sex::Male,
        },
        name_kana: String::new(),
        institution: String::new(),
        month,
        days: Vec::new(),
        groups: Vec::new(),
        filler,
    };
    for i in 0..n {
        let member = i; // one claim per member this month
        spec.identity.symbol = Symbol::parse(&(1000 + member / 2000).to_string()).unwrap();
        spec.identity.number = CardNumber::parse(&(member % 2000 / 2 + 1).to_string()).unwrap();
        spec.identity.branch = Some(Branch::parse(&format!("{:02}", member % 2)).unwrap());
        spec.identity.sex = if member % 3 == 0 {
            Sex::Female
        } else {
            Sex::Male
        };
        spec.identity.birth_date = Date::constant(
            1960 + (member % 45) as i16,
            1 + (member % 12) as i8,
            1 + (member % 28) as i8,
        );
        spec.name_kana = if member % 2 == 0 {
            "ゴウセイ　タロウ".to_owned()
        } else {
            "ゴウセイ　ハナコ".to_owned()
        };
        spec.institution = format!("131{:07}", i / 25);
        spec.days = (0..(1 + i % 3))
            .map(|k| (1 + (i % 9) + 9 * k) as i8)
            .collect();
        spec.groups = groups_for(i);
        writer.write_claim(&spec).expect("write");
    }
    writer.finish().expect("finish");
    let written = started.elapsed();
    let bytes = std::fs::metadata(&path).expect("metadata").len();
    let mb = bytes as f64 / 1e6;
    println!(
        "write: {n} claims, {mb:.1} MB in {:.2} s ({:.0} MB/s); VmHWM after write {}",
        written.as_secs_f64(),
        mb / written.as_secs_f64(),
        status("VmHWM:")
    );

    let rounds: u32 = std::env::var("CLAIMS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let hwm_before = status("VmHWM:");
    for round in 1..=rounds {
        // I/O floor: read the file and count its bytes and line ends.
        let started = Instant::now();
        let mut file = std::fs::File::open(&path).expect("open");
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        let mut newlines = 0u64;
        loop {
            let got = file.read(&mut buf).expect("read");
            if got == 0 {
                break;
            }
            total += got as u64;
            newlines += buf[..got].iter().filter(|b| **b == b'\n').count() as u64;
        }
        let floor = started.elapsed();
        println!(
            "round {round} byte-count pass: {total} bytes, {newlines} lines in {:.2} s ({:.0} MB/s)",
            floor.as_secs_f64(),
            total as f64 / 1e6 / floor.as_secs_f64()
        );

        // Reduce.
        let cpu_started = cpu_seconds();
        let started = Instant::now();
        let reader = ClaimReader::open(&path, &map).expect("open");
        let mut claims = 0u64;
        let mut evidence = 0u64;
        let mut diabetes = 0u64;
        let summary = reader
            .for_each_claim(|c| {
                claims += 1;
                evidence += c.evidence.len() as u64;
                if c.evidence.iter().any(|e| e.group == "diabetes_drug") {
                    diabetes += 1;
                }
            })
            .expect("reduce");
        let reduced = started.elapsed();
        let cpu = cpu_seconds() - cpu_started;
        assert_eq!(claims, n);
        assert_eq!(diabetes, (0..n).filter(|i| i % 100 < 10).count() as u64);
        println!(
            "round {round} reduce: {claims} claims, {} lines, {evidence} evidence items in {:.2} s wall: {:.0} MB/s, {:.0} claims/s; {:.2} s CPU: {:.0} MB/s, {:.0} claims/s",
            summary.lines,
            reduced.as_secs_f64(),
            mb / reduced.as_secs_f64(),
            claims as f64 / reduced.as_secs_f64(),
            cpu,
            mb / cpu,
            claims as f64 / cpu
        );
        if round == rounds {
            println!("records: {:?}", summary.records);
        }
    }
    println!(
        "memory: VmHWM before reduce {hwm_before}, after reduce {} (VmRSS now {})",
        status("VmHWM:"),
        status("VmRSS:")
    );
    drop(dir); // deletes the temp file
}
