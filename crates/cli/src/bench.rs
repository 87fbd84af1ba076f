//! `collabo bench`: timed runs on synthetic data of a stated size, printing wall time,
//! throughput and peak memory (VmHWM). Benchmarks, not tests: nothing here runs in CI.

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
    }
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
    let app = App::init(
        &url,
        &Society {
            insurer: config.insurer.clone(),
            name: "bench".into(),
            section: String::new(),
            address: String::new(),
            phone: String::new(),
        },
        dir,
    )
    .await?;
    let actor = Actor::new(
        "bench",
        Role::Staff,
        "cli",
        japan_noon(Date::constant(2025, 3, 31)),
    );
    // The employers must exist before their archives are accepted.
    let admin = Actor {
        role: Role::Admin,
        ..actor.clone()
    };
    for e in &employer_register {
        app.upsert_employer(&admin, e).await?;
    }
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
