//! `collabo bench`: timed runs on synthetic data of a stated size, printing wall time,
//! CPU time (user + system of this process), throughput and peak memory (VmHWM).
//! `bench imports` also runs the peers of `benches/peers/` (a Python UKE reducer, an
//! lxml archive reader) on the same files and prints the ratio of CPU times.
//! Benchmarks, not tests: nothing here runs in CI.

use anyhow::Result;
use clap::Subcommand;
use collabo_app::{Actor, App, Society};
use collabo_domain::Date;
use collabo_domain::authz::Role;
use collabo_domain::calendar::{FiscalYear, japan_noon};
use std::path::Path;
use std::time::Instant;

/// What to measure.
#[derive(Subcommand)]
pub enum BenchWhat {
    /// 取込 (加入者台帳・健診アーカイブ) と1年度分のエンジン実行を SQLite で計測する
    Engine {
        /// 加入者数
        #[arg(long, default_value_t = 1_000_000)]
        members: u32,
        /// 事業所数
        #[arg(long, default_value_t = 200)]
        employers: u32,
        /// 作業フォルダ (最初に削除する)
        #[arg(long, default_value = "bench-out/engine")]
        dir: std::path::PathBuf,
    },
    /// 合成した1年度分 (加入者台帳・健診アーカイブ・UKE) をファイルごとに取り込み、エンジンを2回実行し、同じファイルで比較実装 (Python) も計測する
    Imports {
        /// 加入者数
        #[arg(long, default_value_t = 100_000)]
        members: u32,
        /// 事業所数
        #[arg(long, default_value_t = 40)]
        employers: u32,
        /// 加入者・月あたりの無関係な受診 (レセプト) の確率。レセプトファイルの大きさを決める
        #[arg(long, default_value_t = 0.15)]
        background_visits: f64,
        /// 作業フォルダ (最初に削除する)
        #[arg(long, default_value = "bench-out/imports")]
        dir: std::path::PathBuf,
        /// データベース (既定: 作業フォルダの SQLite)。PostgreSQL は新しいデータベース (`createdb`) を指定する
        #[arg(long)]
        db: Option<String>,
        /// 比較実装のフォルダ (`uke_reduce.py`, `cda_read.py`)
        #[arg(long, default_value = "benches/peers")]
        peers: std::path::PathBuf,
        /// UKE の比較実装が読む分類表のフォルダ
        #[arg(long, default_value = "crates/claims/data")]
        tables: std::path::PathBuf,
    },
}

/// CPU time (user + system) of this process so far, in seconds.
pub fn cpu_seconds() -> f64 {
    // Fields 14 and 15 of /proc/self/stat, in clock ticks (100 per second on Linux).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .map_or(f64::NAN, |ticks| ticks / 100.0)
}

/// Wall and CPU time of one step.
struct Step {
    wall: Instant,
    cpu: f64,
}

impl Step {
    fn start() -> Step {
        Step {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }
    /// (wall, cpu) seconds since the start.
    fn end(&self) -> (f64, f64) {
        (self.wall.elapsed().as_secs_f64(), cpu_seconds() - self.cpu)
    }
}

/// Runs a peer under `/usr/bin/time`; returns (wall, user + system) seconds and its
/// output line.
fn peer(program: &str, args: &[std::ffi::OsString]) -> Result<(f64, f64, String)> {
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("TIME %e %U %S")
        .arg(program)
        .args(args)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        anyhow::bail!("peer {program} failed: {stderr}");
    }
    let times: Vec<f64> = stderr
        .lines()
        .find_map(|l| l.strip_prefix("TIME "))
        .map(|t| {
            t.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let [wall, user, sys] = times[..] else {
        anyhow::bail!("peer {program}: no times in {stderr}");
    };
    Ok((
        wall,
        user + sys,
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    ))
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
pub fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs a benchmark.
pub async fn run(what: &BenchWhat, _data: &Path) -> Result<()> {
    match what {
        BenchWhat::Engine {
            members,
            employers,
            dir,
        } => engine(*members, *employers, dir).await,
        BenchWhat::Imports {
            members,
            employers,
            background_visits,
            dir,
            db,
            peers,
            tables,
        } => {
            imports(
                &ImportsBench {
                    members: *members,
                    employers: *employers,
                    background_visits: *background_visits,
                    db: db.clone(),
                    peers: peers.clone(),
                    tables: tables.clone(),
                },
                dir,
            )
            .await
        }
    }
}

struct ImportsBench {
    members: u32,
    employers: u32,
    background_visits: f64,
    db: Option<String>,
    peers: std::path::PathBuf,
    tables: std::path::PathBuf,
}

fn employer_of_archive(path: &Path) -> Option<collabo_domain::ids::EmployerCode> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    name.split('_')
        .next()
        .filter(|h| h.len() == 10 && h.starts_with('9'))
        .and_then(|h| collabo_domain::ids::EmployerCode::parse(h[1..].trim_start_matches('0')).ok())
}

async fn imports(b: &ImportsBench, dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let t = Step::start();
    let config = collabo_synth::SynthConfig {
        members: b.members,
        employers: b.employers,
        seed: 7,
        fiscal_year: FiscalYear::new(2025),
        background_visits: b.background_visits,
        ..Default::default()
    };
    let society = collabo_synth::Society::generate(&config)?;
    let map = collabo_claims::GroupMap::builtin()?;
    let files = society.write(&dir.join("inbox"), &map)?;
    let employer_register = society.employers.clone();
    let n_claims = society.claims.len();
    drop(society);
    let all: Vec<std::path::PathBuf> = files.values().flatten().cloned().collect();
    let archives: Vec<_> = all
        .iter()
        .filter(|p| p.to_string_lossy().contains("/checkups/"))
        .cloned()
        .collect();
    let ukes: Vec<_> = all
        .iter()
        .filter(|p| p.to_string_lossy().contains("/claims/"))
        .cloned()
        .collect();
    let uke_bytes: u64 = ukes
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "generate + write: {:.1} s ({} members, {} archives, {} claims files of {:.1} MB, {n_claims} claims)",
        t.end().0,
        b.members,
        archives.len(),
        ukes.len(),
        uke_bytes as f64 / 1e6
    );
    let url = match &b.db {
        Some(url) => url.clone(),
        None => format!("sqlite:{}", dir.join("bench.sqlite").display()),
    };
    let (app, actor) = bench_society(
        &url,
        dir,
        &config.insurer,
        &employer_register,
        Date::constant(2026, 3, 31),
    )
    .await?;
    let t = Step::start();
    let register = dir.join("inbox/members.csv");
    app.import_members(
        &actor,
        &collabo_app::imports::file_name(&register),
        &collabo_app::imports::read_file(&register)?,
    )
    .await?;
    let (wall, cpu) = t.end();
    println!("register: {wall:.1} s wall, {cpu:.1} s CPU");

    let t = Step::start();
    let mut checkups = 0u64;
    for path in &archives {
        let report = app
            .import_checkups(&actor, employer_of_archive(path).as_ref(), path)
            .await?;
        checkups += report.summary.stored;
    }
    let (wall, cpu) = t.end();
    println!(
        "checkups: {checkups} in {wall:.1} s wall ({:.0}/s), {cpu:.1} s CPU, peak {:.0} MiB",
        checkups as f64 / wall,
        peak_mib()
    );
    let peer_args: Vec<std::ffi::OsString> = archives
        .iter()
        .map(|p| p.clone().into_os_string())
        .collect();
    match peer(
        "python3",
        &[
            vec![b.peers.join("cda_read.py").into_os_string()],
            peer_args,
        ]
        .concat(),
    ) {
        Ok((pwall, pcpu, line)) => println!(
            "  peer lxml parse only: {pwall:.1} s wall, {pcpu:.1} s CPU ({line}); CPU ratio peer/Collabo {:.1}×",
            pcpu / cpu
        ),
        Err(e) => println!("  peer lxml: {e}"),
    }

    let t = Step::start();
    let mut stored = 0u64;
    for path in &ukes {
        stored += app.import_claims(&actor, path, &map).await?.summary.stored;
    }
    let (wall, cpu) = t.end();
    println!(
        "claims: {} files, {:.1} MB, {stored} visit facts in {wall:.1} s wall ({:.1} MB/s), {cpu:.1} s CPU, peak {:.0} MiB",
        ukes.len(),
        uke_bytes as f64 / 1e6,
        uke_bytes as f64 / 1e6 / wall,
        peak_mib()
    );
    let peer_args: Vec<std::ffi::OsString> =
        ukes.iter().map(|p| p.clone().into_os_string()).collect();
    match peer(
        "python3",
        &[
            vec![
                b.peers.join("uke_reduce.py").into_os_string(),
                b.tables.clone().into_os_string(),
            ],
            peer_args,
        ]
        .concat(),
    ) {
        Ok((pwall, pcpu, line)) => println!(
            "  peer Python reduce only: {pwall:.1} s wall, {pcpu:.1} s CPU ({line}); CPU ratio peer/Collabo {:.1}×",
            pcpu / cpu
        ),
        Err(e) => println!("  peer Python: {e}"),
    }

    let t = Step::start();
    let summary = app.run_engine(&actor, |_| {}).await?;
    let (wall, cpu) = t.end();
    println!(
        "engine run (today 2026-03-31): {wall:.1} s wall, {cpu:.1} s CPU, {} members",
        summary.members
    );
    let t = Step::start();
    let again = app.run_engine(&actor, |_| {}).await?;
    let (wall, cpu) = t.end();
    println!(
        "second run, same day: {wall:.1} s wall, {cpu:.1} s CPU, changes: {}",
        if again.is_empty() {
            "none"
        } else {
            "SOME (bug)"
        }
    );
    app.close().await;
    Ok(())
}

async fn engine(members: u32, employers: u32, dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let fy = FiscalYear::new(2025);
    let t = Instant::now();
    let config = collabo_synth::SynthConfig {
        members,
        employers,
        seed: 7,
        fiscal_year: fy,
        background_visits: 0.0,
        ..Default::default()
    };
    let mut society = collabo_synth::Society::generate(&config)?;
    // Claims are measured by the claims crate's own benchmark; this one is about the register,
    // the checkups and the engine.
    society.claims.clear();
    let files = society.write(&dir.join("inbox"), &collabo_claims::GroupMap::builtin()?)?;
    println!(
        "generate + write files: {:.1} s ({} members, {} checkups, {} referrals), peak {:.0} MiB",
        t.elapsed().as_secs_f64(),
        society.members.len(),
        society.checkups.len(),
        society.referrals.len(),
        peak_mib()
    );
    let employer_register = std::mem::take(&mut society.employers);
    drop(society);

    let url = format!("sqlite:{}", dir.join("bench.sqlite").display());
    let (app, actor) = bench_society(
        &url,
        dir,
        &config.insurer,
        &employer_register,
        Date::constant(2025, 3, 31),
    )
    .await?;
    let t = Instant::now();
    let register = dir.join("inbox/members.csv");
    app.import_members(
        &actor,
        &collabo_app::imports::file_name(&register),
        &collabo_app::imports::read_file(&register)?,
    )
    .await?;
    println!(
        "import register: {:.1} s, peak {:.0} MiB",
        t.elapsed().as_secs_f64(),
        peak_mib()
    );
    let t = Instant::now();
    let mut n_files = 0;
    let mut checkups = 0u64;
    for path in files
        .values()
        .flatten()
        .filter(|p| p.to_string_lossy().contains("/checkups/"))
    {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let employer = name
            .split('_')
            .next()
            .filter(|h| h.len() == 10 && h.starts_with('9'))
            .and_then(|h| {
                collabo_domain::ids::EmployerCode::parse(h[1..].trim_start_matches('0')).ok()
            });
        let report = app.import_checkups(&actor, employer.as_ref(), path).await?;
        checkups += report.summary.stored;
        n_files += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "import checkups: {n_files} archives, {checkups} checkups in {secs:.1} s ({:.0}/s), peak {:.0} MiB",
        checkups as f64 / secs,
        peak_mib()
    );
    let year_end = Actor::new(
        "bench",
        Role::Staff,
        "cli",
        japan_noon(Date::constant(2026, 3, 31)),
    );
    let t = Instant::now();
    let summary = crate::run_with_progress(&app, &year_end).await?;
    let secs = t.elapsed().as_secs_f64();
    let opened: u64 = summary.opened.values().sum();
    println!(
        "engine run for the year (today 2026-03-31): {:.1} s for {} members ({:.0} members/s), {opened} cases opened, peak {:.0} MiB",
        secs,
        summary.members,
        summary.members as f64 / secs,
        peak_mib()
    );
    let t = Instant::now();
    let again = app.run_engine(&year_end, |_| {}).await?;
    println!(
        "second run on the same day: {:.1} s, changes: {}",
        t.elapsed().as_secs_f64(),
        if again.is_empty() {
            "none"
        } else {
            "SOME (bug)"
        }
    );
    app.close().await;
    Ok(())
}

/// A fresh society for a benchmark: the database at `url`, its employers registered (they
/// must exist before their archives are accepted), and the staff actor of `today`.
async fn bench_society(
    url: &str,
    dir: &Path,
    insurer: &str,
    employers: &[collabo_domain::employer::Employer],
    today: Date,
) -> Result<(App, Actor)> {
    let app = App::init(
        url,
        &Society {
            insurer: insurer.to_owned(),
            name: "bench".into(),
            section: String::new(),
            address: String::new(),
            phone: String::new(),
        },
        dir,
    )
    .await?;
    let actor = Actor::new("bench", Role::Staff, "cli", japan_noon(today));
    let admin = Actor {
        role: Role::Admin,
        ..actor.clone()
    };
    for e in employers {
        app.upsert_employer(&admin, e).await?;
    }
    Ok((app, actor))
}
