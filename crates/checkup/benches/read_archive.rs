//! Benchmark: write an archive of N synthetic checkups with the crate's writer, then read
//! it back with `CheckupReader`, printing checkups/s, MB/s and peak memory (VmHWM) for
//! N = 10,000 and 100,000 to show reading memory is flat in archive size. Each phase runs
//! in its own child process (this binary, re-executed with `CHECKUP_BENCH_PHASE`), so a
//! peak is that phase's own. One thread. Sizes can be overridden with
//! `CHECKUP_BENCH_SIZES=1000,5000`. Not a test: it asserts only that every record came back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use collabo_checkup::{ArchiveHeader, CheckupReader, CheckupRecord, Origin, write_archive};
use collabo_domain::checkup::{Item, ObservedValue, SmokingAnswer, UrineGrade};
use collabo_domain::ids::{Branch, CardNumber, InsurerNumber, Symbol};
use collabo_domain::member::Sex;
use jiff::civil::date;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn range(&mut self, low: f64, high: f64) -> f64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((low + unit * (high - low)) * 10.0).round() / 10.0
    }
}

fn synthetic(i: u64, rng: &mut Rng) -> CheckupRecord {
    let sex = if i.is_multiple_of(2) {
        Sex::Male
    } else {
        Sex::Female
    };
    let mut r = CheckupRecord::new(
        Origin::default(),
        InsurerNumber::parse("06139999").unwrap(),
        Symbol::parse(&format!("{}", 1000 + i % 400)).unwrap(),
        CardNumber::parse(&format!("{}", 1 + i)).unwrap(),
        Some(Branch::parse("00").unwrap()),
        "テスト　タロウ".to_owned(),
        sex,
        date(
            1960 + (i % 40) as i16,
            1 + (i % 12) as i8,
            1 + (i % 28) as i8,
        ),
        date(2024, 4 + (i % 9) as i8, 1 + (i % 28) as i8),
    );
    use ObservedValue::Number;
    let height = rng.range(150.0, 185.0);
    let weight = rng.range(45.0, 100.0);
    r.push(Item::Height, Number(height), None, None);
    r.push(Item::Weight, Number(weight), None, None);
    r.push(
        Item::Bmi,
        Number((weight / (height / 100.0).powi(2) * 10.0).round() / 10.0),
        None,
        None,
    );
    r.push(Item::Waist, Number(rng.range(65.0, 110.0)), None, None);
    r.push(
        Item::SystolicBp,
        Number(rng.range(100.0, 170.0).round()),
        None,
        None,
    );
    r.push(
        Item::DiastolicBp,
        Number(rng.range(60.0, 105.0).round()),
        None,
        None,
    );
    if i.is_multiple_of(5) {
        r.push(
            Item::TriglyceridesRandom,
            Number(rng.range(60.0, 500.0).round()),
            None,
            None,
        );
        r.push(
            Item::GlucoseRandom,
            Number(rng.range(80.0, 200.0).round()),
            None,
            None,
        );
    } else {
        r.push(
            Item::TriglyceridesFasting,
            Number(rng.range(40.0, 400.0).round()),
            None,
            None,
        );
        r.push(
            Item::GlucoseFasting,
            Number(rng.range(75.0, 160.0).round()),
            None,
            None,
        );
    }
    r.push(Item::Hdl, Number(rng.range(30.0, 90.0).round()), None, None);
    r.push(
        Item::Ldl,
        Number(rng.range(70.0, 200.0).round()),
        None,
        None,
    );
    r.push(
        Item::NonHdl,
        Number(rng.range(90.0, 220.0).round()),
        None,
        None,
    );
    r.push(Item::HbA1c, Number(rng.range(4.8, 8.5)), None, None);
    r.push(Item::Ast, Number(rng.range(12.0, 80.0).round()), None, None);
    r.push(Item::Alt, Number(rng.range(8.0, 90.0).round()), None, None);
    r.push(
        Item::GammaGt,
        Number(rng.range(10.0, 200.0).round()),
        None,
        None,
    );
    r.push(Item::Creatinine, Number(rng.range(0.5, 1.4)), None, None);
    r.push(Item::Egfr, Number(rng.range(40.0, 110.0)), None, None);
    let grade = UrineGrade::from_mhlw_code(1 + (rng.next() % 3) as u8).unwrap();
    r.push(Item::UrineProtein, ObservedValue::Grade(grade), None, None);
    r.push(
        Item::UrineGlucose,
        ObservedValue::Grade(UrineGrade::NEGATIVE),
        None,
        None,
    );
    r.push(Item::Haemoglobin, Number(rng.range(10.5, 17.0)), None, None);
    r.questionnaire.smoking = Some(match i % 4 {
        0 => SmokingAnswer::Smokes,
        1 => SmokingAnswer::FormerSmoker,
        _ => SmokingAnswer::DoesNotSmoke,
    });
    r.questionnaire.medication_blood_pressure = Some(i.is_multiple_of(7));
    r.questionnaire.medication_glucose = Some(i.is_multiple_of(11));
    r.questionnaire.medication_lipids = Some(i.is_multiple_of(9));
    r
}

fn vm_hwm_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

const MB: f64 = 1_000_000.0;

/// Child process: write `n` checkups into `dir`, print the archive path.
fn write_phase(n: u64, dir: &Path) {
    let header = ArchiveHeader::new(
        "6631111116",
        InsurerNumber::parse("06139999").unwrap(),
        date(2024, 12, 1),
    );
    let start = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n);
    let path = write_archive(dir, header, (0..n).map(|i| synthetic(i, &mut rng))).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let zip_bytes = std::fs::metadata(&path).unwrap().len() as f64;
    println!("{}", path.display());
    eprintln!(
        "n={n:>7}  write {seconds:>6.2} s = {:>7.0} checkups/s, archive {:>6.1} MB, peak (VmHWM) {:>5.1} MiB",
        n as f64 / seconds,
        zip_bytes / MB,
        vm_hwm_mib()
    );
}

/// Child process: read the archive back and print the figures.
fn read_phase(n: u64, path: &Path) {
    let start = Instant::now();
    let mut reader = CheckupReader::open(path).unwrap();
    let mut observations = 0u64;
    let mut records = 0u64;
    for item in &mut reader {
        let record = item.unwrap();
        observations += record.observations.len() as u64;
        records += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    let peak = vm_hwm_mib();
    let report = reader.into_report();
    assert_eq!(records, n);
    assert_eq!(report.records, n);
    assert_eq!(report.problems, 0, "{:?}", report.warnings);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    let zip_bytes = std::fs::metadata(path).unwrap().len() as f64;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml_bytes = 0u64;
    for i in 0..archive.len() {
        let file = archive.by_index(i).unwrap();
        if file.name().is_ok_and(|name| name.contains("/DATA/")) {
            xml_bytes += file.size();
        }
    }
    eprintln!(
        "n={n:>7}  read  {seconds:>6.2} s = {:>7.0} checkups/s, {:>6.1} MB/s of XML ({:.1} MB), {:>5.1} MB/s of zip, {observations} observations, peak (VmHWM) {:>5.1} MiB",
        n as f64 / seconds,
        xml_bytes as f64 / MB / seconds,
        xml_bytes as f64 / MB,
        zip_bytes / MB / seconds,
        peak
    );
}

/// Runs each phase in a fresh process so that VmHWM is that phase's own peak.
fn run(n: u64) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let written = Command::new(&exe)
        .env(
            "CHECKUP_BENCH_PHASE",
            format!("write:{n}:{}", dir.path().display()),
        )
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(written.status.success());
    let path = String::from_utf8(written.stdout).unwrap().trim().to_owned();
    let status = Command::new(&exe)
        .env("CHECKUP_BENCH_PHASE", format!("read:{n}:{path}"))
        .status()
        .unwrap();
    assert!(status.success());
}

fn main() {
    if let Ok(phase) = std::env::var("CHECKUP_BENCH_PHASE") {
        let mut parts = phase.splitn(3, ':');
        let (kind, n, path) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let n: u64 = n.parse().unwrap();
        match kind {
            "write" => write_phase(n, Path::new(path)),
            _ => read_phase(n, Path::new(path)),
        }
        return;
    }
    let sizes: Vec<u64> = std::env::var("CHECKUP_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    for n in sizes {
        run(n);
    }
}
